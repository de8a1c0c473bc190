//! Text output of the CLI, in Japanese or English. JSON output is serde's and lives in the
//! library types; this module only decides what a person reads.

use std::path::Path;

use attack_kb::index::Manifest;
use attack_kb::model::lint::Report;
use attack_kb::model::{Entity, Kind, Ref, Rel};
use attack_kb::msg;
use attack_kb::query::{SearchResponse, Shown};
use attack_kb::source::curated::{BinaryKind, Curated};

use super::Lang;
use attack_kb::text::truncate;
use std::io::{self, Write};

/// Long relation lists (T1059 is used by hundreds of programs) are cut in text output.
const MAX_LIST: usize = 15;
/// Characters of a procedure text shown per entry without `--all`.
const MAX_NOTE: usize = 110;

pub(crate) fn name_pair(name: &str, name_ja: Option<&str>, lang: Lang) -> String {
    match (lang, name_ja) {
        (_, None) => name.to_string(),
        (_, Some(j)) if j == name => name.to_string(),
        // "Windows ログオン アプリケーション (winlogon.exe)" already says its English name.
        (Lang::Ja, Some(j)) if j.to_lowercase().contains(&name.to_lowercase()) => j.to_string(),
        (Lang::Ja, Some(j)) => format!("{j} ({name})"),
        (Lang::En, Some(j)) => format!("{name} / {j}"),
    }
}

pub(crate) fn ref_text(r: &Ref, lang: Lang) -> String {
    format!(
        "{} {}",
        r.id,
        name_pair(&r.name, r.name_ja.as_deref(), lang)
    )
}

/// A binary's catalogue kind or a software's type, in the output language.
fn subkind_text(kind: Kind, sub: &str, lang: Lang) -> String {
    let ja = lang == Lang::Ja;
    match (kind, sub) {
        (Kind::Binary, s) => match BinaryKind::from_slug(s) {
            Some(k) if ja => k.label().1.to_string(),
            Some(k) => k.label().0.to_string(),
            None => s.to_string(),
        },
        (Kind::Software, "malware") if ja => "マルウェア".into(),
        (Kind::Software, "tool") if ja => "ツール".into(),
        (_, s) => s.to_string(),
    }
}

fn kind_text(kind: Kind, lang: Lang) -> String {
    match lang {
        Lang::Ja => kind.label_ja().to_string(),
        Lang::En => kind.as_str().to_string(),
    }
}

pub fn search(out: &mut dyn Write, resp: &SearchResponse, lang: Lang) -> io::Result<()> {
    if let Some(p) = &resp.unknown_program {
        match lang {
            Lang::Ja => writeln!(
                out,
                "※ {p} は Windows のプログラムでも kb のカタログにあるプログラムでもありません。以下は語の一致による参考結果です。"
            )?,
            Lang::En => writeln!(
                out,
                "note: {p} is not a known Windows program nor one in kb's catalogue; what follows only shares words with it."
            )?,
        }
    }
    if resp.results.is_empty() {
        match lang {
            Lang::Ja => writeln!(
                out,
                "「{}」に一致する項目はありません。",
                truncate(&resp.query, 80)
            )?,
            Lang::En => writeln!(out, "nothing matches {:?}", truncate(&resp.query, 80))?,
        }
        return Ok(());
    }
    for (i, h) in resp.results.iter().enumerate() {
        let s = &h.stored;
        let sub = s
            .subkind
            .as_deref()
            .map(|k| format!(", {}", subkind_text(s.kind, k, lang)))
            .unwrap_or_default();
        // In English a program is its file name; its Japanese title is for Japanese output.
        let title = match (lang, s.kind) {
            (Lang::En, Kind::Binary) => s.name.clone(),
            _ => name_pair(&s.name, s.name_ja.as_deref(), lang),
        };
        writeln!(
            out,
            "{:>2}. {}  [{}{}]  {}",
            i + 1,
            s.id,
            kind_text(s.kind, lang),
            sub,
            title
        )?;
        if let Some(via) = &h.via {
            writeln!(out, "      ← {}", via_text(via, lang))?;
        }
        if !s.tactics.is_empty() {
            let label = if lang == Lang::Ja {
                "戦術"
            } else {
                "tactics"
            };
            let t: Vec<String> = s.tactics.iter().map(|t| ref_text(t, lang)).collect();
            writeln!(out, "      {label}: {}", t.join(", "))?;
        }
        if !s.techniques.is_empty() {
            let t: Vec<String> = s
                .techniques
                .iter()
                .take(6)
                .map(|t| ref_text(t, lang))
                .collect();
            writeln!(out, "      ATT&CK: {}", t.join(", "))?;
        }
        let snippet = match lang {
            Lang::Ja => s.snippet_ja.as_deref().unwrap_or(&s.snippet),
            Lang::En => &s.snippet,
        };
        if !snippet.is_empty() {
            writeln!(out, "      {snippet}")?;
        }
    }
    Ok(())
}

