"""The real taxii2-client (v21) against `kb serve`: discovery, collections, one object by STIX ID,
every collection paged through, a type filter and the manifest, each compared with the bundles.

usage: taxii_client.py DISCOVERY_URL ATTACK_DIR PAGE_SIZE
Prints the figures as one JSON line; any mismatch fails with an AssertionError.
"""

import json
import sys
import time
from pathlib import Path

from taxii2client.v21 import Server, as_pages

# MITRE's collection IDs on attack-taxii.mitre.org, by bundle.
MITRE = {
    "enterprise-attack-18.1.json": "x-mitre-collection--1f5f1533-f617-4ca8-9ab4-6a02367fa019",
    "mobile-attack-18.1.json": "x-mitre-collection--dac0d2d7-8653-445c-9bff-82f934c1e858",
    "ics-attack-18.1.json": "x-mitre-collection--90c00720-636b-4485-b342-8751d232bf09",
}


def attack_id(obj):
    for r in obj.get("external_references", []):
        if r.get("source_name") == "mitre-attack":
            return r.get("external_id")
    return None


def main():
    url, attack_dir, page_size = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    server = Server(url)
    assert server.title, "discovery has a title"
    assert len(server.api_roots) == 1, server.api_roots
    root = server.api_roots[0]
    assert root.url.endswith("/api/v21/"), root.url
    assert "application/taxii+json;version=2.1" in root.versions
    collections = {c.id: c for c in root.collections}
    assert set(collections) == set(MITRE.values()), sorted(collections)
    figures = {"page_size": page_size, "collections": {}}
    for name, cid in MITRE.items():
        bundle = json.loads((attack_dir / name).read_text(encoding="utf-8"))["objects"]
        by_id = {o["id"]: o for o in bundle}
        c = collections[cid]
        assert c.can_read and not c.can_write
        started = time.monotonic()
        pages, seen = 0, []
        for envelope in as_pages(c.get_objects, per_request=page_size):
            pages += 1
            page = envelope.get("objects", [])
            assert len(page) <= page_size
            seen.extend(page)
        seconds = time.monotonic() - started
        assert len(seen) == len(bundle), (name, len(seen), len(bundle))
        # Every object exactly as in the bundle: the same set of IDs, each equal to its original.
        assert {o["id"] for o in seen} == set(by_id), name
        assert all(o == by_id[o["id"]] for o in seen), name
        expected_pages = -(-len(bundle) // page_size)
        assert pages == expected_pages, (name, pages, expected_pages)
        techniques = [o for o in bundle if o["type"] == "attack-pattern"]
        filtered = []
        for envelope in as_pages(c.get_objects, per_request=page_size, type="attack-pattern"):
            filtered.extend(envelope.get("objects", []))
        assert filtered and all(o["type"] == "attack-pattern" for o in filtered)
        assert len(filtered) == len(techniques), (name, len(filtered), len(techniques))
        manifest = []
        for envelope in as_pages(c.get_manifest, per_request=page_size):
            manifest.extend(envelope.get("objects", []))
        assert len(manifest) == len(bundle)
        assert all(m["version"] == (by_id[m["id"]].get("modified") or by_id[m["id"]]["created"])
                   for m in manifest)
        figures["collections"][name] = {
            "bundle_objects": len(bundle),
            "served_objects": len(seen),
            "pages": pages,
            "seconds": round(seconds, 3),
            "attack_patterns": len(filtered),
        }
        if name.startswith("enterprise"):
            # T1053.005 Scheduled Task by its STIX ID, equal to the bundle's object.
            wanted = next(o for o in techniques if attack_id(o) == "T1053.005")
            got = c.get_object(wanted["id"])
            assert got["more"] is False
            assert got["objects"] == [wanted], got
            figures["T1053.005"] = wanted["id"]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
