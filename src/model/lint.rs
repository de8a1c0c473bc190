//! Checks the curated kb/ files against a linked knowledge base: every ATT&CK ID they name must be
//! live in the bundle, every English text needs its Japanese twin, nothing is defined twice, and
//! every live Enterprise technique and tactic has Japanese. Reports; never changes anything.

use std::collections::{BTreeMap, HashMap};

use super::{Kb, Kind};
use crate::message::Message;
use crate::msg;
use crate::source::curated::{BinaryKind, Curated};
use crate::text::has_japanese;

mod grammar;

#[derive(Debug, Default)]
pub struct Report {
    /// Errors in kb/ itself: wrong IDs, missing Japanese, duplicates.
    pub problems: Vec<Message>,
    /// Live ATT&CK objects that kb/ does not translate yet: the to-do list of a new release.
    pub missing: Vec<Message>,
}

pub fn lint(c: &Curated, kb: &Kb) -> Report {
    let mut r = Report::default();
    let live: HashMap<String, Kind> = kb
        .entities
        .iter()
        .map(|e| (e.id.to_ascii_uppercase(), e.kind))
        .collect();
    let revoked: HashMap<&str, &str> = kb
        .redirects
        .iter()
        .map(|d| (d.id.as_str(), d.replaced_by.id.as_str()))
        .collect();
    let check_id = |r: &mut Report, file: &str, id: &str, want: &[Kind]| match live.get(id) {
        Some(k) if want.contains(k) => {}
        Some(k) => r.problems.push(msg!(
            "lint.wrong_kind",
            file = file,
            id = id,
            kind = k,
            want = format!("{want:?}")
        )),
        None => match revoked.get(id) {
            Some(new) => r
                .problems
                .push(msg!("lint.revoked", file = file, id = id, new = new)),
            None => r
                .problems
                .push(msg!("lint.unknown_id", file = file, id = id)),
        },
    };
    let check_tech =
        |r: &mut Report, file: &str, id: &str| check_id(r, file, id, &[Kind::Technique]);
    let check_tactic =
        |r: &mut Report, file: &str, id: &str| check_id(r, file, id, &[Kind::Tactic]);
    let ja = |r: &mut Report, file: &str, what: Message, text: &str| {
        if !has_japanese(text) {
            r.problems.push(
                msg!("lint.no_japanese", file = file, text = format!("{text:?}"))
                    .with("what", what),
            );
        }
    };
    let en = |r: &mut Report, file: &str, what: Message, text: &str| {
        if text.trim().is_empty() {
            r.problems
                .push(msg!("lint.empty", file = file).with("what", what));
        }
    };
    // "T1003 name", "alert \"x\" title_ja": a field (as written in kb/) of something.
    let field = |of: Message, name: &str| msg!("lint.what.field", field = name).with("of", of);

    let loaded: Vec<&str> = kb.sources.iter().map(|s| s.domain.as_str()).collect();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (file, t) in &c.translations {
        if let Some(prev) = seen.insert(t.id.clone(), file.clone()) {
            r.problems.push(msg!(
                "lint.translated_twice",
                file = file,
                id = &t.id,
                prev = prev
            ));
        }
        // Mobile and ICS entries are checked when their bundle is loaded. `enterprise` means
        // enterprise-attack: a short name must not slip past the check.
        let domain = t.domain.as_deref().unwrap_or("enterprise-attack");
        let domain = match domain.strip_suffix("-attack").unwrap_or(domain) {
            d @ ("enterprise" | "mobile" | "ics") => format!("{d}-attack"),
            other => {
                r.problems.push(msg!(
                    "lint.bad_domain",
                    file = file,
                    id = &t.id,
                    domain = format!("{other:?}")
                ));
                continue;
            }
        };
        if !loaded.contains(&domain.as_str()) {
            continue;
        }
        let kinds = [
            Kind::Tactic,
            Kind::Technique,
            Kind::Mitigation,
            Kind::DataComponent,
            Kind::Group,
            Kind::Software,
            Kind::Campaign,
            Kind::Asset,
            Kind::DetectionStrategy,
        ];
        check_id(&mut r, file, &t.id, &kinds);
        let proper_noun = live
            .get(&t.id.to_ascii_uppercase())
            .is_some_and(|k| matches!(k, Kind::Group | Kind::Software | Kind::Campaign));
        match &t.name {
            Some(name) => ja(&mut r, file, field(t.id.as_str().into(), "name"), name),
            None if proper_noun => {
                if t.summary.is_none() {
                    r.problems
                        .push(msg!("lint.no_name_nor_summary", file = file, id = &t.id));
                }
            }
            None => r
                .problems
                .push(msg!("lint.needs_japanese_name", file = file, id = &t.id)),
        }
        if let Some(s) = &t.summary {
            ja(&mut r, file, field(t.id.as_str().into(), "summary"), s);
        }
    }

    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for (file, b) in &c.binaries {
        let stem = file
            .trim_start_matches("binaries/")
            .trim_end_matches(".toml");
        if b.id != stem || b.id != b.id.to_lowercase() {
            r.problems.push(msg!(
                "lint.binary_id",
                file = file,
                id = format!("{:?}", b.id)
            ));
        }
        for n in std::iter::once(&b.id).chain(&b.aliases) {
            if let Some(prev) = names.insert(n.to_lowercase(), file.clone()) {
                r.problems.push(msg!(
                    "lint.name_claimed",
                    file = file,
                    name = format!("{n:?}"),
                    prev = prev
                ));
            }
        }
        for t in &b.techniques {
            check_id(&mut r, file, &t.id, &[Kind::Technique]);
            en(
                &mut r,
                file,
                field(t.id.as_str().into(), "why_en"),
                &t.why_en,
            );
            ja(
                &mut r,
                file,
                field(t.id.as_str().into(), "why_ja"),
                &t.why_ja,
            );
        }
        if b.techniques.is_empty() {
            r.problems
                .push(msg!("lint.binary_no_technique", file = file));
        }
        for s in &b.attack_software {
            check_id(&mut r, file, s, &[Kind::Software]);
        }
        for (what, e, j) in [
            ("summary", &b.summary_en, &b.summary_ja),
            ("legit", &b.legit_en, &b.legit_ja),
            ("abuse", &b.abuse_en, &b.abuse_ja),
            (
                "false_positives",
                &b.investigate.false_positives_en,
                &b.investigate.false_positives_ja,
            ),
        ] {
            en(&mut r, file, format!("{what}_en").into(), e);
            ja(&mut r, file, format!("{what}_ja").into(), j);
        }
        ja(&mut r, file, "name_ja".into(), &b.name_ja);
        if b.investigate.en.is_empty() || b.investigate.ja.is_empty() {
            r.problems.push(msg!("lint.investigate_items", file = file));
        }
        let switch_names: Vec<String> = b
            .switches
            .iter()
            .flat_map(|s| std::iter::once(&s.name).chain(&s.aliases))
            .map(|n| n.to_lowercase())
            .collect();
        let mut seen_switches = std::collections::BTreeSet::new();
        for n in &switch_names {
            if !seen_switches.insert(n) {
                r.problems.push(
                    msg!("lint.defined_twice", file = file)
                        .with("what", msg!("lint.what.switch", name = format!("{n:?}"))),
                );
            }
        }
        for s in &b.switches {
            grammar::switch(&mut r, file, s, &check_tech, &check_tactic);
            if let Some(w) = &s.absent_when
                && !switch_names.contains(&w.to_lowercase())
            {
                r.problems.push(msg!(
                    "lint.absent_when_unknown",
                    file = file,
                    switch = &s.name,
                    name = format!("{w:?}")
                ));
            }
        }
        for p in &b.patterns {
            grammar::pattern(&mut r, file, p, &check_tech, &check_tactic);
        }
        if b.telltales.iter().any(|t| t.trim().chars().count() < 4) {
            r.problems.push(msg!("lint.short_telltale", file = file));
        }
        for x in &b.examples {
            let example = msg!("lint.what.example", command = format!("{:?}", x.command));
            ja(&mut r, file, example, &x.ja);
        }
        match (&b.process, b.kind == BinaryKind::SystemProcess) {
            (None, true) => r.problems.push(msg!("lint.system_process", file = file)),
            (Some(p), true) => ja(
                &mut r,
                file,
                "process.deviations_ja".into(),
                &p.deviations_ja,
            ),
            _ => {}
        }
    }

    let mut alert_ids: BTreeMap<String, String> = BTreeMap::new();
    for (file, a) in &c.alerts {
        let alert = || msg!("lint.what.alert", id = format!("{:?}", a.id));
        if let Some(prev) = alert_ids.insert(a.id.clone(), file.clone()) {
            r.problems
                .push(msg!("lint.also_in", file = file, prev = prev).with("what", alert()));
        }
        if a.techniques.is_empty() {
            r.problems
                .push(msg!("lint.no_technique", file = file).with("what", alert()));
        }
        for t in &a.techniques {
            check_id(&mut r, file, t, &[Kind::Technique]);
        }
        for b in &a.binaries {
            if c.binary_by_name(b).is_none() {
                r.problems
                    .push(msg!("lint.unknown_binary", file = file, name = b).with("what", alert()));
            }
        }
        ja(&mut r, file, field(alert(), "title_ja"), &a.title_ja);
        ja(&mut r, file, field(alert(), "ja"), &a.ja);
    }

    let mut event_ids: BTreeMap<String, String> = BTreeMap::new();
    for (file, v) in &c.events {
        let what = msg!("lint.what.event", id = format!("{:?}", v.id));
        if let Some(prev) = event_ids.insert(v.id.clone(), file.clone()) {
            r.problems
                .push(msg!("lint.also_in", file = file, prev = prev).with("what", what.clone()));
        }
        if v.id != format!("{}-{}", v.source, v.event_id) {
            r.problems.push(
                msg!(
                    "lint.event_id",
                    file = file,
                    expected = format!("{}-{}", v.source, v.event_id)
                )
                .with("what", what.clone()),
            );
        }
        if v.techniques.is_empty() {
            r.problems
                .push(msg!("lint.no_technique", file = file).with("what", what.clone()));
        }
        for t in &v.techniques {
            check_tech(&mut r, file, t);
        }
        en(&mut r, file, field(what.clone(), "en"), &v.en);
        ja(&mut r, file, field(what.clone(), "name_ja"), &v.name_ja);
        ja(&mut r, file, field(what, "ja"), &v.ja);
    }

    grammar::explain_data(&mut r, c, &check_tech, &check_tactic);
    vocabulary(&mut r, c, kb);
    // A country whose marks no group carries would never answer a query of its name.
    for (file, o) in &c.origins {
        let groups = kb
            .entities
            .iter()
            .filter(|e| kb.origins_of(e).iter().any(|x| x.country == o.country))
            .count();
        if groups == 0 || o.words.is_empty() {
            r.problems.push(msg!(
                "lint.origin_unused",
                file = file,
                country = &o.country,
                marks = format!("{:?}", o.marks)
            ));
        }
    }

    for e in &kb.entities {
        let enterprise = e.domains.iter().any(|d| d == "enterprise-attack");
        // Every user-facing ATT&CK object has Japanese: a name where the English name is a
        // description, a summary where it is a proper noun (groups, software, campaigns).
        let needs_name = matches!(
            e.kind,
            Kind::Tactic
                | Kind::Technique
                | Kind::Mitigation
                | Kind::DataComponent
                | Kind::DetectionStrategy
                | Kind::Asset
        );
        let needs_summary = match e.kind {
            Kind::Technique | Kind::Group | Kind::Software | Kind::Campaign => true,
            Kind::Tactic => enterprise,
            _ => false,
        };
        if needs_name && e.name_ja.is_none() {
            r.missing.push(msg!(
                "lint.untranslated_name",
                kind = e.kind,
                id = &e.id,
                name = &e.name
            ));
        }
        if needs_summary && e.summary_ja.is_none() {
            r.missing.push(msg!(
                "lint.untranslated_summary",
                kind = e.kind,
                id = &e.id,
                name = &e.name
            ));
        }
    }
    r
}