/// The library's note on why a result is there, in the output language.
fn via_text(via: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return via.to_string();
    }
    for (en, ja) in [
        ("replaces revoked ", "廃止された次の項目の後継: "),
        ("alert: ", "アラート: "),
        ("event: ", "イベント: "),
        ("parent of ", "次の ID の親テクニック: "),
    ] {
        if let Some(rest) = via.strip_prefix(en) {
            return format!("{ja}{rest}");
        }
    }
    via.to_string()
}

fn section(out: &mut dyn Write, title_en: &str, title_ja: &str, lang: Lang) -> io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        if lang == Lang::Ja { title_ja } else { title_en }
    )?;
    Ok(())
}

/// One line per entry; a relationship's text (a procedure) follows on its own line, cut to
/// one short line unless `all` asks for everything.
fn list(out: &mut dyn Write, refs: &[Ref], lang: Lang, all: bool) -> io::Result<()> {
    let shown = if all { refs.len() } else { MAX_LIST };
    for r in refs.iter().take(shown) {
        writeln!(out, "  {}", ref_text(r, lang))?;
        if let Some(n) = &r.note {
            let n = if all {
                n.clone()
            } else {
                truncate(n, MAX_NOTE)
            };
            writeln!(out, "      {}", n.replace('\n', " "))?;
        }
    }
    if refs.len() > shown {
        match lang {
            Lang::Ja => writeln!(
                out,
                "  …他 {} 件 (--all ですべて表示)",
                refs.len() - MAX_LIST
            )?,
            Lang::En => writeln!(
                out,
                "  … and {} more (--all lists all)",
                refs.len() - MAX_LIST
            )?,
        }
    }
    Ok(())
}

/// Section titles of each relation, by the kind that owns it.
fn relation_title(owner: Kind, rel: Rel) -> (&'static str, &'static str) {
    match (owner, rel) {
        (_, Rel::Parent) => ("Parent technique", "親テクニック"),
        (_, Rel::Subtechniques) => ("Sub-techniques", "サブテクニック"),
        (Kind::Mitigation, Rel::Techniques) => ("Mitigates", "緩和対象のテクニック"),
        (Kind::DetectionStrategy | Kind::DataComponent, Rel::Techniques) => {
            ("Detects", "検知対象のテクニック")
        }
        (Kind::Binary, Rel::Techniques) => ("ATT&CK techniques", "ATT&CK テクニック"),
        (Kind::Alert, Rel::Techniques) => ("Usually means", "主に該当するテクニック"),
        (Kind::Event, Rel::Techniques) => ("Helps to detect", "検知に役立つテクニック"),
        (Kind::Asset, Rel::Techniques) => ("Targeted by", "この資産を狙うテクニック"),
        (_, Rel::Techniques) => ("Techniques used", "使用するテクニック"),
        (Kind::Technique, Rel::Groups) => ("Groups that use it", "使用する攻撃グループ"),
        (_, Rel::Groups) => ("Groups", "攻撃グループ"),
        (Kind::Technique, Rel::Software) => ("Software that uses it", "使用するソフトウェア"),
        (Kind::Binary, Rel::Software) => ("ATT&CK software entry", "ATT&CK ソフトウェア"),
        (_, Rel::Software) => ("Software", "ソフトウェア"),
        (Kind::Technique, Rel::Campaigns) => ("Campaigns that use it", "使用したキャンペーン"),
        (_, Rel::Campaigns) => ("Campaigns", "キャンペーン"),
        (_, Rel::Mitigations) => ("Mitigations", "緩和策"),
        (_, Rel::DetectionStrategies) => ("Detection strategies", "検知戦略"),
        (_, Rel::Analytics) => ("Analytics", "分析ルール"),
        (_, Rel::DataComponents) => ("Data components", "データコンポーネント"),
        (_, Rel::DataSource) => ("Data source", "データソース"),
        (Kind::Technique, Rel::Binaries) => (
            "Windows binaries (LOLBins) for it",
            "悪用される Windows プログラム (LOLBins)",
        ),
        (_, Rel::Binaries) => ("Windows binaries", "Windows プログラム"),
        (_, Rel::Alerts) => ("MDE alerts", "MDE アラート"),
        (_, Rel::Events) => ("Windows events to check", "確認すべき Windows イベント"),
        (_, Rel::Assets) => ("Assets", "資産"),
    }
}

