//! Text output of `kb explain`: compact enough to read beside the EDR console. The program,
//! what each argument does, the techniques with their reasons and tactics, the assessment, the
//! artefacts and where to look; nested commands indented below their parent.

use std::io::{self, Write};

use attack_kb::explain::{Explanation, TechniqueHit};

use super::Lang;

fn t<'a>(lang: Lang, en: &'a str, ja: &'a str) -> &'a str {
    if lang == Lang::Ja { ja } else { en }
}

pub fn explain(out: &mut dyn Write, e: &Explanation, lang: Lang) -> io::Result<()> {
    part(out, e, lang, 0)?;
    if e.truncated {
        writeln!(
            out,
            "\n{}",
            t(
                lang,
                "(the input was long: only its beginning was read)",
                "(入力が長いため、先頭部分のみを解析しました)"
            )
        )?;
    }
    Ok(())
}

fn part(out: &mut dyn Write, e: &Explanation, lang: Lang, depth: usize) -> io::Result<()> {
    let pad = "  ".repeat(depth);
    if depth > 0 {
        let via = e.via.as_deref().unwrap_or("");
        let label = match via {
            "&" | "&&" | "||" | "|" => format!("{} {via}", t(lang, "then", "続けて")),
            _ if e.decoded => format!("{via} ({})", t(lang, "decoded", "デコード結果")),
            _ => via.to_string(),
        };
        writeln!(out)?;
        writeln!(
            out,
            "{pad}▶ {label}: {}",
            attack_kb::text::truncate(&e.input, 160)
        )?;
    }
    program(out, e, lang, &pad)?;
    let args: Vec<_> = e
        .arguments
        .iter()
        .filter(|a| a.role != "program" && a.meaning.is_some())
        .collect();
    let notes: Vec<_> = e.assessment.iter().filter(|n| n.kind == "does").collect();
    if !args.is_empty() || !notes.is_empty() {
        writeln!(
            out,
            "\n{pad}{}",
            t(lang, "What this command does", "このコマンドの動作")
        )?;
        for a in args {
            let shown = match &a.value {
                Some(v) if !a.raw.contains(v.as_str()) => format!("{} {v}", a.raw),
                _ => a.raw.clone(),
            };
            writeln!(
                out,
                "{pad}  {:<22} {}",
                attack_kb::text::truncate(&shown, 60),
                a.meaning.as_deref().unwrap_or("")
            )?;
        }
        for n in notes {
            writeln!(out, "{pad}  - {}", n.text)?;
        }
    }
    if !e.techniques.is_empty() {
        writeln!(out, "\n{pad}ATT&CK")?;
        let (strong, usual): (Vec<&TechniqueHit>, Vec<&TechniqueHit>) = e
            .techniques
            .iter()
            .partition(|h| h.confidence != "usual" || std::ptr::eq(*h, &e.techniques[0]));
        for h in &strong {
            technique(out, h, lang, &pad)?;
        }
        if !usual.is_empty() {
            let ids: Vec<String> = usual
                .iter()
                .map(|h| format!("{} {}", h.id, name(h, lang)))
                .collect();
            writeln!(
                out,
                "{pad}  {}: {}",
                t(
                    lang,
                    "other usual abuses of this program",
                    "このプログラムのその他の主な悪用"
                ),
                ids.join(", ")
            )?;
        }
    }
    let assess: Vec<_> = e.assessment.iter().filter(|n| n.kind != "does").collect();
    if !assess.is_empty() {
        writeln!(out, "\n{pad}{}", t(lang, "Assessment", "評価"))?;
        for n in assess {
            let mark = match n.kind.as_str() {
                "suspect" => "!",
                "worse" => "+",
                _ => "-",
            };
            let label = match n.kind.as_str() {
                "worse" => t(lang, "would be worse: ", "さらに悪い場合: "),
                _ => "",
            };
            writeln!(out, "{pad}  {mark} {label}{}", n.text)?;
        }
    }
    if !e.artefacts.is_empty() {
        writeln!(out, "\n{pad}{}", t(lang, "Artefacts", "アーティファクト"))?;
        for a in &e.artefacts {
            let notes = if a.notes.is_empty() {
                String::new()
            } else {
                format!("  ({})", a.notes.join("; "))
            };
            writeln!(
                out,
                "{pad}  {:<14} {}{notes}",
                kind_label(&a.kind, lang),
                a.value
            )?;
        }
    }
    if !e.investigate.is_empty() {
        writeln!(out, "\n{pad}{}", t(lang, "Where to look", "調査のポイント"))?;
        for i in &e.investigate {
            writeln!(out, "{pad}  - {i}")?;
        }
    }
    if !e.related.is_empty() {
        writeln!(
            out,
            "\n{pad}{}",
            t(
                lang,
                "Loose matches in the index",
                "索引内の関連しそうな項目"
            )
        )?;
        for h in e.related.iter().take(5) {
            let n = match (lang, &h.name_ja) {
                (Lang::Ja, Some(j)) => j.as_str(),
                _ => h.name.as_str(),
            };
            writeln!(out, "{pad}  {} {n}", h.id)?;
        }
    }
    for n in &e.nested {
        part(out, n, lang, depth + 1)?;
    }
    Ok(())
}