/// One Japanese vocabulary (kb/ja/vocabulary.toml) in names, aliases and summaries, and no
/// tactic name used as a technique keyword (it would compete with the tactic itself).
fn vocabulary(r: &mut Report, c: &Curated, kb: &Kb) {
    // Only a Japanese query is unwrapped: a wrapper without Japanese would never be taken off.
    let q = &c.query_words;
    for w in q.before.iter().chain(&q.after) {
        if !crate::text::has_japanese(w) {
            r.problems.push(msg!(
                "lint.query_word",
                file = "ja/vocabulary.toml",
                word = format!("{w:?}")
            ));
        }
    }
    for (file, t) in &c.translations {
        // A tactic's aliases are the register of every variant analysts meet (横展開 too).
        let aliases: &[String] = if t.id.starts_with("TA") {
            &[]
        } else {
            &t.aliases
        };
        let texts = t.name.iter().chain(aliases).chain(t.summary.iter());
        for text in texts {
            for (_, rule) in &c.vocabulary {
                // サーバ in サーバー is the preferred form going on, not a drift.
                let drift = |a: &String| {
                    text.match_indices(a.as_str())
                        .any(|(i, _)| !text[i..].starts_with(rule.prefer.as_str()))
                };
                if let Some(bad) = rule.avoid.iter().find(|a| drift(a)) {
                    r.problems.push(msg!(
                        "lint.vocabulary",
                        file = file,
                        id = &t.id,
                        prefer = format!("{:?}", rule.prefer),
                        avoid = format!("{bad:?}"),
                        text = crate::text::truncate(text, 60)
                    ));
                }
            }
        }
    }
    let mut tactic_names: HashMap<String, String> = HashMap::new();
    for e in kb.entities.iter().filter(|e| e.kind == Kind::Tactic) {
        for n in std::iter::once(&e.name)
            .chain(e.name_ja.iter())
            .chain(&e.aliases)
            .chain(&e.aliases_ja)
            .chain(&e.keywords_ja)
            .chain(&e.keywords_en)
        {
            tactic_names.insert(crate::text::exact_key(n), e.id.clone());
        }
    }
    let tactic_ids: std::collections::HashSet<&str> = kb
        .entities
        .iter()
        .filter(|e| e.kind == Kind::Tactic)
        .map(|e| e.id.as_str())
        .collect();
    for (file, t) in &c.translations {
        if tactic_ids.contains(t.id.as_str()) || !t.id.starts_with('T') {
            continue;
        }
        for k in t.keywords.iter().chain(&t.keywords_en).chain(&t.aliases) {
            if let Some(tactic) = tactic_names.get(&crate::text::exact_key(k)) {
                r.problems.push(msg!(
                    "lint.tactic_keyword",
                    file = file,
                    id = &t.id,
                    keyword = format!("{k:?}"),
                    tactic = tactic
                ));
            }
        }
    }
}

/// Binaries of an outside list (LOLBAS names, one a line) that the catalogue lacks.
pub fn missing_binaries<'a>(c: &Curated, names: &'a str) -> Vec<&'a str> {
    names
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty() && !n.starts_with('#'))
        .filter(|n| {
            let lower = n.to_lowercase();
            c.binary_by_name(&lower).is_none()
                && c.binary_by_name(&format!("{lower}.exe")).is_none()
        })
        .collect()
}