pub fn show(out: &mut dyn Write, shown: &Shown, lang: Lang, all: bool) -> io::Result<()> {
    let e = &shown.entity;
    if let Some(a) = &shown.asked_as {
        let main = name_pair(&e.name, e.name_ja.as_deref(), lang);
        match lang {
            Lang::Ja => writeln!(
                out,
                "※ 「{a}」は {main} の別名です (MDE などの製品や文献での呼び方)。\n"
            )?,
            Lang::En => writeln!(out, "note: \"{a}\" is another name for {main}.\n")?,
        }
    }
    if let Some(r) = &shown.redirected_from {
        match lang {
            Lang::Ja => writeln!(
                out,
                "※ {} ({}) は廃止(revoked)され、{} に置き換えられました。\n",
                r.id, r.name, r.replaced_by.id
            )?,
            Lang::En => writeln!(
                out,
                "note: {} ({}) is revoked; it was replaced by {}.\n",
                r.id, r.name, r.replaced_by.id
            )?,
        }
    }
    writeln!(
        out,
        "{}  [{}]  {}",
        e.id,
        kind_text(e.kind, lang),
        name_pair(&e.name, e.name_ja.as_deref(), lang)
    )?;
    if !shown.same_name.is_empty() {
        let others: Vec<String> = shown.same_name.iter().map(|r| ref_text(r, lang)).collect();
        let label = if lang == Lang::Ja {
            "同じ名前の項目"
        } else {
            "also named so"
        };
        writeln!(out, "{label}: {}", others.join(", "))?;
    }
    // A binary's kind is printed with its other facts below.
    if let (Some(sub), None) = (&e.subkind, &e.binary) {
        writeln!(out, "{}", subkind_text(e.kind, sub, lang))?;
    }
    if !e.aliases.is_empty() || !e.aliases_ja.is_empty() {
        let all: Vec<&str> = e
            .aliases
            .iter()
            .chain(&e.aliases_ja)
            .map(String::as_str)
            .collect();
        writeln!(
            out,
            "{}: {}",
            if lang == Lang::Ja {
                "別名"
            } else {
                "aliases"
            },
            all.join(", ")
        )?;
    }
    if !e.tactics.is_empty() {
        let t: Vec<String> = e.tactics.iter().map(|t| ref_text(t, lang)).collect();
        writeln!(
            out,
            "{}: {}",
            if lang == Lang::Ja {
                "戦術"
            } else {
                "tactics"
            },
            t.join(", ")
        )?;
    }
    if !e.platforms.is_empty() {
        writeln!(
            out,
            "{}: {}",
            if lang == Lang::Ja {
                "プラットフォーム"
            } else {
                "platforms"
            },
            e.platforms.join(", ")
        )?;
    }
    if !e.domains.is_empty() {
        writeln!(
            out,
            "{}: {}",
            if lang == Lang::Ja {
                "ドメイン"
            } else {
                "domains"
            },
            e.domains.join(", ")
        )?;
    }
    if let Some(u) = &e.url {
        writeln!(out, "{u}")?;
    }
    match &e.binary {
        Some(_) => binary(out, e, lang)?,
        None => {
            if lang == Lang::Ja
                && let Some(s) = &e.summary_ja
            {
                section(out, "", "概要", lang)?;
                writeln!(out, "{s}")?;
            }
            if !e.description.is_empty() {
                // Only ATT&CK objects carry MITRE's text; alerts and events carry ours.
                let ja = if e.alert.is_some() || e.event.is_some() {
                    "説明 (英語)"
                } else {
                    "説明 (MITRE の原文、英語)"
                };
                section(out, "Description", ja, lang)?;
                writeln!(out, "{}", e.description)?;
            }
            if lang == Lang::En
                && let Some(s) = &e.summary_ja
            {
                section(out, "Japanese summary", "", lang)?;
                writeln!(out, "{s}")?;
            }
        }
    }
    if !e.log_sources.is_empty() {
        section(out, "Log sources", "ログソース", lang)?;
        for l in &e.log_sources {
            writeln!(out, "  {}  {}", l.name, l.channel)?;
        }
    }
    if !e.mutable_elements.is_empty() {
        section(out, "Tunable elements", "調整できる要素", lang)?;
        for m in &e.mutable_elements {
            writeln!(out, "  {} — {}", m.field, m.description)?;
        }
    }
    if let Some(d) = &e.detection {
        section(out, "Detection", "検知", lang)?;
        writeln!(out, "{d}")?;
    }
    for (rel, refs) in &e.relations {
        if e.binary.is_some() && *rel == Rel::Techniques {
            continue; // listed with their reasons under "ATT&CK mapping"
        }
        let (en, ja) = relation_title(e.kind, *rel);
        // Procedure texts are MITRE's English: the Japanese title says so.
        let ja = if refs.iter().any(|r| r.note.is_some()) {
            format!("{ja} (手順・説明は MITRE の原文、英語)")
        } else {
            ja.to_string()
        };
        section(out, en, &ja, lang)?;
        list(out, refs, lang, all)?;
    }
    Ok(())
}

