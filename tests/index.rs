//! The index on disk: the same input gives the same documents, and the manifest says what went in.

mod common;

use attack_kb::index::{self, KbIndex};
use common::{ENTERPRISE, ICS, load_kb, scratch};
use tantivy::schema::Value;
use tantivy::{DocAddress, TantivyDocument};

fn records(dir: &std::path::Path) -> Vec<String> {
    let kb = KbIndex::open(dir).expect("opens");
    let searcher = kb.reader.searcher();
    let mut out = Vec::new();
    for (seg, reader) in searcher.segment_readers().iter().enumerate() {
        for doc in 0..reader.max_doc() {
            let d: TantivyDocument = searcher.doc(DocAddress::new(seg as u32, doc)).expect("doc");
            out.push(
                d.get_first(kb.fields.record)
                    .and_then(|v| v.as_str())
                    .expect("record")
                    .to_string(),
            );
        }
    }
    out
}

#[test]
fn same_bundles_give_the_same_documents_in_the_same_order() {
    let kb = load_kb(&[ENTERPRISE, ICS]);
    let (a, b) = (scratch("det-a"), scratch("det-b"));
    index::build(&kb, &a, &|_, _| {}).expect("first build");
    let again = load_kb(&[ENTERPRISE, ICS]);
    index::build(&again, &b, &|_, _| {}).expect("second build");
    let (ra, rb) = (records(&a), records(&b));
    assert_eq!(ra.len(), kb.entities.len());
    assert!(ra == rb, "two builds from the same input differ");
}

#[test]
fn manifest_records_sources_versions_and_counts() {
    let kb = load_kb(&[ENTERPRISE, ICS]);
    let dir = scratch("manifest");
    let m = index::build(&kb, &dir, &|_, _| {}).expect("build");
    let domains: Vec<(&str, &str)> = m
        .sources
        .iter()
        .map(|s| (s.domain.as_str(), s.version.as_str()))
        .collect();
    assert_eq!(
        domains,
        [("enterprise-attack", "18.1"), ("ics-attack", "18.1")]
    );
    assert_eq!(m.counts[&attack_kb::model::Kind::Technique], 691 + 83);
    assert!(m.revoked > 100);
    let opened = KbIndex::open(&dir).expect("opens");
    assert_eq!(opened.manifest.counts, m.counts);
}

#[test]
fn an_index_from_another_layout_is_refused_with_advice() {
    let dir = scratch("foreign");
    std::fs::write(dir.join("CURRENT"), "gen-x").expect("write");
    std::fs::create_dir_all(dir.join("gen-x")).expect("mkdir");
    std::fs::write(dir.join("gen-x/manifest.json"), "{\"schema_version\": 0}").expect("write");
    let err = KbIndex::open(&dir).err().expect("refused");
    assert!(matches!(err, attack_kb::Error::IndexOutdated(_)), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("another kb version (schema 0") && msg.contains("kb index"),
        "{msg}"
    );
}

#[test]
fn concurrent_builds_always_leave_a_whole_live_index() {
    let kb = load_kb(&[ICS]);
    let dir = scratch("concurrent");
    index::build(&kb, &dir, &|_, _| {}).expect("first build");
    for _ in 0..5 {
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| index::build(&kb, &dir, &|_, _| {}).expect("build"));
            }
        });
        let opened = KbIndex::open(&dir).expect("the live generation is whole");
        assert_eq!(
            opened.manifest.counts[&attack_kb::model::Kind::Technique],
            83
        );
    }
}

#[test]
fn an_open_index_keeps_its_generation_and_answers_through_rebuilds() {
    let kb = load_kb(&[ICS]);
    let dir = scratch("held");
    index::build(&kb, &dir, &|_, _| {}).expect("build");
    let held = KbIndex::open(&dir).expect("opens");
    let held_gen = std::fs::read_to_string(dir.join("CURRENT")).expect("CURRENT");
    for _ in 0..3 {
        index::build(&kb, &dir, &|_, _| {}).expect("rebuild");
    }
    assert!(
        dir.join(&held_gen).join("manifest.json").is_file(),
        "a generation a reader holds is never removed"
    );
    let req = attack_kb::query::SearchRequest {
        query: "T0800".into(),
        limit: 3,
        ..Default::default()
    };
    let hits = attack_kb::query::search(&held, &req).expect("search on the old generation");
    assert_eq!(hits.results[0].stored.id, "T0800");
    let shown = attack_kb::query::show(&held, "T0800").expect("show on the old generation");
    assert_eq!(shown.entity.id, "T0800");
    drop(held);
    index::build(&kb, &dir, &|_, _| {}).expect("rebuild");
    assert!(
        !dir.join(&held_gen).exists(),
        "once let go, an old generation is cleaned up"
    );
}
