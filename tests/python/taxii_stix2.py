"""The `stix2` library's TAXIICollectionSource against `kb serve`.

The Enterprise and Mobile bundles are STIX 2.0 (their objects carry no spec_version) and are
served as written; stix2 tells the versions apart by that property, so it parses them into its
v20 classes, and the ICS objects (spec_version 2.1) into v21 ones. This checks exactly that,
rather than forcing a version on either.

usage: taxii_stix2.py DISCOVERY_URL ATTACK_DIR [--ja]
With --ja (a server started with --taxii-ja) it also reads the Japanese language-content objects.
"""

import json
import sys
from pathlib import Path

import stix2
from stix2 import Filter, TAXIICollectionSource
from taxii2client.v21 import Server

ENTERPRISE = "x-mitre-collection--1f5f1533-f617-4ca8-9ab4-6a02367fa019"
ICS = "x-mitre-collection--90c00720-636b-4485-b342-8751d232bf09"


def attack_id(obj):
    for r in obj.get("external_references", []):
        if r.get("source_name") == "mitre-attack":
            return r.get("external_id")
    return None


def bundle(attack_dir, name):
    return json.loads((attack_dir / name).read_text(encoding="utf-8"))["objects"]


def main():
    url, attack_dir, ja = sys.argv[1], Path(sys.argv[2]), "--ja" in sys.argv[3:]
    root = Server(url).api_roots[0]
    collections = {c.id: c for c in root.collections}
    figures = {}

    enterprise = bundle(attack_dir, "enterprise-attack-18.1.json")
    source = TAXIICollectionSource(collections[ENTERPRISE])
    wanted = next(o for o in enterprise
                  if o["type"] == "attack-pattern" and attack_id(o) == "T1053.005")
    got = source.get(wanted["id"])
    assert isinstance(got, stix2.v20.AttackPattern), type(got)
    assert got.name == wanted["name"] and got.modified == stix2.utils.parse_into_datetime(
        wanted["modified"])
    assert json.loads(got.serialize())["external_references"] == wanted["external_references"]
    tactics = source.query([Filter("type", "=", "x-mitre-tactic")])
    expected = [o for o in enterprise if o["type"] == "x-mitre-tactic"]
    # A custom type stix2 has no class for comes back as the dict the server sent.
    assert len(tactics) == len(expected) and {t["id"] for t in tactics} == {
        o["id"] for o in expected}
    techniques = source.query([Filter("type", "=", "attack-pattern")])
    assert all(isinstance(t, stix2.v20.AttackPattern) for t in techniques)
    assert len(techniques) == sum(o["type"] == "attack-pattern" for o in enterprise)
    figures["enterprise"] = {"techniques": len(techniques), "tactics": len(tactics)}

    ics = bundle(attack_dir, "ics-attack-18.1.json")
    ics_source = TAXIICollectionSource(collections[ICS])
    first = next(o for o in ics if o["type"] == "attack-pattern")
    got = ics_source.get(first["id"])
    assert isinstance(got, stix2.v21.AttackPattern), type(got)
    assert got.name == first["name"]
    assert ics_source.get("attack-pattern--00000000-0000-4000-8000-000000000000") is None
    figures["ics"] = {"technique": attack_id(first)}

    if ja:
        notes = source.query([Filter("type", "=", "language-content")])
        assert notes and all(isinstance(n, stix2.v21.LanguageContent) for n in notes)
        by_ref = {n.object_ref: n for n in notes}
        note = by_ref[wanted["id"]]
        assert note.object_modified == stix2.utils.parse_into_datetime(wanted["modified"])
        assert note.contents["ja"]["name"], note.contents
        ids = {o["id"] for o in enterprise}
        assert all(n.object_ref in ids for n in notes)
        figures["language_content"] = {"objects": len(notes),
                                       "T1053.005": note.contents["ja"]["name"]}
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
