//! `kb diff` on the real Enterprise 17.1 and 18.1 bundles, checked against MITRE's own changelog
//! tool (mitreattack-python's diffStix, run by tests/python/diff_reference.py on the same
//! files): the same objects in every category both define, and each known difference asserted
//! with its reason. An edited copy of 18.1 (in target/, never committed) holds what 17.1 → 18.1
//! lacks: a revocation, a deprecation, a moved sub-technique, a new tactic.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use attack_kb::source::stix;
use attack_kb::text::clean_description;
use common::{ENTERPRISE, ENTERPRISE_17, attack_dir, bundle, run_python, scratch};
use serde_json::Value;

/// The real kb binary, without an index (diff reads bundles only).
fn kb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kb"))
        .args(args)
        .env_remove("KB_ATTACK")
        .env("LANG", "C")
        .output()
        .expect("kb runs")
}

fn ok_stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "kb failed ({}): {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn diff_json(old: &Path, new: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["diff", path(old), path(new), "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok_stdout(&kb(&args))).expect("kb diff --json is JSON")
}

/// 17.1 → 18.1 with the relationships of APT29 (G0016), Mimikatz (S0002) and Scattered Spider
/// (G1015).
fn real_diff() -> &'static Value {
    static D: OnceLock<Value> = OnceLock::new();
    D.get_or_init(|| {
        diff_json(
            &bundle(ENTERPRISE_17),
            &bundle(ENTERPRISE),
            &[
                "--group",
                "G0016",
                "--group",
                "G1015",
                "--software",
                "S0002",
            ],
        )
    })
}

/// diff_stix's answer (see tests/python/diff_reference.py); its last line is the JSON.
fn reference(old: &Path, new: &Path, name: &str, focus: &[&str]) -> Value {
    let dir = scratch(name);
    let mut args = vec![path(old), path(new), path(&dir)];
    args.extend_from_slice(focus);
    let out = run_python("diff_reference.py", &args);
    let last = out.lines().last().expect("diff_reference.py prints JSON");
    serde_json::from_str(last).expect("diff_reference.py prints JSON")
}

fn ids(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|x| match x {
            Value::String(s) => s.clone(),
            o => o["id"].as_str().expect("an id").to_string(),
        })
        .collect()
}

fn kind<'a>(d: &'a Value, kind: &str) -> &'a Value {
    d["kinds"]
        .as_array()
        .expect("kinds")
        .iter()
        .find(|k| k["kind"] == kind)
        .unwrap_or_else(|| panic!("no kind {kind}"))
}

/// diff_stix's object types and ours.
const TYPES: [(&str, &str); 10] = [
    ("techniques", "technique"),
    ("software", "software"),
    ("groups", "group"),
    ("campaigns", "campaign"),
    ("assets", "asset"),
    ("mitigations", "mitigation"),
    ("datasources", "data-source"),
    ("datacomponents", "data-component"),
    ("detectionstrategies", "detection-strategy"),
    ("analytics", "analytic"),
];

/// Every section diff_stix has, beside ours: the same objects in each.
fn assert_same_sections(ours: &Value, theirs: &Value) {
    for (their_type, our_kind) in TYPES {
        let k = kind(ours, our_kind);
        let changed_at = |level: &str| -> BTreeSet<String> {
            k["changed"]
                .as_array()
                .expect("changed")
                .iter()
                .filter(|c| c["level"] == level)
                .map(|c| c["id"].as_str().expect("id").to_string())
                .collect()
        };
        let pairs = [
            ("additions", ids(&k["added"])),
            ("deletions", ids(&k["removed"])),
            ("revocations", ids(&k["revoked"])),
            ("deprecations", ids(&k["deprecated"])),
            ("major_version_changes", changed_at("major")),
            ("minor_version_changes", changed_at("minor")),
            ("other_version_changes", changed_at("other")),
            ("patches", changed_at("patch")),
        ];
        for (section, mine) in pairs {
            let theirs = ids(&theirs["sections"][their_type][section]);
            assert_eq!(
                mine, theirs,
                "{their_type} / {section}: kb diff vs diff_stix"
            );
        }
        // The counts are the lists' lengths.
        let c = &k["counts"];
        let len = |v: &Value| v.as_array().map(|a| a.len() as u64);
        assert_eq!(c["added"].as_u64(), len(&k["added"]));
        assert_eq!(c["patch"].as_u64(), Some(changed_at("patch").len() as u64));
    }
}

