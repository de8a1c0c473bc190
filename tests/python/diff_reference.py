"""MITRE's own changelog tool (mitreattack-python's diffStix) on two Enterprise bundles: what it
finds, as JSON, for tests/diff.rs to set beside `kb diff --json`.

usage: diff_reference.py OLD.json NEW.json SCRATCH_DIR FOCUS_ID...

diff_stix reads folders holding `enterprise-attack.json`; they are made in SCRATCH_DIR (under
target/) with symlinks. Printed:
  sections:  {type: {section: [ATT&CK ID, ...]}} as diff_stix groups them
  described: {type: [IDs]} objects diff_stix shows a description change table for
  renamed / platforms / tactics: technique IDs whose name, platforms or kill chain phases
             diff_stix's DeepDiff of the object reports changed
  focus:     {ID: {"old": [[relationship, other ID]], "new": [...]}} live relationships of each
             focus object, read from diff_stix's own STIX stores
"""

import contextlib
import json
import os
import sys

from mitreattack.diffStix.changelog_helper import DiffStix, get_attack_id
from stix2 import Filter

DOMAIN = "enterprise-attack"


def main():
    old, new, scratch, *focus = sys.argv[1:]
    for side, path in (("old", old), ("new", new)):
        folder = os.path.join(scratch, side)
        os.makedirs(folder, exist_ok=True)
        link = os.path.join(folder, f"{DOMAIN}.json")
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.abspath(path), link)

    # Its progress bars go to standard output, which carries the answer: sent to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        diff = DiffStix(
            domains=[DOMAIN],
            old=os.path.join(scratch, "old"),
            new=os.path.join(scratch, "new"),
        )
        changes = diff.get_changes_dict()[DOMAIN]

    sections, described = {}, {}
    renamed, platforms, tactics = set(), set(), set()
    for obj_type, by_section in changes.items():
        sections[obj_type] = {}
        for section, objects in by_section.items():
            ids = sorted({get_attack_id(o) or o["id"] for o in objects})
            sections[obj_type][section] = ids
            for o in objects:
                if "description_change_table" in o:
                    described.setdefault(obj_type, set()).add(get_attack_id(o))
                if obj_type != "techniques" or section in ("additions", "deletions"):
                    continue
                if o.get("revoked") or o.get("x_mitre_deprecated"):
                    continue
                dd = json.loads(o.get("detailed_diff") or "{}")
                paths = [p for part in dd.values() if isinstance(part, dict) for p in part]
                if "root['name']" in dd.get("values_changed", {}):
                    renamed.add(get_attack_id(o))
                if any(p.startswith("root['x_mitre_platforms']") for p in paths):
                    platforms.add(get_attack_id(o))
                if any(p.startswith("root['kill_chain_phases']") for p in paths):
                    tactics.add(get_attack_id(o))

    focus_out = {attack_id: {} for attack_id in focus}
    for side in ("old", "new"):
        store = diff.data[side][DOMAIN]["stix_datastore"]
        by_stix = {}
        for t in ("intrusion-set", "malware", "tool", "attack-pattern", "campaign"):
            for o in store.query([Filter("type", "=", t)]):
                by_stix[o["id"]] = o
        relationships = [
            r
            for r in store.query([Filter("type", "=", "relationship")])
            if not r.get("revoked")
            and not r.get("x_mitre_deprecated")
            and r["relationship_type"] not in ("revoked-by", "subtechnique-of")
        ]
        for attack_id in focus:
            me = {
                o["id"]
                for o in by_stix.values()
                if get_attack_id(o) == attack_id and not o.get("revoked") and not o.get("x_mitre_deprecated")
            }
            links = set()
            for r in relationships:
                if r["source_ref"] in me and r["target_ref"] in by_stix:
                    links.add((r["relationship_type"], get_attack_id(by_stix[r["target_ref"]])))
                elif r["target_ref"] in me and r["source_ref"] in by_stix:
                    links.add(("~" + r["relationship_type"], get_attack_id(by_stix[r["source_ref"]])))
            focus_out[attack_id][side] = sorted(links)

    print(
        json.dumps(
            {
                "sections": sections,
                "described": {k: sorted(v) for k, v in described.items()},
                "renamed": sorted(renamed),
                "platforms": sorted(platforms),
                "tactics": sorted(tactics),
                "focus": focus_out,
            }
        )
    )


if __name__ == "__main__":
    main()
