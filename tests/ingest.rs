//! Reading the real bundles: both STIX versions, all three domains, zips, and bad input.

mod common;

use std::io::Write;

use attack_kb::Error;
use attack_kb::model::{Kind, Rel};
use attack_kb::source::stix;
use common::{ENTERPRISE, ENTERPRISE_17, ICS, MOBILE, bundle, load_kb, scratch};

#[test]
fn enterprise_18_1_has_every_live_technique_and_tactics_in_matrix_order() {
    let kb = load_kb(&[ENTERPRISE]);
    let counts = kb.counts();
    assert_eq!(counts[&Kind::Technique], 691);
    assert_eq!(counts[&Kind::Tactic], 14);
    assert!(counts[&Kind::DetectionStrategy] > 600);
    assert!(counts[&Kind::Analytic] > 1000);
    let mut tactics: Vec<_> = kb
        .entities
        .iter()
        .filter(|e| e.kind == Kind::Tactic)
        .collect();
    tactics.sort_by_key(|t| t.order);
    let order: Vec<&str> = tactics.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(order.first(), Some(&"TA0043"));
    assert_eq!(order.last(), Some(&"TA0040"));
    assert_eq!(order[4], "TA0003");
    assert_eq!(kb.sources[0].version, "18.1");
    assert_eq!(kb.sources[0].domain, "enterprise-attack");
    assert_eq!(kb.sources[0].spec_version, "2.0");
}

#[test]
fn technique_record_links_tactics_parent_detections_mitigations_users_and_binaries() {
    let kb = load_kb(&[ENTERPRISE]);
    let t = kb.get("T1053.005").expect("T1053.005");
    assert_eq!(t.related(Rel::Parent)[0].id, "T1053");
    assert!(t.tactics.iter().any(|r| r.id == "TA0003"));
    assert!(!t.related(Rel::DetectionStrategies).is_empty());
    assert!(!t.related(Rel::Analytics).is_empty());
    assert!(!t.related(Rel::Mitigations).is_empty());
    assert!(!t.related(Rel::Groups).is_empty());
    assert!(t.related(Rel::Software).iter().any(|r| r.id == "S0111"));
    assert!(
        t.related(Rel::Binaries)
            .iter()
            .any(|r| r.id == "schtasks.exe")
    );
    assert!(t.related(Rel::Alerts).iter().any(|r| r.kind == Kind::Alert));
    let parent = kb.get("T1053").expect("T1053");
    assert!(
        parent
            .related(Rel::Subtechniques)
            .iter()
            .any(|r| r.id == "T1053.005")
    );
    let g = kb.get("G0016").expect("APT29");
    assert!(g.aliases.iter().any(|a| a == "Cozy Bear"));
    assert!(g.related(Rel::Techniques).len() > 20);
    assert!(!g.related(Rel::Campaigns).is_empty());
}

#[test]
fn revoked_objects_redirect_and_deprecated_ones_vanish() {
    let kb = load_kb(&[ENTERPRISE]);
    let r = kb
        .redirects
        .iter()
        .find(|r| r.id == "T1574.002")
        .expect("redirect");
    assert_eq!(r.replaced_by.id, "T1574.001");
    assert!(kb.get("T1574.002").is_none());
    let t1087: Vec<_> = kb.entities.iter().filter(|e| e.id == "T1087").collect();
    assert_eq!(t1087.len(), 1);
    assert_eq!(t1087[0].kind, Kind::Technique);
}

#[test]
fn ics_stix_2_1_bundle_reads_with_its_collection_version() {
    let b = stix::read_bundle(&bundle(ICS)).expect("ICS reads");
    assert_eq!(b.info.spec_version, "2.1");
    assert_eq!(b.info.domain, "ics-attack");
    assert_eq!(b.info.version, "18.1");
    let kb = load_kb(&[ICS]);
    let counts = kb.counts();
    assert_eq!(counts[&Kind::Technique], 83);
    assert_eq!(counts[&Kind::Tactic], 12);
    assert!(counts[&Kind::Asset] > 10);
    let t = kb
        .entities
        .iter()
        .find(|e| e.kind == Kind::Technique)
        .expect("a technique");
    assert!(
        t.tactics.iter().all(|r| r.id.starts_with("TA01")),
        "{:?}",
        t.tactics
    );
}

