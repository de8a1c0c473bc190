//! `kb explain`: the story of one command line. What the program is, what each argument does,
//! which ATT&CK techniques this exact command shows (most specific first, each with its reason
//! and the argument that implies it), its artefacts, an assessment and where to look next.
//!
//! Parsing is [`crate::cmdline`]'s; every meaning comes from kb/ data: the catalogue entries'
//! grammars and patterns (read from the index), registry keys, cmdlets, folders and traits
//! (the index's explain.json). This module only walks the command with that data and ranks
//! what it finds. It writes no text of its own beyond labels the renderer needs.

mod command;
mod script;
mod shapes;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::cmdline::{Mapped, argv, char_offset};
use crate::index::{KbIndex, StoredHit};
use crate::model::Ref;
use crate::source::grammar::{Confidence, ExplainData, Section};

/// Output language of the texts kb/ gives in two languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Ja,
}

impl Lang {
    pub fn pick<'a>(self, en: &'a str, ja: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Ja => ja,
        }
    }
}

/// A stretch of the input, in characters (what a page or a script indexes by).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Explanation {
    /// The command (or script) this part explains, as written.
    pub input: String,
    /// `command` (a program and its arguments) or `script` (PowerShell code).
    pub kind: String,
    /// The catalogue id of the program, or null.
    pub program: Option<String>,
    /// The program as written on the command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_as_written: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalogue: Option<ProgramFacts>,
    pub arguments: Vec<Argument>,
    pub techniques: Vec<TechniqueHit>,
    pub artefacts: Vec<Artefact>,
    pub assessment: Vec<Note>,
    /// Where to look next: logs, events, files, registry keys.
    pub investigate: Vec<String>,
    pub nested: Vec<Explanation>,
    /// For a nested part: the argument it came from (`/TR`, `-EncodedCommand`, `&&`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// True when `input` was decoded (base64) and its spans count in the decoded text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub decoded: bool,
    /// Search results for an unknown program: what the index knows of its words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<StoredHit>,
    /// The input was longer than kb reads; only its beginning is explained.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// What the catalogue says of the program, and whether the path used is its own.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProgramFacts {
    pub name: String,
    pub name_ja: Option<String>,
    /// builtin, library, attack-tool, ...
    pub kind: String,
    pub kind_label: String,
    pub summary: String,
    pub legit: String,
    pub expected_paths: Vec<String>,
    pub ships_with_windows: bool,
    pub signer: String,
    /// Null when the command named the program without a path.
    pub path_used: Option<String>,
    pub path_matches: Option<bool>,
    /// Found by a tell-tale argument, under another file name.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub renamed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Argument {
    pub raw: String,
    /// program, switch, verb, value, positional, redirect, operator, command, parameter.
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meaning: Option<String>,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TechniqueHit {
    pub id: String,
    pub name: String,
    pub name_ja: Option<String>,
    pub tactics: Vec<TacticReason>,
    /// Why this command shows the technique.
    pub reason: String,
    /// certain, high, medium, low, or usual (the program's usual abuse, no argument proves it).
    pub confidence: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// Ranking score: rule strength, less for nested parts.
    pub score: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TacticReason {
    pub id: String,
    pub name: String,
    pub name_ja: Option<String>,
    /// True when an argument of this command shows the tactic.
    pub shown: bool,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Artefact {
    /// file, url, ip, domain, registry-key, registry-value, account, host, task, service,
    /// time, process, command.
    pub kind: String,
    pub value: String,
    pub start: usize,
    pub end: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Note {
    /// does (what the command does), assess (what matters), worse (what would have been
    /// worse), suspect (the real suspect).
    pub kind: String,
    pub text: String,
}

/// Inputs longer than this are explained from their beginning (a pasted log, a 1 MB fuzz case).
pub const MAX_INPUT: usize = 64 * 1024;
/// Nested commands deeper than this are listed, not explained.
const MAX_DEPTH: usize = 6;
/// At most this many commands are explained for one input.
const MAX_PARTS: usize = 64;

/// One piece of evidence for a technique, before ranking.
#[derive(Debug, Clone)]
struct Evidence {
    technique: String,
    score: f32,
    confidence: String,
    reason: String,
    span: Option<Span>,
}

/// The state of one explain call: the knowledge, the language, and the budget left.
struct Ctx<'a> {
    kb: &'a KbIndex,
    data: &'a ExplainData,
    lang: Lang,
    /// The root input: spans of nested parts count in it (unless decoded).
    root: &'a str,
    parts: usize,
    /// Catalogue entries by program name, looked up once per call.
    programs: HashMap<String, Option<std::rc::Rc<crate::model::Entity>>>,
}

/// The explanation of `line` (a command line or a PowerShell script).
pub fn explain(kb: &KbIndex, line: &str, lang: Lang) -> Result<Explanation> {
    let data = kb.explain_data()?;
    let truncated = line.len() > MAX_INPUT;
    let mut cut = MAX_INPUT.min(line.len());
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    let text = &line[..cut];
    let mut ctx = Ctx {
        kb,
        data,
        lang,
        root: text,
        parts: 0,
        programs: HashMap::new(),
    };
    let mapped = Mapped::new(text, 0);
    let mut e = ctx.line(&mapped, 0, false)?;
    e.truncated = truncated;
    let mut cache = HashMap::new();
    resolve(&ctx, &mut e, &mut cache)?;
    Ok(e)
}

/// Raw evidence and tactic confirmations kept beside an explanation while it is built.
#[derive(Debug, Default)]
struct Found {
    evidence: Vec<Evidence>,
    /// tactic ID -> the reason this command shows it.
    tactics: BTreeMap<String, String>,
}

impl Ctx<'_> {
    /// A byte range of the root input (or of a decoded script, which has its own offsets) as
    /// a character span.
    fn span(&self, decoded: bool, range: (usize, usize)) -> Span {
        if decoded {
            Span {
                start: range.0,
                end: range.1,
            }
        } else {
            Span {
                start: char_offset(self.root, range.0),
                end: char_offset(self.root, range.1),
            }
        }
    }

    fn text<'t>(&self, en: &'t str, ja: &'t str) -> String {
        self.lang.pick(en, ja).to_string()
    }

    /// A line: PowerShell code, or cmd.exe commands joined by operators.
    fn line(&mut self, m: &Mapped, depth: usize, decoded: bool) -> Result<Explanation> {
        let m = m.trim();
        if script::looks_like_powershell(self, &m) {
            return self.script(&m, depth, decoded);
        }
        // A PowerShell host's arguments are its own: `|` and `&` belong to the script.
        let first = argv::split(&m);
        let ps_host = match first.first() {
            Some(a) => command::is_script_host(self, &a.text.text)?,
            None => false,
        };
        let segments = if ps_host {
            vec![crate::cmdline::cmd::Segment {
                text: m.clone(),
                joined_by: None,
                redirects: Vec::new(),
            }]
        } else {
            crate::cmdline::cmd::split(&m)
        };
        let mut parts = Vec::new();
        for (k, seg) in segments.iter().take(MAX_PARTS).enumerate() {
            // `if … (cmd)` runs its body: explain that. `for … do cmd` is a command of its own
            // (a loop over users or hosts says something) with its body nested.
            if let Some(body) = crate::cmdline::cmd::control_body(&seg.text)
                && depth < MAX_DEPTH
            {
                let is_for = seg
                    .text
                    .text
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("for");
                let mut e = if is_for {
                    let mut e = self.command(seg, depth, decoded)?;
                    if let Some(n) = self.nested(&body, depth + 1, decoded, false, "do")? {
                        e.nested.push(n);
                    }
                    e
                } else {
                    self.line(&body, depth + 1, decoded)?
                };
                if let Some(op) = seg.joined_by {
                    e.via = Some(op.to_string());
                }
                parts.push(e);
                continue;
            }
            let mut e = self.command(seg, depth, decoded)?;
            // `echo CODE | powershell -`: a PowerShell host told to read its script from
            // standard input runs the text echoed into it. That text is the host's script, so
            // it is explained as such (as `-Command CODE` would be), not left as echo's words.
            if seg.joined_by == Some("|")
                && k > 0
                && depth < MAX_DEPTH
                && let Some(code) = self.echoed(&segments[k - 1])?
                && self.reads_script_from_stdin(seg)?
                && let Some(n) = self.nested(&code, depth + 1, decoded, true, "|")?
            {
                e.nested.push(n);
            }
            if let Some(op) = seg.joined_by {
                e.via = Some(op.to_string());
            }
            parts.push(e);
        }
        let mut parts = parts.into_iter();
        let Some(mut head) = parts.next() else {
            return Ok(empty(&m.text, "command"));
        };
        // Commands joined by operators are siblings: their techniques count in full.
        head.nested.extend(parts);
        Ok(head)
    }

    /// Whether this command is a PowerShell host whose script is `-`: read from standard input.
    fn reads_script_from_stdin(&mut self, seg: &crate::cmdline::cmd::Segment) -> Result<bool> {
        let args = argv::split(&seg.text);
        let Some(first) = args.first() else {
            return Ok(false);
        };
        Ok(args[1..].iter().any(|a| a.text.text == "-")
            && command::is_script_host(self, &first.text.text)?)
    }

    fn nested(
        &mut self,
        m: &Mapped,
        depth: usize,
        decoded: bool,
        script: bool,
        via: &str,
    ) -> Result<Option<Explanation>> {
        if depth >= MAX_DEPTH || self.parts >= MAX_PARTS || m.trim().is_empty() {
            return Ok(None);
        }
        self.parts += 1;
        let mut e = if script {
            self.script(&m.trim(), depth, decoded)?
        } else {
            self.line(m, depth, decoded)?
        };
        e.via = Some(via.to_string());
        e.decoded = decoded;
        Ok(Some(e))
    }

    /// The text an `echo` command writes (everything after `echo`), or none for another
    /// command. `cmd /c echo CODE | powershell -` as a process command line is split at the
    /// pipe before cmd's own `/c` command is read, so the segment before the pipe may be
    /// `cmd /c echo CODE`: the echo inside it is what feeds the pipe.
    fn echoed(&mut self, seg: &crate::cmdline::cmd::Segment) -> Result<Option<Mapped>> {
        let args = argv::split(&seg.text);
        let mut k = 0;
        if let (Some(p), Some(sw)) = (args.first(), args.get(1))
            && command::runs_rest_command(self, &p.text.text, &sw.text.text)?
        {
            k = 2;
        }
        let Some(first) = args.get(k) else {
            return Ok(None);
        };
        if !first.text.text.eq_ignore_ascii_case("echo") {
            return Ok(None);
        }
        let Some(from) = args.get(k + 1).map(|a| a.at.0) else {
            return Ok(None);
        };
        Ok(Some(seg.text.slice(from, seg.text.text.len()).trim()))
    }
}

