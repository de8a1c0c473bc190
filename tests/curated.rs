//! The curated kb/ files against the real Enterprise bundle: schema, Japanese, live IDs, coverage.

mod common;

use attack_kb::message::Message;
use attack_kb::model::lint::lint;
use attack_kb::source::curated::{BinaryKind, Curated};
use common::{ENTERPRISE, ICS, MOBILE, load_kb};

/// Lint lines in English, one a line, as `kb lint` prints them by default.
fn lines(messages: &[Message]) -> String {
    let texts: Vec<String> = messages.iter().map(ToString::to_string).collect();
    texts.join("\n")
}

#[test]
fn kb_files_are_clean_against_the_live_bundles() {
    let curated = Curated::embedded().expect("kb/ parses");
    let kb = load_kb(&[ENTERPRISE, MOBILE, ICS]);
    let report = lint(&curated, &kb);
    assert!(
        report.problems.is_empty(),
        "kb/ problems:\n{}",
        lines(&report.problems)
    );
    assert!(
        report.missing.is_empty(),
        "untranslated:\n{}",
        lines(&report.missing)
    );
    // With Enterprise alone, Mobile and ICS entries are skipped, not reported as unknown IDs.
    let enterprise_only = lint(&curated, &load_kb(&[ENTERPRISE]));
    let problems = lines(&enterprise_only.problems);
    assert!(problems.is_empty(), "{problems}");
}

#[test]
fn every_live_enterprise_technique_has_a_japanese_name_and_summary() {
    let kb = load_kb(&[ENTERPRISE]);
    let techniques: Vec<_> = kb
        .entities
        .iter()
        .filter(|e| e.kind == attack_kb::model::Kind::Technique)
        .collect();
    assert_eq!(techniques.len(), 691);
    let translated = techniques
        .iter()
        .filter(|t| {
            t.name_ja
                .as_deref()
                .is_some_and(attack_kb::text::has_japanese)
                && t.summary_ja.is_some()
        })
        .count();
    assert_eq!(translated, 691);
}

#[test]
fn catalogue_and_alerts_are_large_enough_and_complete() {
    let c = Curated::embedded().expect("kb/ parses");
    assert!(c.binaries.len() >= 220, "{} binaries", c.binaries.len());
    assert!(c.alerts.len() >= 80, "{} alerts", c.alerts.len());
    let processes = c
        .binaries
        .iter()
        .filter(|(_, b)| b.kind == BinaryKind::SystemProcess)
        .count();
    assert!(processes >= 10, "{processes} system processes");
    for name in [
        "lsass.exe",
        "svchost.exe",
        "services.exe",
        "csrss.exe",
        "winlogon.exe",
    ] {
        let (_, b) = c
            .binaries
            .iter()
            .find(|(_, b)| b.id == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(b.process.is_some(), "{name} has no process facts");
    }
}

#[test]
fn lint_catches_a_dead_id_and_english_only_text() {
    let kbdir = common::kb_dir(
        "lint",
        "bad.toml",
        "[[technique]]\nid = \"T1574.002\"\nname = \"DLL Side-Loading\"\nsummary = \"要約\"\n",
    );
    let curated = Curated::from_dir(&kbdir).expect("parses");
    let report = lint(&curated, &load_kb(&[ENTERPRISE]));
    let all = lines(&report.problems);
    assert!(all.contains("T1574.002 is revoked; use T1574.001"), "{all}");
    assert!(all.contains("no Japanese text"), "{all}");
}

#[test]
fn lint_wants_hosts_on_known_host_traits_and_each_host_once() {
    let kbdir = common::scratch("lint-hosts").join("kb");
    std::fs::create_dir_all(kbdir.join("artefacts")).expect("mkdir");
    let traits = r#"
[[trait]]
id = "known-host"
en = "No hosts."
ja = "ホストがない。"

[[trait]]
id = "known-host"
hosts = ["ifconfig.me"]
en = "One."
ja = "一つ目。"

[[trait]]
id = "known-host"
hosts = ["IFCONFIG.me"]
en = "Two."
ja = "二つ目。"

[[trait]]
id = "remote-share"
hosts = ["share.example"]
en = "A share."
ja = "共有。"
"#;
    std::fs::write(kbdir.join("artefacts").join("hosts.toml"), traits).expect("write");
    let curated = Curated::from_dir(&kbdir).expect("parses");
    let all = lines(&lint(&curated, &load_kb(&[ENTERPRISE])).problems);
    assert!(all.contains("lists no hosts"), "{all}");
    assert!(all.contains("is defined twice"), "{all}");
    assert!(all.contains("only known-host traits use hosts"), "{all}");
}

#[test]
fn lint_wants_japanese_query_wrappers() {
    let kbdir = common::kb_dir(
        "lint-query",
        "vocabulary.toml",
        "rule = []\n[query]\nbefore = [\"suspicious\"]\nafter = [\"の悪用\"]\n",
    );
    let curated = Curated::from_dir(&kbdir).expect("parses");
    assert_eq!(curated.query_words.after, ["の悪用"]);
    let all = lines(&lint(&curated, &load_kb(&[ENTERPRISE])).problems);
    assert!(
        all.contains("the query word \"suspicious\" has no Japanese"),
        "{all}"
    );
    assert!(!all.contains("の悪用"), "{all}");
}

#[test]
fn schema_errors_name_the_file_and_line() {
    let kbdir = common::kb_dir(
        "schema",
        "typo.toml",
        "[[technique]]\nid = \"T1053\"\nnmae = \"x\"\n",
    );
    let err = Curated::from_dir(&kbdir)
        .expect_err("unknown field")
        .to_string();
    assert!(
        err.contains("ja/typo.toml") && err.contains("line 3, column 1"),
        "{err}"
    );
}