fn binary(out: &mut dyn Write, e: &Entity, lang: Lang) -> io::Result<()> {
    let Some(b) = &e.binary else {
        return Ok(());
    };
    let ja = lang == Lang::Ja;
    let pick = |en: &str, jat: &str| if ja { jat.to_string() } else { en.to_string() };
    section(out, "What it is", "概要", lang)?;
    writeln!(out, "{}", pick(&b.summary_en, &b.summary_ja))?;
    writeln!(
        out,
        "{}: {}",
        pick("kind", "種別"),
        if ja {
            b.kind.label().1
        } else {
            b.kind.label().0
        }
    )?;
    writeln!(
        out,
        "{}: {}",
        pick("expected path", "正規のパス"),
        b.paths.join(", ")
    )?;
    writeln!(
        out,
        "{}: {}   {}: {}",
        pick("ships with Windows", "Windows 標準搭載"),
        if b.ships_with_windows {
            pick("yes", "はい")
        } else {
            pick("no", "いいえ")
        },
        pick("signer", "署名者"),
        b.signer
    )?;
    if let Some(p) = &b.process {
        section(out, "Expected process facts", "プロセスの正常な姿", lang)?;
        writeln!(out, "{}: {}", pick("parent", "親プロセス"), p.parent)?;
        writeln!(out, "{}: {}", pick("user", "実行ユーザー"), p.user)?;
        writeln!(
            out,
            "{}: {}",
            pick("instances", "インスタンス数"),
            p.instances
        )?;
        writeln!(out, "{}", pick(&p.deviations_en, &p.deviations_ja))?;
    }
    section(out, "Legitimate use", "正規の用途", lang)?;
    writeln!(out, "{}", pick(&b.legit_en, &b.legit_ja))?;
    section(out, "How attackers abuse it", "攻撃者による悪用", lang)?;
    writeln!(out, "{}", pick(&b.abuse_en, &b.abuse_ja))?;
    section(out, "ATT&CK mapping", "ATT&CK との対応", lang)?;
    for t in &b.techniques {
        let name = e
            .related(Rel::Techniques)
            .iter()
            .find(|r| r.id == t.id)
            .map(|r| name_pair(&r.name, r.name_ja.as_deref(), lang))
            .unwrap_or_default();
        writeln!(out, "  {} {} — {}", t.id, name, pick(&t.why_en, &t.why_ja))?;
    }
    if !b.switches.is_empty() {
        section(out, "Switches that matter", "注目すべきスイッチ", lang)?;
        for s in &b.switches {
            writeln!(out, "  {:<14} {}", s.name, pick(&s.en, &s.ja))?;
        }
    }
    if !b.examples.is_empty() {
        section(out, "Examples", "コマンド例", lang)?;
        for x in &b.examples {
            let tag = match (x.malicious, ja) {
                (true, true) => "[悪用]",
                (true, false) => "[malicious]",
                (false, true) => "[正規]",
                (false, false) => "[benign]",
            };
            writeln!(out, "  {tag} {}", x.command)?;
            writeln!(out, "      {}", pick(&x.en, &x.ja))?;
        }
    }
    section(out, "What to check", "調査のポイント", lang)?;
    for item in if ja {
        &b.investigate.ja
    } else {
        &b.investigate.en
    } {
        writeln!(out, "  - {item}")?;
    }
    writeln!(
        out,
        "{}: {}",
        pick("false positives", "誤検知"),
        pick(
            &b.investigate.false_positives_en,
            &b.investigate.false_positives_ja
        )
    )?;
    Ok(())
}