fn empty(input: &str, kind: &str) -> Explanation {
    Explanation {
        input: input.to_string(),
        kind: kind.to_string(),
        program: None,
        program_as_written: None,
        catalogue: None,
        arguments: Vec::new(),
        techniques: Vec::new(),
        artefacts: Vec::new(),
        assessment: Vec::new(),
        investigate: Vec::new(),
        nested: Vec::new(),
        via: None,
        decoded: false,
        related: Vec::new(),
        truncated: false,
    }
}

/// Rule strength: what orders techniques. A program's usual techniques sit between medium and
/// low rules; each level of nesting costs a little, so the outer command's own evidence of the
/// same strength comes first.
fn strength(c: Confidence) -> f32 {
    match c {
        Confidence::Certain => 4.0,
        Confidence::High => 3.0,
        Confidence::Medium => 2.0,
        Confidence::Low => 0.5,
    }
}

fn confidence_name(c: Confidence) -> &'static str {
    match c {
        Confidence::Certain => "certain",
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

/// The factor of a nested part's evidence in its parent's ranking.
const NESTED: f32 = 0.95;
/// Score of the program's usual techniques (the first; each next one a little less).
const USUAL: f32 = 1.0;

fn section_name(s: Section) -> &'static str {
    match s {
        Section::Does => "does",
        Section::Assess => "assess",
        Section::Worse => "worse",
    }
}