#[test]
fn mobile_bundle_reads_and_domains_merge() {
    let kb = load_kb(&[ENTERPRISE, MOBILE, ICS]);
    let counts = kb.counts();
    assert_eq!(counts[&Kind::Technique], 691 + 124 + 83);
    assert_eq!(kb.sources.len(), 3);
    // A group present in several domains is one entity listing both.
    let multi = kb
        .entities
        .iter()
        .filter(|e| e.kind == Kind::Group && e.domains.len() > 1)
        .count();
    assert!(multi > 0);
    let t = kb
        .entities
        .iter()
        .find(|e| e.domains == ["mobile-attack"] && e.kind == Kind::Technique)
        .expect("mobile technique");
    assert!(
        t.tactics
            .iter()
            .all(|r| ("TA0027".."TA0042").contains(&r.id.as_str()))
    );
}

#[test]
fn enterprise_17_1_detections_come_from_data_components() {
    let kb = load_kb(&[ENTERPRISE_17]);
    let t = kb.get("T1053.005").expect("T1053.005 in 17.1");
    assert!(!t.related(Rel::DataComponents).is_empty());
    assert!(t.related(Rel::DetectionStrategies).is_empty());
    assert_eq!(kb.sources[0].version, "17.1");
}

#[test]
fn a_zipped_bundle_reads_like_the_json() {
    let dir = scratch("zip");
    let zip_path = dir.join("ics.zip");
    let file = std::fs::File::create(&zip_path).expect("create");
    let mut z = zip::ZipWriter::new(file);
    z.start_file(
        "ics-attack-18.1.json",
        zip::write::SimpleFileOptions::default(),
    )
    .expect("entry");
    z.write_all(&std::fs::read(bundle(ICS)).expect("read"))
        .expect("write");
    z.finish().expect("finish");
    let b = stix::read_bundle(&zip_path).expect("zip reads");
    assert_eq!(b.info.domain, "ics-attack");
    assert_eq!(
        b.objects.len(),
        stix::read_bundle(&bundle(ICS)).expect("json").objects.len()
    );
}

#[test]
fn malformed_json_names_file_line_and_column() {
    let dir = scratch("bad");
    let p = dir.join("broken.json");
    std::fs::write(
        &p,
        "{\"type\": \"bundle\",\n \"objects\": [\n  {\"type\": \"attack-pattern\",, }\n]}",
    )
    .expect("write");
    match stix::read_bundle(&p) {
        Err(e @ Error::Json { line: 3, .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("broken.json") && msg.contains("line 3, column"),
                "{msg}"
            );
        }
        other => panic!(
            "expected a JSON error at line 3, got {other:?}",
            other = other.err()
        ),
    }
}

#[test]
fn an_object_missing_a_field_is_skipped_with_a_warning() {
    let dir = scratch("missing");
    let p = dir.join("enterprise-attack-9.9.json");
    let objects = r#"{"type":"bundle","id":"bundle--1","spec_version":"2.0","objects":[
      {"type":"attack-pattern","id":"attack-pattern--1","name":"Good","external_references":[{"source_name":"mitre-attack","external_id":"T9001"}],"x_mitre_domains":["enterprise-attack"]},
      {"type":"attack-pattern","id":"attack-pattern--2","external_references":[{"source_name":"mitre-attack","external_id":"T9002"}]},
      {"type":"attack-pattern","name":"No id at all"}
    ]}"#;
    std::fs::write(&p, objects).expect("write");
    let b = stix::read_bundle(&p).expect("bundle still reads");
    assert_eq!(b.objects.len(), 1);
    assert_eq!(b.warnings.len(), 2, "{:?}", b.warnings);
    assert!(b.warnings[0].contains("attack-pattern--2") && b.warnings[0].contains("name"));
    assert_eq!(b.info.version, "9.9");
}

#[test]
fn two_releases_of_one_domain_keep_only_the_newest() {
    let kb = load_kb(&[ENTERPRISE_17, ENTERPRISE]);
    assert_eq!(kb.sources.len(), 1);
    assert_eq!(kb.sources[0].version, "18.1");
    assert!(
        kb.warnings
            .iter()
            .any(|w| w.contains("17.1 is older than 18.1")),
        "{:?}",
        kb.warnings
    );
    assert_eq!(kb.counts()[&Kind::Technique], 691);
}

#[test]
fn an_empty_or_foreign_bundle_is_refused() {
    let dir = scratch("foreign-bundle");
    for (name, text, why) in [
        (
            "empty.json",
            "{\"type\": \"bundle\", \"objects\": []}",
            "no ATT&CK objects",
        ),
        ("array.json", "[1, 2]", "not a JSON object"),
        (
            "object.json",
            "{\"type\": \"indicator\", \"objects\": []}",
            "\"indicator\"",
        ),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        let err = stix::read_bundle(&p).err().expect("refused").to_string();
        assert!(err.contains(name) && err.contains(why), "{err}");
    }
}
