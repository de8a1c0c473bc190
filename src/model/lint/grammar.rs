//! Checks of the explain knowledge: switch grammars, patterns, registry keys, cmdlets, folders
//! and traits. Every rule must name live IDs, carry Japanese beside its English, compile (its
//! regex) and be able to match something.

use std::collections::BTreeSet;

use super::Report;
use crate::source::curated::Curated;
use crate::source::grammar::{Pattern, Switch, ValueRule};
use crate::text::has_japanese;

/// Checks an ATT&CK ID given by a rule and reports into the report.
pub type CheckId<'a> = dyn Fn(&mut Report, &str, &str) + 'a;

fn texts(r: &mut Report, file: &str, what: &str, en: &str, ja: &str) {
    if en.trim().is_empty() {
        r.problems.push(format!("{file}: {what}: `en` is empty"));
    }
    if !has_japanese(ja) {
        r.problems
            .push(format!("{file}: {what}: `ja` has no Japanese text: {ja:?}"));
    }
}

fn implies(
    r: &mut Report,
    file: &str,
    technique: Option<&str>,
    tactics: &[String],
    tech: &CheckId,
    tactic: &CheckId,
) {
    if let Some(t) = technique {
        tech(r, file, t);
    }
    for t in tactics {
        tactic(r, file, t);
    }
}

pub fn switch(r: &mut Report, file: &str, s: &Switch, tech: &CheckId, tactic: &CheckId) {
    let what = format!("switch {:?}", s.name);
    texts(r, file, &what, &s.en, &s.ja);
    implies(r, file, s.technique.as_deref(), &s.tactics, tech, tactic);
    for n in std::iter::once(&s.name).chain(&s.aliases) {
        let is_switch = n.starts_with(['/', '-', '+']);
        if n.trim().is_empty() || n.trim() != n {
            r.problems.push(format!(
                "{file}: {what}: empty name or white space around it"
            ));
        } else if is_switch && n.contains(char::is_whitespace) {
            r.problems.push(format!(
                "{file}: {what}: one switch per entry ({n:?} holds several words)"
            ));
        }
    }
    if s.absent_when.is_some() && (s.absent_en.is_none() || s.absent_ja.is_none()) {
        r.problems.push(format!(
            "{file}: {what}: absent_when needs absent_en and absent_ja"
        ));
    }
    if let (Some(en), Some(ja)) = (&s.absent_en, &s.absent_ja) {
        texts(r, file, &format!("{what} absent"), en, ja);
    }
    if !s.values.is_empty() && !s.value.takes_value() {
        r.problems.push(format!(
            "{file}: {what}: has value rules but takes no value (set `value`)"
        ));
    }
    for v in &s.values {
        value_rule(r, file, &what, v, tech, tactic);
    }
}

fn value_rule(
    r: &mut Report,
    file: &str,
    what: &str,
    v: &ValueRule,
    tech: &CheckId,
    tactic: &CheckId,
) {
    let what = format!("{what} value {:?}", v.equals.first().or(v.contains.first()));
    if v.equals.is_empty() && v.contains.is_empty() {
        r.problems
            .push(format!("{file}: {what}: needs `equals` or `contains`"));
    }
    texts(r, file, &what, &v.en, &v.ja);
    implies(r, file, v.technique.as_deref(), &v.tactics, tech, tactic);
}

pub fn pattern(r: &mut Report, file: &str, p: &Pattern, tech: &CheckId, tactic: &CheckId) {
    let what = format!(
        "pattern {:?}",
        p.all
            .first()
            .or(p.any.first())
            .or(p.regex.as_ref())
            .map_or("", String::as_str)
    );
    if p.all.is_empty() && p.any.is_empty() && p.regex.is_none() {
        r.problems
            .push(format!("{file}: {what}: needs `all`, `any` or `regex`"));
    }
    if p.all
        .iter()
        .chain(&p.any)
        .chain(&p.none)
        .any(|x| x.is_empty())
    {
        r.problems.push(format!(
            "{file}: {what}: an empty string matches everything"
        ));
    }
    if let Some(re) = &p.regex
        && let Err(e) = regex::Regex::new(re)
    {
        r.problems
            .push(format!("{file}: {what}: the regex does not compile: {e}"));
    }
    texts(r, file, &what, &p.en, &p.ja);
    implies(r, file, p.technique.as_deref(), &p.tactics, tech, tactic);
}

const HIVES: [&str; 5] = ["hklm\\", "hkcu\\", "hkcr\\", "hku\\", "hkcc\\"];

pub fn explain_data(r: &mut Report, c: &Curated, tech: &CheckId, tactic: &CheckId) {
    let mut ids = BTreeSet::new();
    for (file, k) in &c.registry {
        let what = format!("registry key {:?}", k.id);
        if !ids.insert(k.id.as_str()) {
            r.problems.push(format!("{file}: {what} is defined twice"));
        }
        if k.keys.is_empty() {
            r.problems.push(format!("{file}: {what}: lists no keys"));
        }
        for key in &k.keys {
            let lower = key.to_lowercase();
            if !HIVES.iter().any(|h| lower.starts_with(h)) {
                r.problems.push(format!(
                    "{file}: {what}: {key:?} must start with HKLM\\, HKCU\\, HKCR\\, HKU\\ or HKCC\\"
                ));
            }
        }
        if k.ops.is_empty() {
            r.problems.push(format!("{file}: {what}: `ops` is empty"));
        }
        texts(r, file, &what, &k.en, &k.ja);
        implies(r, file, k.technique.as_deref(), &k.tactics, tech, tactic);
        if k.investigate_en.len() != k.investigate_ja.len() {
            r.problems.push(format!(
                "{file}: {what}: investigate_en and investigate_ja differ in length"
            ));
        }
    }
    let mut names = BTreeSet::new();
    for (file, cm) in &c.cmdlets {
        let what = format!("cmdlet {:?}", cm.name);
        for n in std::iter::once(&cm.name).chain(&cm.aliases) {
            if !names.insert(n.to_lowercase()) {
                r.problems
                    .push(format!("{file}: {what}: name {n:?} is claimed twice"));
            }
        }
        texts(r, file, &what, &cm.en, &cm.ja);
        implies(r, file, cm.technique.as_deref(), &cm.tactics, tech, tactic);
        for p in &cm.params {
            if !p.name.starts_with('-') {
                r.problems.push(format!(
                    "{file}: {what}: parameter {:?} must start with -",
                    p.name
                ));
            }
            switch(r, file, p, tech, tactic);
        }
    }
    for (file, p) in &c.powershell_patterns {
        pattern(r, file, p, tech, tactic);
    }
    let mut locations = BTreeSet::new();
    for (file, l) in &c.locations {
        let what = format!("location {:?}", l.id);
        if !locations.insert(l.id.as_str()) {
            r.problems.push(format!("{file}: {what} is defined twice"));
        }
        if l.paths.is_empty() {
            r.problems.push(format!("{file}: {what}: lists no paths"));
        }
        texts(r, file, &what, &l.en, &l.ja);
    }
    let mut traits = BTreeSet::new();
    for (file, t) in &c.traits {
        let what = format!("trait {:?}", t.id);
        if !traits.insert(format!("{:?}", t.id)) {
            r.problems.push(format!("{file}: {what} is defined twice"));
        }
        texts(r, file, &what, &t.en, &t.ja);
        implies(r, file, t.technique.as_deref(), &t.tactics, tech, tactic);
    }
}