/// Turns the evidence of every part into ranked techniques with names and tactics: each part
/// lists its own, and the parent lists its own plus its nested parts' (at a discount).
fn resolve(
    ctx: &Ctx,
    e: &mut Explanation,
    cache: &mut HashMap<String, Option<StoredHit>>,
) -> Result<()> {
    for n in &mut e.nested {
        resolve(ctx, n, cache)?;
    }
    let mut merged: Vec<TechniqueHit> = std::mem::take(&mut e.techniques);
    // The real suspect (a payload in a user folder) belongs in the first thing the analyst reads.
    let suspects: Vec<Note> = e
        .nested
        .iter()
        .flat_map(|n| n.assessment.iter().filter(|a| a.kind == "suspect").cloned())
        .collect();
    for s in suspects {
        if !e.assessment.iter().any(|a| a.text == s.text) {
            e.assessment.insert(0, s);
        }
    }
    for n in &e.nested {
        // Commands joined by operators (`a & b`) are siblings; others are nested inside.
        let factor = match n.via.as_deref() {
            Some("&" | "&&" | "||" | "|") => 1.0,
            _ => NESTED,
        };
        for t in &n.techniques {
            let mut t = t.clone();
            t.score *= factor;
            if n.decoded {
                t.span = None;
            }
            merged.push(t);
        }
    }
    // One entry per technique: the strongest evidence gives its score, reason and span.
    let mut best: Vec<TechniqueHit> = Vec::new();
    for t in merged {
        match best.iter_mut().find(|b| b.id == t.id) {
            Some(b) if t.score > b.score => {
                let tactics = std::mem::take(&mut b.tactics);
                *b = t;
                merge_tactics(&mut b.tactics, tactics);
            }
            Some(b) => {
                let tactics = t.tactics;
                merge_tactics(&mut b.tactics, tactics);
            }
            None => best.push(t),
        }
    }
    best.sort_by(|a, b| b.score.total_cmp(&a.score));
    for t in &mut best {
        fill_names(ctx, t, cache)?;
    }
    // A technique the index does not know (another bundle) is dropped, not shown bare.
    best.retain(|t| !t.name.is_empty());
    e.techniques = best;
    Ok(())
}

