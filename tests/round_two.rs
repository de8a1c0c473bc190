//! Search and show, round two: the lookups of an analyst's day that round one got wrong.
//! Event numbers, analytics' log sources, lone IDs and their family, names several objects
//! share, Japanese notes, queries from standard input.

mod common;

use common::*;

#[test]
fn an_event_number_answers_with_its_technique_then_the_event() {
    let kb = open();
    for (q, technique, event) in [
        ("4698", "T1053.005", "security-4698"),
        ("EventID 4720", "T1136.001", "security-4720"),
        ("sysmon 10", "T1003.001", "sysmon-10"),
        ("event id 1102", "T1070.001", "security-1102"),
        ("7045", "T1543.003", "system-7045"),
        ("4104", "T1059.001", "powershell-4104"),
    ] {
        let hits = ids(&search(&kb, q));
        assert_eq!(hits[0], technique, "{q}: {hits:?}");
        assert!(hits[..3].contains(&event.to_string()), "{q}: {hits:?}");
    }
}

#[test]
fn a_technique_lists_the_events_that_detect_it() {
    let o = kb(&["show", "--json", "T1558.003"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let events: Vec<&str> = v["relations"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert!(events.contains(&"security-4769"), "{events:?}");
}

#[test]
fn analytics_show_their_logs_and_have_readable_names() {
    let kb = open();
    let hits = search(&kb, "4769");
    let analytic = hits
        .iter()
        .find(|h| h.stored.kind == attack_kb::model::Kind::Analytic)
        .expect("an analytic that reads event 4769");
    assert!(
        !analytic.stored.name.starts_with("Analytic "),
        "{}",
        analytic.stored.name
    );
    assert!(
        analytic
            .stored
            .name_ja
            .as_deref()
            .is_some_and(attack_kb::text::has_japanese)
    );
    let shown = attack_kb::query::show(&kb, &analytic.stored.id).expect("show");
    assert!(
        shown
            .entity
            .log_sources
            .iter()
            .any(|l| l.channel.contains("4769"))
    );
}

#[test]
fn a_lone_id_lists_the_object_then_its_family() {
    let kb = open();
    let hits = ids(&search(&kb, "t1003"));
    assert_eq!(hits[0], "T1003");
    let subs: Vec<&String> = hits.iter().skip(1).take(8).collect();
    assert!(subs.iter().all(|h| h.starts_with("T1003.")), "{hits:?}");
    let hits = ids(&search(&kb, "T1003.001"));
    assert_eq!(&hits[..2], ["T1003.001", "T1003"]);
    // Detection strategies of other `.001` techniques are not the family.
    assert!(!hits[..4].iter().any(|h| h.starts_with("DET")), "{hits:?}");
}

#[test]
fn a_name_that_several_objects_share_lists_them_all() {
    let kb = open();
    let shown = attack_kb::query::show(&kb, "ドメインアカウント").expect("show");
    let mut all: Vec<String> = shown.same_name.iter().map(|r| r.id.clone()).collect();
    all.push(shown.entity.id.clone());
    for id in ["T1078.002", "T1136.002", "T1087.002"] {
        assert!(all.contains(&id.to_string()), "{all:?}");
    }
}

#[test]
fn japanese_output_has_no_english_notes_of_ours() {
    let out = stdout(&kb(&[
        "search",
        "--lang",
        "ja",
        "An anomalous scheduled task was created",
    ]));
    assert!(out.contains("← アラート:"), "{out}");
    assert!(!out.contains("← alert:"), "{out}");
    let out = stdout(&kb(&["search", "--lang", "ja", "T1574.002"]));
    assert!(out.contains("廃止された"), "{out}");
}

#[test]
fn english_output_names_programs_by_their_file_name() {
    let out = stdout(&kb(&["search", "--lang", "en", "schtasks"]));
    let first = out.lines().next().unwrap_or("");
    assert!(
        first.contains("schtasks.exe") && !attack_kb::text::has_japanese(first),
        "{first}"
    );
}

#[test]
fn a_query_can_come_from_standard_input() {
    let out = kb_stdin(
        &["search", "--json", "-"],
        br#"cmd /c "echo 'x' > C:\a.txt:s" & whoami"#,
    );
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["results"][0]["id"], "cmd.exe");
}

#[test]
fn groups_are_found_by_where_they_come_from() {
    let kb = open();
    for (q, group) in [
        ("北朝鮮", "G0032"),
        ("North Korea", "G0032"),
        ("ロシア", "G0016"),
    ] {
        let hits = ids(&search(&kb, q));
        assert!(hits.iter().take(10).any(|h| h == group), "{q}: {hits:?}");
    }
}

#[test]
fn an_unknown_file_is_said_to_be_unknown_before_loose_matches() {
    let o = kb(&["search", "--json", "WinATP-Intro-Backdoor.exe"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["unknown_program"], "WinATP-Intro-Backdoor.exe");
    let out = stdout(&kb(&[
        "search",
        "--lang",
        "ja",
        "WinATP-Intro-Backdoor.exe",
    ]));
    assert!(
        out.lines().next().unwrap_or("").contains("カタログ"),
        "{out}"
    );
    let o = kb(&["search", "--json", "certutil.exe"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(v["unknown_program"].is_null());
}

#[test]
fn show_by_an_mde_term_says_what_it_stands_for() {
    let out = stdout(&kb(&["show", "--lang", "ja", "常設"]));
    assert!(out.starts_with("※ 「常設」は"), "{out}");
    assert!(out.contains("TA0003"));
}

#[test]
fn tools_list_their_mde_alerts_and_all_lists_everything() {
    let out = stdout(&kb(&["show", "Mimikatz"]));
    assert!(out.contains("mimikatz-credential-theft-tool"), "{out}");
    let out = stdout(&kb(&["show", "comsvcs.dll"]));
    assert!(out.contains("suspicious-access-to-lsass"), "{out}");
    let cut = stdout(&kb(&["show", "T1059.001"]));
    let all = stdout(&kb(&["show", "--all", "T1059.001"]));
    assert!(cut.contains("--all") && all.lines().count() > cut.lines().count() + 50);
}

#[test]
fn lint_catches_vocabulary_drift_tactic_keywords_and_missing_binaries() {
    use attack_kb::model::lint;
    use attack_kb::source::curated::Curated;
    let dir = kb_dir(
        "vocab",
        "vocabulary.toml",
        "[[rule]]\nprefer = \"横移動\"\navoid = [\"横展開\"]\n",
    );
    std::fs::write(
        dir.join("ja").join("t.toml"),
        "[[technique]]\nid = \"T1021\"\nname = \"リモートサービスによる横展開\"\nkeywords = [\"権限昇格\"]\n",
    )
    .expect("write");
    let curated = Curated::from_dir(&dir).expect("kb/ parses");
    let kb = load_kb(&[ENTERPRISE]);
    let problems = lint::lint(&curated, &kb).problems.join("\n");
    assert!(
        problems.contains("write \"横移動\", not \"横展開\""),
        "{problems}"
    );
    assert!(
        problems.contains("keyword \"権限昇格\" is the name of tactic TA0004"),
        "{problems}"
    );
    let embedded = Curated::embedded().expect("kb/ parses");
    let missing = lint::missing_binaries(&embedded, "Certutil.exe\nNotAThing.exe\n# comment\n");
    assert_eq!(missing, ["NotAThing.exe"]);
}

#[test]
fn programs_filtered_by_a_technique_or_concept_are_those_that_carry_it() {
    let kb = open();
    for q in ["T1105", "ダウンロード", "download"] {
        let req = attack_kb::query::SearchRequest {
            query: q.into(),
            limit: 5,
            kinds: vec![attack_kb::model::Kind::Binary],
            ..Default::default()
        };
        let hits = ids(&attack_kb::query::search(&kb, &req).expect("search").results);
        assert!(
            hits.iter().take(5).any(|h| h == "certutil.exe"),
            "{q}: {hits:?}"
        );
        assert!(
            !hits.contains(&"visio.exe".to_string()) && !hits.contains(&"setspn.exe".to_string())
        );
    }
}