/// The objects whose description changed, in one of the two bundles' raw text.
fn description(file: &str, attack_id: &str) -> String {
    static BUNDLES: OnceLock<Vec<(String, stix::Bundle)>> = OnceLock::new();
    let all = BUNDLES.get_or_init(|| {
        [ENTERPRISE_17, ENTERPRISE]
            .iter()
            .map(|f| (f.to_string(), stix::read_bundle(&bundle(f)).expect("reads")))
            .collect()
    });
    let (_, b) = all.iter().find(|(f, _)| f == file).expect("loaded");
    b.objects
        .iter()
        .find(|o| o.attack_id().as_deref() == Some(attack_id) && o.is_live())
        .and_then(|o| o.description.clone())
        .unwrap_or_default()
}

#[test]
fn same_changes_as_mitres_changelog_tool() {
    let ours = real_diff();
    let theirs = reference(
        &bundle(ENTERPRISE_17),
        &bundle(ENTERPRISE),
        "diff-reference",
        &["G0016", "G1015", "S0002"],
    );
    assert_same_sections(ours, &theirs);
    // Something was compared: 17.1 → 18.1 added techniques and detection strategies.
    assert!(!ids(&kind(ours, "technique")["added"]).is_empty());
    assert!(!ids(&kind(ours, "detection-strategy")["added"]).is_empty());

    // Known difference 1: kb compares tactics too; diff_stix has no such type.
    assert!(theirs["sections"].get("tactics").is_none());
    assert!(kind(ours, "tactic")["counts"].is_object());

    // Renames, platform and tactic changes: the techniques diff_stix's DeepDiff of each object
    // finds a changed name, platform list or kill chain in.
    let set_of = |v: &Value| ids(v);
    assert_eq!(
        ids(&kind(ours, "technique")["renamed"]),
        set_of(&theirs["renamed"])
    );
    assert_eq!(ids(&ours["platforms"]), set_of(&theirs["platforms"]));
    assert_eq!(ids(&ours["tactics"]), set_of(&theirs["tactics"]));
    assert!(!ids(&ours["platforms"]).is_empty());

    // Known difference 2: descriptions. diff_stix flags any change of the raw text; kb reads
    // them as a person does (citation markers and link targets dropped), so its set is a subset
    // and every object only diff_stix flags differs in raw text but not in the words read.
    for (their_type, our_kind) in TYPES {
        let mine: BTreeSet<String> = kind(ours, our_kind)["changed"]
            .as_array()
            .expect("changed")
            .iter()
            .filter(|c| c.get("description").is_some())
            .map(|c| c["id"].as_str().expect("id").to_string())
            .collect();
        let flagged = theirs["described"]
            .get(their_type)
            .map(ids)
            .unwrap_or_default();
        assert!(
            mine.is_subset(&flagged),
            "{our_kind}: {mine:?} ⊄ {flagged:?}"
        );
        for id in flagged.difference(&mine) {
            let (a, b) = (description(ENTERPRISE_17, id), description(ENTERPRISE, id));
            assert_ne!(
                a, b,
                "{id}: diff_stix flags a description that did not change"
            );
            let words = |s: &str| {
                clean_description(s)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            assert_eq!(words(&a), words(&b), "{id}: kb misses a change of words");
        }
    }
    let described = kind(ours, "technique")["counts"]["description"].as_u64();
    assert!(described.is_some_and(|n| n > 0));

    // Relationships of the chosen group and software: what came and went, by the other ID.
    for f in ours["focus"].as_array().expect("focus") {
        let id = f["id"].as_str().expect("id");
        let side = |s: &str| -> BTreeSet<(String, String)> {
            theirs["focus"][id][s]
                .as_array()
                .expect("links")
                .iter()
                .map(|l| {
                    (
                        l[0].as_str().unwrap_or("").into(),
                        l[1].as_str().unwrap_or("").into(),
                    )
                })
                .collect()
        };
        let (old, new) = (side("old"), side("new"));
        let links = |v: &Value| -> BTreeSet<(String, String)> {
            v.as_array()
                .expect("links")
                .iter()
                .map(|l| {
                    let rel = l["relationship"].as_str().expect("relationship");
                    let rel = if l["reverse"] == true {
                        format!("~{rel}")
                    } else {
                        rel.into()
                    };
                    (rel, l["id"].as_str().expect("id").to_string())
                })
                .collect()
        };
        assert_eq!(links(&f["added"]), &new - &old, "{id}: added relationships");
        assert_eq!(
            links(&f["dropped"]),
            &old - &new,
            "{id}: dropped relationships"
        );
    }
    let changed_links: usize = ours["focus"]
        .as_array()
        .expect("focus")
        .iter()
        .map(|f| {
            f["added"].as_array().map_or(0, Vec::len) + f["dropped"].as_array().map_or(0, Vec::len)
        })
        .sum();
    assert!(
        changed_links > 0,
        "the chosen objects' relationships changed in 18.1"
    );
}

#[test]
fn reversed_releases_swap_added_and_removed() {
    let forward = real_diff();
    let back = diff_json(&bundle(ENTERPRISE), &bundle(ENTERPRISE_17), &[]);
    for (_, k) in TYPES {
        assert_eq!(
            ids(&kind(forward, k)["added"]),
            ids(&kind(&back, k)["removed"]),
            "{k}"
        );
    }
    // Backwards, every new version is a step down ("other"), same-version patches stay, and
    // what 18.1 deprecated is live again (a change of some kind).
    let changed = |d: &Value, k: &str, levels: &[&str]| -> BTreeSet<String> {
        kind(d, k)["changed"]
            .as_array()
            .expect("changed")
            .iter()
            .filter(|c| levels.iter().any(|l| c["level"] == *l))
            .map(|c| c["id"].as_str().expect("id").to_string())
            .collect()
    };
    let all = ["major", "minor", "other", "patch"];
    for (_, k) in TYPES {
        let stepped = changed(forward, k, &["major", "minor", "other"]);
        assert!(changed(&back, k, &["other"]).is_superset(&stepped), "{k}");
        assert!(changed(&back, k, &["patch"]).is_superset(&changed(forward, k, &["patch"])));
        let extra = &changed(&back, k, &all) - &changed(forward, k, &all);
        assert!(
            extra.is_subset(&ids(&kind(forward, k)["deprecated"])),
            "{k}: {extra:?}"
        );
    }
    let renamed_back: BTreeSet<String> = ids(&kind(&back, "technique")["renamed"]);
    assert_eq!(renamed_back, ids(&kind(forward, "technique")["renamed"]));
}

/// A copy of 18.1 with what 17.1 → 18.1 lacks: T1053.005 moved under T1546 as T1546.019 and
/// given Defense Evasion; T1218.011 revoked in favour of T1574.001 (so moved to another parent
/// by revocation); T1547.001 deprecated.
fn edited_release() -> PathBuf {
    let text = std::fs::read_to_string(bundle(ENTERPRISE)).expect("bundle reads");
    let mut b: Value = serde_json::from_str(&text).expect("bundle parses");
    let objects = b["objects"].as_array_mut().expect("objects");
    let stix_of = |objects: &[Value], id: &str| -> String {
        objects
            .iter()
            .find(|o| {
                o["type"] == "attack-pattern"
                    && o["revoked"] != true
                    && o["external_references"][0]["external_id"] == id
            })
            .and_then(|o| o["id"].as_str())
            .unwrap_or_else(|| panic!("{id} in 18.1"))
            .to_string()
    };
    let (moved, parent) = (stix_of(objects, "T1053.005"), stix_of(objects, "T1546"));
    let (revoked, by) = (stix_of(objects, "T1218.011"), stix_of(objects, "T1574.001"));
    let deprecated = stix_of(objects, "T1547.001");
    for o in objects.iter_mut() {
        let id = o["id"].as_str().unwrap_or("").to_string();
        // An edit MITRE publishes carries a new date.
        if [&moved, &revoked, &deprecated].contains(&&id) {
            o["modified"] = "2025-12-01T00:00:00.000Z".into();
        }
        if id == moved {
            o["external_references"][0]["external_id"] = "T1546.019".into();
            o["kill_chain_phases"]
                .as_array_mut()
                .expect("phases")
                .push(serde_json::json!({"kill_chain_name": "mitre-attack", "phase_name": "defense-evasion"}));
        } else if id == revoked {
            o["revoked"] = true.into();
        } else if id == deprecated {
            o["x_mitre_deprecated"] = true.into();
        } else if o["relationship_type"] == "subtechnique-of" && o["source_ref"] == moved.as_str() {
            o["target_ref"] = parent.as_str().into();
        }
    }
    objects.push(serde_json::json!({
        "type": "relationship", "spec_version": "2.1",
        "id": "relationship--00000000-0000-4000-8000-000000000001",
        "created": "2025-10-28T00:00:00.000Z", "modified": "2025-10-28T00:00:00.000Z",
        "relationship_type": "revoked-by", "source_ref": revoked, "target_ref": by,
    }));
    let out = scratch("diff-edited").join("enterprise-attack-18.1-edited.json");
    std::fs::write(&out, serde_json::to_vec(&b).expect("serialises")).expect("writes");
    out
}

#[test]
fn revoked_deprecated_moved_and_retargeted_in_an_edited_release() {
    let edited = edited_release();
    let d = diff_json(&bundle(ENTERPRISE), &edited, &[]);
    let t = kind(&d, "technique");
    let revoked = &t["revoked"][0];
    assert_eq!(
        (
            revoked["id"].as_str(),
            revoked["replaced_by"]["id"].as_str()
        ),
        (Some("T1218.011"), Some("T1574.001"))
    );
    assert_eq!(
        ids(&t["deprecated"]),
        BTreeSet::from(["T1547.001".to_string()])
    );
    let m = &d["moved"].as_array().expect("moved")[..];
    let moves: Vec<(&str, &str, &str, &str, bool)> = m
        .iter()
        .map(|x| {
            fn s(v: &Value) -> &str {
                v.as_str().unwrap_or("")
            }
            let by = x["by_revocation"] == true;
            let (from, to) = (s(&x["old_parent"]["id"]), s(&x["new_parent"]["id"]));
            (s(&x["id"]), s(&x["old_id"]), from, to, by)
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("T1546.019", "T1053.005", "T1053", "T1546", false),
            ("T1574.001", "T1218.011", "T1218", "T1574", true),
        ]
    );
    let tactics = &d["tactics"].as_array().expect("tactics")[..];
    assert_eq!(tactics.len(), 1);
    assert_eq!(tactics[0]["id"], "T1546.019");
    assert_eq!(
        ids(&tactics[0]["added"]),
        BTreeSet::from(["TA0005".to_string()])
    );
    // The Japanese name of the tactic comes from kb/ja.
    assert!(tactics[0]["added"][0]["name_ja"].is_string());

    // diff_stix sees the same revocation and deprecation.
    let theirs = reference(&bundle(ENTERPRISE), &edited, "diff-reference-edited", &[]);
    assert_same_sections(&d, &theirs);
    assert_eq!(ids(&d["tactics"]), ids(&theirs["tactics"]));

    // The text output names the replacement and the move.
    let text = ok_stdout(&kb(&[
        "diff",
        path(&bundle(ENTERPRISE)),
        path(&edited),
        "--lang",
        "en",
    ]));
    assert!(
        text.lines()
            .any(|l| l.contains("T1218.011 Rundll32") && l.contains("→ T1574.001 DLL")),
        "{text}"
    );
    assert!(text.contains("(was T1053.005): T1053 "), "{text}");
}

#[test]
fn text_japanese_and_markdown_say_the_same_changes() {
    let d = real_diff();
    let (old, new) = (bundle(ENTERPRISE_17), bundle(ENTERPRISE));
    let en = ok_stdout(&kb(&["diff", path(&old), path(&new), "--lang", "en"]));
    let ja = ok_stdout(&kb(&["diff", path(&old), path(&new), "--lang", "ja"]));
    let md = ok_stdout(&kb(&[
        "diff",
        path(&old),
        path(&new),
        "--markdown",
        "--lang",
        "en",
    ]));
    let t = kind(d, "technique");
    for r in t["renamed"].as_array().expect("renamed") {
        let line = format!(
            "{} {} → {}",
            r["id"].as_str().expect("id"),
            r["old_name"].as_str().expect("old"),
            r["name"].as_str().expect("name")
        );
        assert!(en.contains(&line), "{line} in:\n{en}");
        // Japanese output leads with our Japanese name where kb/ja has one.
        if let Some(j) = r["name_ja"].as_str() {
            assert!(ja.contains(j), "{j}");
        }
    }
    assert!(
        ja.contains("概要") && ja.contains("追加") && ja.contains("名称変更"),
        "{ja}"
    );
    assert!(!ja.contains("Summary"));
    // The change log lists every added object, the text output at most 15 per list.
    for id in ids(&kind(d, "analytic")["added"]).iter().take(200) {
        assert!(md.contains(&format!("- {id} ")), "{id} in the Markdown");
    }
    assert!(md.starts_with("# ATT&CK enterprise-attack 17.1 → 18.1"));
    assert!(md.contains("| Techniques |"));
    assert!(en.contains("(--all lists them)"));
    assert!(en.len() < md.len() / 4);
}

#[test]
fn versions_resolve_among_the_known_bundles() {
    let dir = attack_dir();
    let by_version = diff_json(
        Path::new("17.1"),
        Path::new("18.1"),
        &["--attack", path(&dir)],
    );
    let by_path = real_diff();
    assert_eq!(by_version["old"]["path"], by_path["old"]["path"]);
    assert_eq!(by_version["kinds"], by_path["kinds"]);

    // A zipped bundle is a side like the plain one.
    let zipped = scratch("diff-zip").join("enterprise-attack-17.1.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zipped).expect("create"));
    z.start_file(ENTERPRISE_17, zip::write::SimpleFileOptions::default())
        .expect("entry");
    std::io::Write::write_all(&mut z, &std::fs::read(bundle(ENTERPRISE_17)).expect("read"))
        .expect("write");
    z.finish().expect("finish");
    let from_zip = diff_json(&zipped, &bundle(ENTERPRISE), &[]);
    assert_eq!(from_zip["kinds"], by_path["kinds"]);

    // 18.1 is there for three domains: which one is the user's to say.
    let o = kb(&["diff", "18.1", "18.1", "--attack", path(&dir)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--domain"));
    let same = diff_json(
        Path::new("18.1"),
        Path::new("18.1"),
        &["--attack", path(&dir), "--domain", "mobile"],
    );
    assert_eq!(same["domain"], "mobile-attack");
    assert!(same["kinds"].as_array().expect("kinds").iter().all(|k| {
        k["counts"]
            .as_object()
            .expect("counts")
            .values()
            .all(|n| n == 0)
    }));

    // A release no bundle holds: exit 3 and what there is.
    let o = kb(&["diff", "16.0", "18.1", "--attack", path(&dir)]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("kb fetch --version 16.0") && err.contains("enterprise-attack 17.1"),
        "{err}"
    );
    // Two domains cannot be compared.
    let o = kb(&[
        "diff",
        path(&bundle(ENTERPRISE)),
        path(&bundle(common::MOBILE)),
    ]);
    assert_eq!(o.status.code(), Some(1));
    // A group no release has.
    let o = kb(&[
        "diff",
        path(&bundle(ENTERPRISE_17)),
        path(&bundle(ENTERPRISE)),
        "--group",
        "G9999",
    ]);
    assert_eq!(o.status.code(), Some(3));
}