fn program(out: &mut dyn Write, e: &Explanation, lang: Lang, pad: &str) -> io::Result<()> {
    let Some(c) = &e.catalogue else {
        if e.kind == "script" {
            writeln!(
                out,
                "{pad}{}",
                t(lang, "PowerShell code", "PowerShell コード")
            )?;
        } else if let Some(p) = &e.program_as_written {
            writeln!(
                out,
                "{pad}{p} — {}",
                t(
                    lang,
                    "not in kb's catalogue",
                    "kb のカタログにないプログラム"
                )
            )?;
        }
        return Ok(());
    };
    let id = e.program.as_deref().unwrap_or("");
    match (lang, &c.name_ja) {
        (Lang::Ja, Some(j)) => writeln!(out, "{pad}{id} — {j}  [{}]", c.kind_label)?,
        _ => writeln!(out, "{pad}{id}  [{}]", c.kind_label)?,
    }
    writeln!(out, "{pad}  {}", c.summary)?;
    if c.renamed {
        writeln!(
            out,
            "{pad}  {}",
            t(
                lang,
                "! recognised by its arguments under another file name: renamed?",
                "! 引数から判明したが、ファイル名が異なる (名前を変えて実行された可能性)"
            )
        )?;
    }
    let legit = if c.ships_with_windows {
        t(lang, "ships with Windows", "Windows 標準搭載")
    } else {
        t(lang, "not part of Windows", "Windows 標準ではない")
    };
    writeln!(
        out,
        "{pad}  {legit}; {}: {}",
        t(lang, "signer", "署名者"),
        c.signer
    )?;
    if !c.expected_paths.is_empty() {
        writeln!(
            out,
            "{pad}  {}: {}",
            t(lang, "expected path", "正規のパス"),
            c.expected_paths.join(", ")
        )?;
    }
    let used = match (&c.path_used, c.path_matches) {
        (None, _) => t(
            lang,
            "no path given (found through PATH)",
            "パス指定なし (PATH から実行)",
        )
        .to_string(),
        (Some(p), Some(true)) => format!("{p} ({})", t(lang, "matches", "一致")),
        (Some(p), Some(false)) => format!(
            "{p} (! {})",
            t(lang, "NOT an expected path", "正規のパスではない")
        ),
        (Some(p), None) => p.clone(),
    };
    writeln!(
        out,
        "{pad}  {}: {used}",
        t(lang, "path used", "使われたパス")
    )?;
    Ok(())
}

fn name(h: &TechniqueHit, lang: Lang) -> String {
    match (lang, &h.name_ja) {
        (Lang::Ja, Some(j)) => format!("{j} ({})", h.name),
        (_, Some(j)) => format!("{} / {j}", h.name),
        _ => h.name.clone(),
    }
}

fn technique(out: &mut dyn Write, h: &TechniqueHit, lang: Lang, pad: &str) -> io::Result<()> {
    let conf = match (lang, h.confidence.as_str()) {
        (Lang::Ja, "certain") => "確実",
        (Lang::Ja, "high") => "高",
        (Lang::Ja, "medium") => "中",
        (Lang::Ja, "low") => "低",
        (Lang::Ja, _) => "通常の悪用",
        (Lang::En, "usual") => "usual abuse",
        (Lang::En, c) => c,
    };
    writeln!(out, "{pad}  {} {}  [{conf}]", h.id, name(h, lang))?;
    writeln!(out, "{pad}      {}: {}", t(lang, "why", "理由"), h.reason)?;
    for tac in &h.tactics {
        let tname = match (lang, &tac.name_ja) {
            (Lang::Ja, Some(j)) => j.clone(),
            _ => tac.name.clone(),
        };
        let why = match (&tac.reason, tac.shown) {
            (Some(r), true) => r.clone(),
            _ => t(
                lang,
                "ATT&CK lists it here; nothing in this command shows it",
                "ATT&CK ではこの戦術にも分類されるが、このコマンドからは読み取れない",
            )
            .to_string(),
        };
        let mark = if tac.shown { "✓" } else { "·" };
        writeln!(out, "{pad}      {mark} {} {tname} — {why}", tac.id)?;
    }
    Ok(())
}

fn kind_label(kind: &str, lang: Lang) -> &str {
    if lang == Lang::En {
        return kind;
    }
    match kind {
        "file" => "ファイル",
        "url" => "URL",
        "ip" => "IP アドレス",
        "domain" => "ドメイン",
        "registry-key" => "レジストリ キー",
        "registry-value" => "レジストリ値",
        "account" => "アカウント",
        "host" => "ホスト",
        "task" => "タスク名",
        "service" => "サービス名",
        "time" => "時刻",
        "process" => "プロセス",
        "command" => "コマンド",
        k => k,
    }
}