fn merge_tactics(into: &mut Vec<TacticReason>, from: Vec<TacticReason>) {
    for t in from {
        match into.iter_mut().find(|x| x.id == t.id) {
            Some(x) if !x.shown && t.shown => *x = t,
            Some(_) => {}
            None => into.push(t),
        }
    }
}

fn fill_names(
    ctx: &Ctx,
    t: &mut TechniqueHit,
    cache: &mut HashMap<String, Option<StoredHit>>,
) -> Result<()> {
    if !t.name.is_empty() {
        return Ok(());
    }
    let hit = match cache.get(&t.id) {
        Some(h) => h.clone(),
        None => {
            let h = crate::query::hit_by_id(ctx.kb, &t.id)?;
            cache.insert(t.id.clone(), h.clone());
            h
        }
    };
    let Some(hit) = hit else {
        return Ok(());
    };
    t.name = hit.name;
    t.name_ja = hit.name_ja;
    let shown = std::mem::take(&mut t.tactics);
    t.tactics = hit
        .tactics
        .iter()
        .map(|r: &Ref| {
            let s = shown.iter().find(|s| s.id.eq_ignore_ascii_case(&r.id));
            TacticReason {
                id: r.id.clone(),
                name: r.name.clone(),
                name_ja: r.name_ja.clone(),
                shown: s.is_some_and(|s| s.shown),
                reason: s.and_then(|s| s.reason.clone()),
            }
        })
        .collect();
    Ok(())
}

impl Found {
    fn add(&mut self, technique: Option<&str>, c: Confidence, reason: &str, span: Option<Span>) {
        if let Some(t) = technique {
            self.evidence.push(Evidence {
                technique: t.to_string(),
                score: strength(c),
                confidence: confidence_name(c).to_string(),
                reason: reason.to_string(),
                span,
            });
        }
    }

    /// Records that this command shows `tactics`. A switch gives a first reason; a rule about
    /// a particular value or combination (`/SC ONCE`) says more and replaces it.
    fn confirm(&mut self, tactics: &[String], reason: &str) {
        self.confirm_as(tactics, reason, true);
    }

    fn confirm_as(&mut self, tactics: &[String], reason: &str, specific: bool) {
        for t in tactics {
            let e = self.tactics.entry(t.to_ascii_uppercase());
            match e {
                std::collections::btree_map::Entry::Occupied(mut o) if specific => {
                    o.insert(reason.to_string());
                }
                std::collections::btree_map::Entry::Occupied(_) => {}
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(reason.to_string());
                }
            }
        }
    }

    /// The techniques of one part, before names: confirmed tactics attach to each.
    fn into_hits(self) -> Vec<TechniqueHit> {
        let mut out: Vec<TechniqueHit> = Vec::new();
        for ev in self.evidence {
            if out
                .iter()
                .any(|h| h.id == ev.technique && h.score >= ev.score)
            {
                continue;
            }
            out.retain(|h| h.id != ev.technique);
            out.push(TechniqueHit {
                id: ev.technique,
                name: String::new(),
                name_ja: None,
                tactics: self
                    .tactics
                    .iter()
                    .map(|(id, why)| TacticReason {
                        id: id.clone(),
                        name: String::new(),
                        name_ja: None,
                        shown: true,
                        reason: Some(why.clone()),
                    })
                    .collect(),
                reason: ev.reason,
                confidence: ev.confidence,
                span: ev.span,
                score: ev.score,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stronger_rules_rank_first_and_nesting_costs_a_little() {
        assert!(strength(Confidence::High) * NESTED > strength(Confidence::Medium));
        assert!(strength(Confidence::Medium) * NESTED * NESTED > USUAL);
        assert!(USUAL * NESTED > strength(Confidence::Low));
    }
}
