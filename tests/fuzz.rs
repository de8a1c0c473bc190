//! Property tests over hostile input: the bundle reader and the kb/ reader return a result for
//! any bytes (an error is fine, a panic is not), and what they accept links and lints without a
//! panic. `PROPTEST_CASES` raises the number of cases per property.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use attack_kb::model;
use attack_kb::source::curated::Curated;
use attack_kb::source::stix;
use common::{ICS, bundle, scratch};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Any JSON value, nested a little.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::from),
        "(T|TA|S|G|M)[0-9]{4}(\\.[0-9]{3})?".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const FIELDS: [&str; 14] = [
    "type",
    "id",
    "name",
    "external_references",
    "kill_chain_phases",
    "x_mitre_domains",
    "revoked",
    "x_mitre_deprecated",
    "modified",
    "source_ref",
    "target_ref",
    "relationship_type",
    "x_mitre_version",
    "spec_version",
];

/// The objects of the real ICS bundle, read once.
fn ics_objects() -> &'static Vec<Value> {
    static OBJECTS: OnceLock<Vec<Value>> = OnceLock::new();
    OBJECTS.get_or_init(|| {
        let v: Value =
            serde_json::from_slice(&std::fs::read(bundle(ICS)).expect("read")).expect("JSON");
        v["objects"].as_array().expect("objects").clone()
    })
}

fn curated() -> &'static Curated {
    static C: OnceLock<Curated> = OnceLock::new();
    C.get_or_init(|| Curated::embedded().expect("kb/"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_bundle_reader_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = stix::parse_bundle(Path::new("fuzz.json"), &bytes);
    }

    #[test]
    fn the_bundle_reader_takes_any_bundle_shaped_json(
        objects in prop::collection::vec(
            prop::collection::btree_map(prop::sample::select(&FIELDS[..]), any_json(), 0..8),
            0..24,
        )
    ) {
        let objects: Vec<Value> = objects
            .into_iter()
            .map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
            .collect();
        let text = json!({"type": "bundle", "objects": objects}).to_string();
        if let Ok(b) = stix::parse_bundle(Path::new("fuzz.json"), text.as_bytes()) {
            let _ = model::build(vec![b], curated());
        }
    }

    /// The real ICS bundle with fields of some objects replaced by anything: what reads, links.
    #[test]
    fn a_mutated_real_bundle_reads_or_is_refused(
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(&FIELDS[..]), any_json()),
            1..12,
        )
    ) {
        let mut objects = ics_objects().clone();
        for (i, field, value) in edits {
            let n = objects.len();
            if let Some(o) = objects[i.index(n)].as_object_mut() {
                o.insert(field.to_string(), value);
            }
        }
        let text = json!({"type": "bundle", "objects": objects}).to_string();
        if let Ok(b) = stix::parse_bundle(Path::new("ics.json"), text.as_bytes()) {
            let kb = model::build(vec![b], curated());
            let _ = model::lint::lint(curated(), &kb);
        }
    }
}

/// A kb/ file: a known folder, and text that is TOML-shaped or not.
fn kb_file() -> impl Strategy<Value = (String, String)> {
    let folder = prop::sample::select(
        &[
            "ja",
            "binaries",
            "alerts",
            "registry",
            "powershell",
            "artefacts",
            "other",
        ][..],
    );
    let table = prop::sample::select(
        &[
            "technique",
            "tactic",
            "alert",
            "key",
            "cmdlet",
            "location",
            "switches",
        ][..],
    );
    let line = prop_oneof![
        ("[a-z_]{1,10}", ".{0,16}").prop_map(|(k, v)| format!("{k} = {v:?}")),
        ("[a-z_]{1,10}", any::<i32>()).prop_map(|(k, v)| format!("{k} = {v}")),
        table.prop_map(|t| format!("[[{t}]]")),
        ".{0,24}",
    ];
    (folder, "[a-z0-9.]{1,8}", prop::collection::vec(line, 0..12))
        .prop_map(|(folder, name, lines)| (format!("{folder}/{name}.toml"), lines.join("\n")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_kb_reader_takes_any_folder(files in prop::collection::vec(kb_file(), 0..6)) {
        let dir = scratch("fuzz-kb").join("kb");
        std::fs::create_dir_all(&dir).expect("mkdir");
        for (path, text) in &files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, text).expect("write");
        }
        if let Ok(c) = Curated::from_dir(&dir) {
            let kb = model::build(Vec::new(), &c);
            let _ = model::lint::lint(&c, &kb);
        }
    }
}
