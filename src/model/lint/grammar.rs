//! Checks of the explain knowledge: switch grammars, patterns, registry keys, cmdlets, folders
//! and traits. Every rule must name live IDs, carry Japanese beside its English, compile (its
//! regex) and be able to match something.

use std::collections::BTreeSet;

use super::Report;
use crate::message::Message;
use crate::msg;
use crate::source::curated::Curated;
use crate::source::grammar::{Pattern, Switch, TraitId, ValueRule};
use crate::text::has_japanese;

/// Checks an ATT&CK ID given by a rule and reports into the report.
pub type CheckId<'a> = dyn Fn(&mut Report, &str, &str) + 'a;

/// A problem of `what` (a rule named in the message) in `file`.
fn problem(r: &mut Report, file: &str, what: &Message, m: Message) {
    r.problems
        .push(m.arg("file", file).with("what", what.clone()));
}

fn texts(r: &mut Report, file: &str, what: &Message, en: &str, ja: &str) {
    if en.trim().is_empty() {
        problem(r, file, what, msg!("lint.en_empty"));
    }
    if !has_japanese(ja) {
        problem(
            r,
            file,
            what,
            msg!("lint.ja_missing", ja = format!("{ja:?}")),
        );
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
    let what = msg!("lint.what.switch", name = format!("{:?}", s.name));
    texts(r, file, &what, &s.en, &s.ja);
    implies(r, file, s.technique.as_deref(), &s.tactics, tech, tactic);
    for n in std::iter::once(&s.name).chain(&s.aliases) {
        let is_switch = n.starts_with(['/', '-', '+']);
        if n.trim().is_empty() || n.trim() != n {
            problem(r, file, &what, msg!("lint.switch_blank_name"));
        } else if is_switch && n.contains(char::is_whitespace) {
            let name = format!("{n:?}");
            problem(
                r,
                file,
                &what,
                msg!("lint.switch_several_words", name = name),
            );
        }
    }
    if s.absent_when.is_some() && (s.absent_en.is_none() || s.absent_ja.is_none()) {
        problem(r, file, &what, msg!("lint.absent_needs_texts"));
    }
    if let (Some(en), Some(ja)) = (&s.absent_en, &s.absent_ja) {
        let absent = msg!("lint.what.absent").with("of", what.clone());
        texts(r, file, &absent, en, ja);
    }
    if !s.values.is_empty() && !s.value.takes_value() {
        problem(r, file, &what, msg!("lint.values_without_value"));
    }
    for v in &s.values {
        value_rule(r, file, &what, v, tech, tactic);
    }
}

fn value_rule(
    r: &mut Report,
    file: &str,
    what: &Message,
    v: &ValueRule,
    tech: &CheckId,
    tactic: &CheckId,
) {
    let value = format!("{:?}", v.equals.first().or(v.contains.first()));
    let what = msg!("lint.what.value", value = value).with("of", what.clone());
    if v.equals.is_empty() && v.contains.is_empty() {
        problem(r, file, &what, msg!("lint.value_needs_match"));
    }
    texts(r, file, &what, &v.en, &v.ja);
    implies(r, file, v.technique.as_deref(), &v.tactics, tech, tactic);
}

pub fn pattern(r: &mut Report, file: &str, p: &Pattern, tech: &CheckId, tactic: &CheckId) {
    let first = p
        .all
        .first()
        .or(p.any.first())
        .or(p.regex.as_ref())
        .map_or("", String::as_str);
    let what = msg!("lint.what.pattern", name = format!("{first:?}"));
    if p.all.is_empty() && p.any.is_empty() && p.regex.is_none() {
        problem(r, file, &what, msg!("lint.pattern_needs_match"));
    }
    if p.all
        .iter()
        .chain(&p.any)
        .chain(&p.none)
        .any(|x| x.is_empty())
    {
        problem(r, file, &what, msg!("lint.pattern_empty_string"));
    }
    if let Some(re) = &p.regex
        && let Err(e) = regex::Regex::new(re)
    {
        problem(r, file, &what, msg!("lint.regex", why = e));
    }
    texts(r, file, &what, &p.en, &p.ja);
    implies(r, file, p.technique.as_deref(), &p.tactics, tech, tactic);
}

const HIVES: [&str; 5] = ["hklm\\", "hkcu\\", "hkcr\\", "hku\\", "hkcc\\"];

pub fn explain_data(r: &mut Report, c: &Curated, tech: &CheckId, tactic: &CheckId) {
    let mut ids = BTreeSet::new();
    for (file, k) in &c.registry {
        let what = msg!("lint.what.registry_key", id = format!("{:?}", k.id));
        if !ids.insert(k.id.as_str()) {
            problem(r, file, &what, msg!("lint.defined_twice"));
        }
        if k.keys.is_empty() {
            problem(r, file, &what, msg!("lint.no_keys"));
        }
        for key in &k.keys {
            let lower = key.to_lowercase();
            if !HIVES.iter().any(|h| lower.starts_with(h)) {
                let key = format!("{key:?}");
                problem(r, file, &what, msg!("lint.hive", key = key));
            }
        }
        if k.ops.is_empty() {
            problem(r, file, &what, msg!("lint.no_ops"));
        }
        texts(r, file, &what, &k.en, &k.ja);
        implies(r, file, k.technique.as_deref(), &k.tactics, tech, tactic);
        if k.investigate_en.len() != k.investigate_ja.len() {
            problem(r, file, &what, msg!("lint.investigate_length"));
        }
    }
    let mut names = BTreeSet::new();
    for (file, cm) in &c.cmdlets {
        let what = msg!("lint.what.cmdlet", name = format!("{:?}", cm.name));
        for n in std::iter::once(&cm.name).chain(&cm.aliases) {
            if !names.insert(n.to_lowercase()) {
                let name = format!("{n:?}");
                problem(r, file, &what, msg!("lint.cmdlet_name_twice", name = name));
            }
        }
        texts(r, file, &what, &cm.en, &cm.ja);
        implies(r, file, cm.technique.as_deref(), &cm.tactics, tech, tactic);
        for p in &cm.params {
            if !p.name.starts_with('-') {
                let name = format!("{:?}", p.name);
                problem(r, file, &what, msg!("lint.parameter_dash", name = name));
            }
            switch(r, file, p, tech, tactic);
        }
    }
    for (file, p) in &c.powershell_patterns {
        pattern(r, file, p, tech, tactic);
    }
    let mut locations = BTreeSet::new();
    for (file, l) in &c.locations {
        let what = msg!("lint.what.location", id = format!("{:?}", l.id));
        if !locations.insert(l.id.as_str()) {
            problem(r, file, &what, msg!("lint.defined_twice"));
        }
        if l.paths.is_empty() {
            problem(r, file, &what, msg!("lint.no_paths"));
        }
        texts(r, file, &what, &l.en, &l.ja);
        implies(r, file, l.technique.as_deref(), &l.tactics, tech, tactic);
    }
    let mut traits = BTreeSet::new();
    for (file, t) in &c.traits {
        let id = format!("{:?}", t.id);
        let what = msg!("lint.what.trait", id = &id);
        // `known-host` is one trait per class of hosts: a host, not the id, is defined once.
        let keys: Vec<String> = if t.id == TraitId::KnownHost {
            if t.hosts.is_empty() {
                problem(r, file, &what, msg!("lint.no_hosts"));
            }
            t.hosts.iter().map(|h| h.to_ascii_lowercase()).collect()
        } else {
            if !t.hosts.is_empty() {
                problem(r, file, &what, msg!("lint.hosts_unused"));
            }
            vec![id]
        };
        if keys.into_iter().any(|k| !traits.insert(k)) {
            problem(r, file, &what, msg!("lint.defined_twice"));
        }
        texts(r, file, &what, &t.en, &t.ja);
        implies(r, file, t.technique.as_deref(), &t.tactics, tech, tactic);
    }
}
