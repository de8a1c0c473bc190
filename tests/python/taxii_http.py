"""Raw HTTP against kb's TAXII 2.1 server with `requests`: content negotiation (406), TAXII's
error shape (404, 400, 405), and the filters and paging headers checked against the manifest.

usage: taxii_http.py BASE_URL ATTACK_DIR
"""

import json
import sys
from pathlib import Path

import requests

TAXII = "application/taxii+json;version=2.1"
ENTERPRISE = "x-mitre-collection--1f5f1533-f617-4ca8-9ab4-6a02367fa019"


def get(base, path, accept=TAXII, **params):
    headers = {"Accept": accept}  # None: requests sends no Accept header at all
    return requests.get(base + path, headers=headers, params=params, timeout=60)


def taxii_error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"] == TAXII, r.headers
    body = r.json()
    assert body["http_status"] == str(status) and body["title"] and body["description"], body
    return body


def every(base, path, **params):
    """All items of a paged listing, following next (a bounded number of pages)."""
    items, params = [], dict(params)
    for _ in range(100):
        body = get(base, path, **params).json()
        items.extend(body.get("objects", []))
        if not body["more"]:
            return items
        params["next"] = body["next"]
    raise AssertionError("more than 100 pages")


def attack_id(obj):
    for ref in obj.get("external_references", []):
        if ref.get("source_name") == "mitre-attack":
            return ref.get("external_id")
    return None


def main():
    base, attack_dir = sys.argv[1].rstrip("/"), Path(sys.argv[2])
    enterprise = json.loads((attack_dir / "enterprise-attack-18.1.json").read_text("utf-8"))
    objects = enterprise["objects"]
    coll = f"/api/v21/collections/{ENTERPRISE}/"

    # Negotiation: TAXII's type, anything that allows it, and plain JSON for curl and SOAR tools.
    for accept in [TAXII, "application/taxii+json", "*/*", None, "text/html, */*;q=0.1"]:
        r = get(base, "/taxii2/", accept)
        assert r.status_code == 200 and r.headers["Content-Type"] == TAXII, (accept, r.headers)
    r = get(base, "/api/v21/collections/", "application/json")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    assert len(r.json()["collections"]) == 3
    for accept in ["text/html", "application/xml", "application/taxii+json;version=2.0",
                   "application/stix+json;version=2.1", "application/json;q=0"]:
        taxii_error(get(base, coll, accept), 406)

    # Errors in TAXII's shape, in the client's language.
    taxii_error(get(base, "/api/v21/collections/x-mitre-collection--nope/"), 404)
    taxii_error(get(base, coll + "objects/attack-pattern--00000000-0000-4000-8000-000000000000/"), 404)
    taxii_error(get(base, "/api/v21/status/x/"), 404)
    taxii_error(get(base, coll + "objects/", limit="0"), 400)
    taxii_error(get(base, coll + "objects/", next="abc"), 400)
    taxii_error(get(base, coll + "objects/", added_after="yesterday"), 400)
    taxii_error(get(base, coll + "objects/", **{"match[version]": "newest"}), 400)
    r = requests.post(base + coll + "objects/", headers={"Accept": TAXII}, data="{}", timeout=60)
    taxii_error(r, 405)
    ja = requests.get(base + coll + "objects/", params={"limit": "x"}, timeout=60,
                      headers={"Accept": TAXII, "Accept-Language": "ja"})
    assert any(ord(c) > 0x3000 for c in taxii_error(ja, 400)["title"]), ja.text

    # The manifest lists every object once, in date-added order.
    manifest = every(base, coll + "manifest/")
    assert len(manifest) == len(objects)
    added = [m["date_added"] for m in manifest]
    assert added == sorted(added)

    # Paging: the envelope's next, and the date-added headers of each page.
    page = get(base, coll + "objects/", limit="100")
    body = page.json()
    assert body["more"] is True and len(body["objects"]) == 100
    assert page.headers["X-TAXII-Date-Added-First"] == manifest[0]["date_added"]
    assert page.headers["X-TAXII-Date-Added-Last"] == manifest[99]["date_added"]
    second = get(base, coll + "objects/", limit="100", next=body["next"]).json()
    assert [o["id"] for o in second["objects"]] == [m["id"] for m in manifest[100:200]]

    # added_after: only objects added later than the last one of the first page.
    last = page.headers["X-TAXII-Date-Added-Last"]
    later = every(base, coll + "manifest/", added_after=last)
    assert len(later) == sum(a > last for a in added) and all(m["date_added"] > last for m in later)

    # match[id], match[type] and match[version] on the objects and object endpoints.
    technique = next(o for o in objects
                     if o["type"] == "attack-pattern" and attack_id(o) == "T1053.005")
    tactic = next(o for o in objects if o["type"] == "x-mitre-tactic")
    both = get(base, coll + "objects/", **{"match[id]": f"{technique['id']},{tactic['id']}"})
    assert sorted(o["id"] for o in both.json()["objects"]) == sorted([technique["id"], tactic["id"]])
    types = get(base, coll + "objects/", **{"match[type]": "x-mitre-tactic,x-mitre-matrix"})
    want = sum(o["type"] in ("x-mitre-tactic", "x-mitre-matrix") for o in objects)
    assert len(types.json()["objects"]) == want
    one = coll + f"objects/{technique['id']}/"
    for version in ["last", "first", "all", technique["modified"]]:
        got = get(base, one, **{"match[version]": version}).json()
        assert got["objects"] == [technique], version
    other = get(base, one, **{"match[version]": "2001-01-01T00:00:00.000Z"}).json()
    assert other["more"] is False and other["objects"] == []
    versions = get(base, one + "versions/").json()
    assert versions == {"more": False, "versions": [technique["modified"]]}, versions
    print(json.dumps({"manifest": len(manifest), "added_after": len(later)}))


if __name__ == "__main__":
    main()