pub fn manifest(out: &mut dyn Write, m: &Manifest, dir: &Path, lang: Lang) -> io::Result<()> {
    let ja = lang == Lang::Ja;
    if ja {
        writeln!(
            out,
            "インデックス: {} (作成 {}、{:.2} 秒)",
            dir.display(),
            m.built_at,
            m.build_seconds
        )?;
    } else {
        writeln!(
            out,
            "index: {} (built {}, {:.2} s)",
            dir.display(),
            m.built_at,
            m.build_seconds
        )?;
    }
    for s in &m.sources {
        if ja {
            writeln!(
                out,
                "  入力元: {} — {} ATT&CK {} (STIX {})、オブジェクト {} 件",
                s.path, s.domain, s.version, s.spec_version, s.objects
            )?;
        } else {
            writeln!(
                out,
                "  source: {} — {} ATT&CK {} (STIX {}), {} objects",
                s.path, s.domain, s.version, s.spec_version, s.objects
            )?;
        }
    }
    let counts: Vec<String> = m
        .counts
        .iter()
        .map(|(k, n)| format!("{} {n}", kind_text(*k, lang)))
        .collect();
    if ja {
        writeln!(out, "  件数: {}", counts.join("、"))?;
        writeln!(
            out,
            "  廃止 (revoked) ID の転送: {} 件、警告: {} 件",
            m.revoked, m.warnings
        )?;
    } else {
        writeln!(out, "  entities: {}", counts.join(", "))?;
        writeln!(
            out,
            "  revoked IDs redirected: {}; warnings: {}",
            m.revoked, m.warnings
        )?;
    }
    Ok(())
}

pub fn lint(out: &mut dyn Write, r: &Report, c: &Curated, lang: Lang) -> io::Result<()> {
    let lang = attack_kb::message::Lang::from(lang);
    for p in &r.problems {
        writeln!(
            out,
            "{}",
            msg!("lint.problem").with("text", p.clone()).render(lang)
        )?;
    }
    for m in &r.missing {
        let line = msg!("lint.untranslated").with("text", m.clone());
        writeln!(out, "{}", line.render(lang))?;
    }
    let summary = msg!(
        "lint.summary",
        translations = c.translations.len(),
        binaries = c.binaries.len(),
        alerts = c.alerts.len(),
        problems = r.problems.len(),
        missing = r.missing.len()
    );
    writeln!(out, "{}", summary.render(lang))?;
    Ok(())
}
