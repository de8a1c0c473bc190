//! Checks the curated kb/ files against a linked knowledge base: every ATT&CK ID they name must be
//! live in the bundle, every English text needs its Japanese twin, nothing is defined twice, and
//! every live Enterprise technique and tactic has Japanese. Reports; never changes anything.

use std::collections::{BTreeMap, HashMap};

use super::{Kb, Kind};
use crate::source::curated::{BinaryKind, Curated};
use crate::text::has_japanese;

mod grammar;

#[derive(Debug, Default)]
pub struct Report {
    /// Errors in kb/ itself: wrong IDs, missing Japanese, duplicates.
    pub problems: Vec<String>,
    /// Live ATT&CK objects that kb/ does not translate yet: the to-do list of a new release.
    pub missing: Vec<String>,
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
        Some(k) => r
            .problems
            .push(format!("{file}: {id} is a {k}, expected {want:?}")),
        None => match revoked.get(id) {
            Some(new) => r
                .problems
                .push(format!("{file}: {id} is revoked; use {new} instead")),
            None => r.problems.push(format!(
                "{file}: {id} does not exist (or is deprecated) in the bundle"
            )),
        },
    };
    let check_tech =
        |r: &mut Report, file: &str, id: &str| check_id(r, file, id, &[Kind::Technique]);
    let check_tactic =
        |r: &mut Report, file: &str, id: &str| check_id(r, file, id, &[Kind::Tactic]);
    let ja = |r: &mut Report, file: &str, what: &str, text: &str| {
        if !has_japanese(text) {
            r.problems
                .push(format!("{file}: {what} has no Japanese text: {text:?}"));
        }
    };
    let en = |r: &mut Report, file: &str, what: &str, text: &str| {
        if text.trim().is_empty() {
            r.problems.push(format!("{file}: {what} is empty"));
        }
    };

    let loaded: Vec<&str> = kb.sources.iter().map(|s| s.domain.as_str()).collect();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (file, t) in &c.translations {
        if let Some(prev) = seen.insert(t.id.clone(), file.clone()) {
            r.problems
                .push(format!("{file}: {} is also translated in {prev}", t.id));
        }
        // Mobile and ICS entries are checked when their bundle is loaded. `enterprise` means
        // enterprise-attack: a short name must not slip past the check.
        let domain = t.domain.as_deref().unwrap_or("enterprise-attack");
        let domain = match domain.strip_suffix("-attack").unwrap_or(domain) {
            d @ ("enterprise" | "mobile" | "ics") => format!("{d}-attack"),
            other => {
                r.problems.push(format!(
                    "{file}: {} has domain {other:?}; use enterprise-attack, mobile-attack or \
                     ics-attack",
                    t.id
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
            Some(name) => ja(&mut r, file, &format!("{} name", t.id), name),
            None if proper_noun => {
                if t.summary.is_none() {
                    r.problems
                        .push(format!("{file}: {} has neither name nor summary", t.id));
                }
            }
            None => r
                .problems
                .push(format!("{file}: {} needs a Japanese name", t.id)),
        }
        if let Some(s) = &t.summary {
            ja(&mut r, file, &format!("{} summary", t.id), s);
        }
    }

    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for (file, b) in &c.binaries {
        let stem = file
            .trim_start_matches("binaries/")
            .trim_end_matches(".toml");
        if b.id != stem || b.id != b.id.to_lowercase() {
            r.problems.push(format!(
                "{file}: id {:?} must be the lower-case file name",
                b.id
            ));
        }
        for n in std::iter::once(&b.id).chain(&b.aliases) {
            if let Some(prev) = names.insert(n.to_lowercase(), file.clone()) {
                r.problems
                    .push(format!("{file}: name {n:?} is also claimed by {prev}"));
            }
        }
        for t in &b.techniques {
            check_id(&mut r, file, &t.id, &[Kind::Technique]);
            en(&mut r, file, &format!("{} why_en", t.id), &t.why_en);
            ja(&mut r, file, &format!("{} why_ja", t.id), &t.why_ja);
        }
        if b.techniques.is_empty() {
            r.problems.push(format!("{file}: maps to no technique"));
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
            en(&mut r, file, &format!("{what}_en"), e);
            ja(&mut r, file, &format!("{what}_ja"), j);
        }
        ja(&mut r, file, "name_ja", &b.name_ja);
        if b.investigate.en.is_empty() || b.investigate.ja.is_empty() {
            r.problems
                .push(format!("{file}: investigate needs en and ja items"));
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
                r.problems
                    .push(format!("{file}: switch {n:?} is defined twice"));
            }
        }
        for s in &b.switches {
            grammar::switch(&mut r, file, s, &check_tech, &check_tactic);
            if let Some(w) = &s.absent_when
                && !switch_names.contains(&w.to_lowercase())
            {
                r.problems.push(format!(
                    "{file}: switch {}: absent_when names {w:?}, not a switch of this program",
                    s.name
                ));
            }
        }
        for p in &b.patterns {
            grammar::pattern(&mut r, file, p, &check_tech, &check_tactic);
        }
        if b.telltales.iter().any(|t| t.trim().chars().count() < 4) {
            r.problems.push(format!(
                "{file}: a tell-tale needs at least 4 characters, or it names other programs too"
            ));
        }
        for x in &b.examples {
            ja(&mut r, file, &format!("example {:?}", x.command), &x.ja);
        }
        match (&b.process, b.kind == BinaryKind::SystemProcess) {
            (None, true) => r
                .problems
                .push(format!("{file}: a system process needs [process]")),
            (Some(p), true) => ja(&mut r, file, "process.deviations_ja", &p.deviations_ja),
            _ => {}
        }
    }

    let mut alert_ids: BTreeMap<String, String> = BTreeMap::new();
    for (file, a) in &c.alerts {
        if let Some(prev) = alert_ids.insert(a.id.clone(), file.clone()) {
            r.problems
                .push(format!("{file}: alert id {:?} also in {prev}", a.id));
        }
        if a.techniques.is_empty() {
            r.problems
                .push(format!("{file}: alert {:?} maps to no technique", a.id));
        }
        for t in &a.techniques {
            check_id(&mut r, file, t, &[Kind::Technique]);
        }
        for b in &a.binaries {
            if c.binary_by_name(b).is_none() {
                r.problems.push(format!(
                    "{file}: alert {:?} names {b}, not in the catalogue",
                    a.id
                ));
            }
        }
        ja(
            &mut r,
            file,
            &format!("alert {:?} title_ja", a.id),
            &a.title_ja,
        );
        ja(&mut r, file, &format!("alert {:?} ja", a.id), &a.ja);
    }

    let mut event_ids: BTreeMap<String, String> = BTreeMap::new();
    for (file, v) in &c.events {
        let what = format!("event {:?}", v.id);
        if let Some(prev) = event_ids.insert(v.id.clone(), file.clone()) {
            r.problems.push(format!("{file}: {what} also in {prev}"));
        }
        if v.id != format!("{}-{}", v.source, v.event_id) {
            r.problems.push(format!(
                "{file}: {what}: the id must be `<source>-<event_id>` ({}-{})",
                v.source, v.event_id
            ));
        }
        if v.techniques.is_empty() {
            r.problems
                .push(format!("{file}: {what} maps to no technique"));
        }
        for t in &v.techniques {
            check_tech(&mut r, file, t);
        }
        en(&mut r, file, &format!("{what} en"), &v.en);
        ja(&mut r, file, &format!("{what} name_ja"), &v.name_ja);
        ja(&mut r, file, &format!("{what} ja"), &v.ja);
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
            r.problems.push(format!(
                "{file}: origin {}: no group carries one of its marks {:?} as a keyword, or it \
                 has no words",
                o.country, o.marks
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
            r.missing.push(format!(
                "{} {} ({}): no Japanese name",
                e.kind, e.id, e.name
            ));
        }
        if needs_summary && e.summary_ja.is_none() {
            r.missing.push(format!(
                "{} {} ({}): no Japanese summary",
                e.kind, e.id, e.name
            ));
        }
    }
    r
}

/// One Japanese vocabulary (kb/ja/vocabulary.toml) in names, aliases and summaries, and no
/// tactic name used as a technique keyword (it would compete with the tactic itself).
fn vocabulary(r: &mut Report, c: &Curated, kb: &Kb) {
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
                    r.problems.push(format!(
                        "{file}: {}: vocabulary: write {:?}, not {bad:?} ({})",
                        t.id,
                        rule.prefer,
                        crate::text::truncate(text, 60)
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
                r.problems.push(format!(
                    "{file}: {}: keyword {k:?} is the name of tactic {tactic}; \
                     a technique keyword must not compete with its tactic",
                    t.id
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
