//! Text output of the CLI, in Japanese or English. JSON output is serde's and lives in the
//! library types; this module only decides what a person reads.

use std::path::Path;

use attack_kb::index::Manifest;
use attack_kb::model::lint::Report;
use attack_kb::model::{Entity, Kind, Ref, Rel};
use attack_kb::query::{SearchResponse, Shown};
use attack_kb::source::curated::Curated;

use super::Lang;

/// Long relation lists (T1059 is used by hundreds of programs) are cut in text output.
const MAX_LIST: usize = 15;

fn name_pair(name: &str, name_ja: Option<&str>, lang: Lang) -> String {
    match (lang, name_ja) {
        (_, None) => name.to_string(),
        (_, Some(j)) if j == name => name.to_string(),
        (Lang::Ja, Some(j)) => format!("{j} ({name})"),
        (Lang::En, Some(j)) => format!("{name} / {j}"),
    }
}

fn ref_text(r: &Ref, lang: Lang) -> String {
    format!(
        "{} {}",
        r.id,
        name_pair(&r.name, r.name_ja.as_deref(), lang)
    )
}

fn kind_text(kind: Kind, lang: Lang) -> String {
    match lang {
        Lang::Ja => kind.label_ja().to_string(),
        Lang::En => kind.as_str().to_string(),
    }
}

pub fn search(resp: &SearchResponse, lang: Lang) {
    if resp.results.is_empty() {
        match lang {
            Lang::Ja => println!("「{}」に一致する項目はありません。", resp.query),
            Lang::En => println!("nothing matches {:?}", resp.query),
        }
        return;
    }
    for (i, h) in resp.results.iter().enumerate() {
        let s = &h.stored;
        let sub = s
            .subkind
            .as_deref()
            .map(|k| format!(", {k}"))
            .unwrap_or_default();
        println!(
            "{:>2}. {}  [{}{}]  {}",
            i + 1,
            s.id,
            kind_text(s.kind, lang),
            sub,
            name_pair(&s.name, s.name_ja.as_deref(), lang)
        );
        if let Some(via) = &h.via {
            println!("      ← {via}");
        }
        if !s.tactics.is_empty() {
            let label = if lang == Lang::Ja {
                "戦術"
            } else {
                "tactics"
            };
            let t: Vec<String> = s.tactics.iter().map(|t| ref_text(t, lang)).collect();
            println!("      {label}: {}", t.join(", "));
        }
        if !s.techniques.is_empty() {
            let t: Vec<String> = s
                .techniques
                .iter()
                .take(6)
                .map(|t| ref_text(t, lang))
                .collect();
            println!("      ATT&CK: {}", t.join(", "));
        }
        let snippet = match lang {
            Lang::Ja => s.snippet_ja.as_deref().unwrap_or(&s.snippet),
            Lang::En => &s.snippet,
        };
        if !snippet.is_empty() {
            println!("      {snippet}");
        }
    }
}

fn section(title_en: &str, title_ja: &str, lang: Lang) {
    println!();
    println!("{}", if lang == Lang::Ja { title_ja } else { title_en });
}

fn list(refs: &[Ref], lang: Lang) {
    for r in refs.iter().take(MAX_LIST) {
        println!("  {}", ref_text(r, lang));
    }
    if refs.len() > MAX_LIST {
        match lang {
            Lang::Ja => println!("  …他 {} 件 (--json ですべて表示)", refs.len() - MAX_LIST),
            Lang::En => println!("  … and {} more (--json lists all)", refs.len() - MAX_LIST),
        }
    }
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
        (_, Rel::Assets) => ("Assets", "資産"),
    }
}

pub fn show(shown: &Shown, lang: Lang) {
    let e = &shown.entity;
    if let Some(r) = &shown.redirected_from {
        match lang {
            Lang::Ja => println!(
                "※ {} ({}) は廃止(revoked)され、{} に置き換えられました。\n",
                r.id, r.name, r.replaced_by.id
            ),
            Lang::En => println!(
                "note: {} ({}) is revoked; it was replaced by {}.\n",
                r.id, r.name, r.replaced_by.id
            ),
        }
    }
    println!(
        "{}  [{}]  {}",
        e.id,
        kind_text(e.kind, lang),
        name_pair(&e.name, e.name_ja.as_deref(), lang)
    );
    if let Some(s) = &e.subkind {
        println!("{s}");
    }
    if !e.aliases.is_empty() || !e.aliases_ja.is_empty() {
        let all: Vec<&str> = e
            .aliases
            .iter()
            .chain(&e.aliases_ja)
            .map(String::as_str)
            .collect();
        println!(
            "{}: {}",
            if lang == Lang::Ja {
                "別名"
            } else {
                "aliases"
            },
            all.join(", ")
        );
    }
    if !e.tactics.is_empty() {
        let t: Vec<String> = e.tactics.iter().map(|t| ref_text(t, lang)).collect();
        println!(
            "{}: {}",
            if lang == Lang::Ja {
                "戦術"
            } else {
                "tactics"
            },
            t.join(", ")
        );
    }
    if !e.platforms.is_empty() {
        println!(
            "{}: {}",
            if lang == Lang::Ja {
                "プラットフォーム"
            } else {
                "platforms"
            },
            e.platforms.join(", ")
        );
    }
    if !e.domains.is_empty() {
        println!(
            "{}: {}",
            if lang == Lang::Ja {
                "ドメイン"
            } else {
                "domains"
            },
            e.domains.join(", ")
        );
    }
    if let Some(u) = &e.url {
        println!("{u}");
    }
    match &e.binary {
        Some(_) => binary(e, lang),
        None => {
            if lang == Lang::Ja
                && let Some(s) = &e.summary_ja
            {
                section("", "概要", lang);
                println!("{s}");
            }
            if !e.description.is_empty() {
                section("Description", "説明 (MITRE, 英語)", lang);
                println!("{}", e.description);
            }
            if lang == Lang::En
                && let Some(s) = &e.summary_ja
            {
                section("Japanese summary", "", lang);
                println!("{s}");
            }
        }
    }
    if let Some(d) = &e.detection {
        section("Detection", "検知", lang);
        println!("{d}");
    }
    for (rel, refs) in &e.relations {
        let (en, ja) = relation_title(e.kind, *rel);
        section(en, ja, lang);
        list(refs, lang);
    }
}

fn binary(e: &Entity, lang: Lang) {
    let Some(b) = &e.binary else { return };
    let ja = lang == Lang::Ja;
    let pick = |en: &str, jat: &str| if ja { jat.to_string() } else { en.to_string() };
    section("What it is", "概要", lang);
    println!("{}", pick(&b.summary_en, &b.summary_ja));
    println!(
        "{}: {}",
        pick("kind", "種別"),
        if ja {
            b.kind.label().1
        } else {
            b.kind.label().0
        }
    );
    println!(
        "{}: {}",
        pick("expected path", "正規のパス"),
        b.paths.join(", ")
    );
    println!(
        "{}: {}   {}: {}",
        pick("ships with Windows", "Windows 標準搭載"),
        if b.ships_with_windows {
            pick("yes", "はい")
        } else {
            pick("no", "いいえ")
        },
        pick("signer", "署名者"),
        b.signer
    );
    if let Some(p) = &b.process {
        section("Expected process facts", "プロセスの正常な姿", lang);
        println!("{}: {}", pick("parent", "親プロセス"), p.parent);
        println!("{}: {}", pick("user", "実行ユーザー"), p.user);
        println!("{}: {}", pick("instances", "インスタンス数"), p.instances);
        println!("{}", pick(&p.deviations_en, &p.deviations_ja));
    }
    section("Legitimate use", "正規の用途", lang);
    println!("{}", pick(&b.legit_en, &b.legit_ja));
    section("How attackers abuse it", "攻撃者による悪用", lang);
    println!("{}", pick(&b.abuse_en, &b.abuse_ja));
    section("ATT&CK mapping", "ATT&CK との対応", lang);
    for t in &b.techniques {
        let name = e
            .related(Rel::Techniques)
            .iter()
            .find(|r| r.id == t.id)
            .map(|r| name_pair(&r.name, r.name_ja.as_deref(), lang))
            .unwrap_or_default();
        println!("  {} {} — {}", t.id, name, pick(&t.why_en, &t.why_ja));
    }
    if !b.switches.is_empty() {
        section("Switches that matter", "注目すべきスイッチ", lang);
        for s in &b.switches {
            println!("  {:<14} {}", s.name, pick(&s.en, &s.ja));
        }
    }
    if !b.examples.is_empty() {
        section("Examples", "コマンド例", lang);
        for x in &b.examples {
            let tag = match (x.malicious, ja) {
                (true, true) => "[悪用]",
                (true, false) => "[malicious]",
                (false, true) => "[正規]",
                (false, false) => "[benign]",
            };
            println!("  {tag} {}", x.command);
            println!("      {}", pick(&x.en, &x.ja));
        }
    }
    section("What to check", "調査のポイント", lang);
    for item in if ja {
        &b.investigate.ja
    } else {
        &b.investigate.en
    } {
        println!("  - {item}");
    }
    println!(
        "{}: {}",
        pick("false positives", "誤検知"),
        pick(
            &b.investigate.false_positives_en,
            &b.investigate.false_positives_ja
        )
    );
}

pub fn manifest(m: &Manifest, dir: &Path) {
    eprintln!(
        "index: {} (built {}, {:.2} s)",
        dir.display(),
        m.built_at,
        m.build_seconds
    );
    for s in &m.sources {
        eprintln!(
            "  source: {} — {} ATT&CK {} (STIX {}), {} objects",
            s.path, s.domain, s.version, s.spec_version, s.objects
        );
    }
    let counts: Vec<String> = m.counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    eprintln!("  entities: {}", counts.join(", "));
    eprintln!(
        "  revoked IDs redirected: {}; warnings: {}",
        m.revoked, m.warnings
    );
}

pub fn lint(r: &Report, c: &Curated) {
    for p in &r.problems {
        println!("problem: {p}");
    }
    for m in &r.missing {
        println!("missing: {m}");
    }
    println!(
        "kb/: {} translations, {} binaries, {} alerts; {} problems, {} untranslated",
        c.translations.len(),
        c.binaries.len(),
        c.alerts.len(),
        r.problems.len(),
        r.missing.len()
    );
}
