//! One command: its program (catalogue entry, path check), its arguments read with the entry's
//! grammar, the values that are artefacts or commands of their own, the registry keys it
//! touches, and the patterns of its entry and of the libraries it names.

use std::collections::HashSet;

use base64::Engine;

use super::shapes::{self, Shape};
use super::{
    Argument, Artefact, Ctx, Evidence, Explanation, Found, Note, ProgramFacts, Span, USUAL, empty,
    section_name,
};
use crate::Result;
use crate::cmdline::cmd::Segment;
use crate::cmdline::{Mapped, argv};
use crate::model::Entity;
use crate::source::curated::{Binary, BinaryKind};
use crate::source::grammar::{Pattern, RegistryOp, Section, Switch, Trait, TraitId, ValueKind};

/// The usual techniques of a program that wraps another command, against those of the command
/// it wraps (which count `NESTED`, more than this).
const WRAPPED: f32 = 0.9;

/// Arguments of one command beyond this many are not read (a pasted log is not a command).
const MAX_ARGS: usize = 512;
/// Artefacts listed for one part at most.
const MAX_ARTEFACTS: usize = 256;

/// `C:\Windows\System32\schtasks.exe` -> `schtasks.exe`.
pub(super) fn base_name(word: &str) -> &str {
    let w = word.trim_matches(|c| c == '"' || c == '\'');
    w.rsplit(['\\', '/']).next().unwrap_or(w)
}

/// Whether `word` names a program whose arguments are PowerShell code (powershell, pwsh).
pub(super) fn is_script_host(ctx: &mut Ctx, word: &str) -> Result<bool> {
    Ok(ctx
        .program(base_name(word))?
        .and_then(|e| {
            e.binary
                .as_ref()
                .map(|b| b.grammar.rest == ValueKind::RestScript)
        })
        .unwrap_or(false))
}

/// Whether `switch` of the program `word` takes the rest of the line as a command of its own
/// (`cmd /c`, `cmd /k`): the catalogue's grammar says so.
pub(super) fn runs_rest_command(ctx: &mut Ctx, word: &str, switch: &str) -> Result<bool> {
    Ok(ctx
        .program(base_name(word))?
        .and_then(|e| {
            e.binary.as_ref().map(|b| {
                find_switch(&b.switches, switch, b.grammar.prefixes)
                    .is_some_and(|sw| sw.value == ValueKind::RestCommand)
            })
        })
        .unwrap_or(false))
}

/// What the walk over the arguments collects for the registry rules.
#[derive(Default)]
pub(super) struct RegistryUse {
    pub(super) op: Option<RegistryOp>,
    pub(super) key: Option<(String, Span)>,
    pub(super) value: Option<String>,
    pub(super) data: Option<Mapped>,
}

impl Ctx<'_> {
    /// The catalogue entry of a program name, looked up once per explain.
    pub(super) fn program(&mut self, name: &str) -> Result<Option<std::rc::Rc<Entity>>> {
        let key = name.to_lowercase();
        if let Some(e) = self.programs.get(&key) {
            return Ok(e.clone());
        }
        let e = crate::query::program(self.kb, &key)?
            .filter(|e| e.binary.is_some())
            .map(std::rc::Rc::new);
        self.programs.insert(key, e.clone());
        Ok(e)
    }

    pub(super) fn command(
        &mut self,
        seg: &Segment,
        depth: usize,
        decoded: bool,
    ) -> Result<Explanation> {
        let text = &seg.text;
        let mut e = empty(&text.text, "command");
        let mut found = Found::default();
        let mut args = argv::split(text);
        join_unquoted_program(&mut args);
        if args.len() > MAX_ARGS {
            args.truncate(MAX_ARGS);
            e.truncated = true;
        }
        let Some(prog) = args.first() else {
            self.redirects(seg, decoded, &mut e, &mut found);
            e.techniques = found.into_hits();
            return Ok(e);
        };
        let written = prog.text.text.clone();
        let name = base_name(&written).to_string();
        let mut renamed = false;
        let mut entity = self.program(&name)?;
        if entity.is_none() {
            let lower = text.text.to_lowercase();
            let tell = self
                .data
                .telltales
                .iter()
                .find(|(t, _)| lower.contains(t.as_str()))
                .map(|(_, id)| id.clone());
            if let Some(id) = tell {
                entity = self.program(&id)?;
                renamed = entity.is_some();
            }
        }
        e.program_as_written = Some(written.clone());
        let prog_span = self.span(decoded, prog.text.span());
        e.arguments.push(Argument {
            raw: written.clone(),
            role: "program".into(),
            switch: None,
            value: None,
            value_kind: None,
            meaning: None,
            start: prog_span.start,
            end: prog_span.end,
        });
        let binary = entity.as_ref().and_then(|x| x.binary.clone());
        match &binary {
            Some(b) => {
                e.program = Some(b.id.clone());
                e.arguments[0].meaning = Some(self.text(&b.summary_en, &b.summary_ja));
                e.catalogue = Some(self.facts(entity.as_deref(), b, &written, renamed));
                // Only Windows' own programs have one true place; a portable tool lives anywhere.
                if b.ships_with_windows
                    && let Some(false) = e.catalogue.as_ref().and_then(|c| c.path_matches)
                {
                    self.add_trait(
                        TraitId::UnexpectedPath,
                        &written,
                        Some(prog_span),
                        &mut found,
                        &mut e,
                    );
                }
            }
            None => {
                e.assessment.push(Note {
                    kind: "assess".into(),
                    text: self.text(
                        &format!("{name} is not in kb's catalogue of Windows programs and attack tools: judge it by its path, signer and what it does."),
                        &format!("{name} は kb のカタログ (Windows のプログラムと攻撃ツール) にありません。パス、署名者、動作から判断してください。"),
                    ),
                });
                // Only for the command the analyst pasted: nested unknowns (the payload) are
                // artefacts, and a search per payload would cost more than the explain.
                if depth == 0 {
                    self.related(&name, &mut e)?;
                }
            }
        }
        if written.contains(['\\', '/']) {
            self.file_artefact(&written, prog_span, &mut found, &mut e, true);
            // The program itself is not an artefact to list twice when it is a known one.
            if binary.is_some() {
                e.artefacts
                    .retain(|a| a.value != written || a.kind != "file");
            }
        }
        let switches: &[Switch] = binary.as_ref().map_or(&[], |b| b.switches.as_slice());
        let prefixes = binary.as_ref().is_some_and(|b| b.grammar.prefixes);
        let rest = binary.as_ref().map_or(ValueKind::None, |b| b.grammar.rest);
        let mut present: Vec<String> = Vec::new();
        let mut registry = RegistryUse::default();
        let mut libraries: Vec<std::rc::Rc<Entity>> = Vec::new();
        let mut i = 1;
        while i < args.len() {
            // A program's own flags may stand between a switch and its value (`certutil
            // -addstore -f root`, `msiexec /i /q x.msi`): the value is the first plain word
            // after them, so it is moved next to its switch and the flags are read after it.
            if is_switch_like(&args[i].text.text) {
                let (name_part, attached) = split_switch(&args[i].text, switches);
                let wants_value = attached.is_none()
                    && find_switch(switches, &name_part.text, prefixes)
                        .is_some_and(|sw| sw.value.takes_value() && !sw.value.is_rest());
                if wants_value {
                    let is_flag = |x: &argv::Arg| {
                        if !is_switch_like(&x.text.text) {
                            return false;
                        }
                        let (n, att) = split_switch(&x.text, switches);
                        att.is_none()
                            && find_switch(switches, &n.text, prefixes)
                                .is_some_and(|sw| !sw.value.takes_value())
                    };
                    let mut j = i + 1;
                    while j < args.len() && is_flag(&args[j]) {
                        j += 1;
                    }
                    if j > i + 1 && j < args.len() && !is_switch_like(&args[j].text.text) {
                        args[i + 1..=j].rotate_right(1);
                    }
                }
            }
            let a = &args[i];
            let t = a.text.text.as_str();
            let span = self.span(decoded, a.raw);
            if is_switch_like(t) {
                let (name_part, attached) = split_switch(&a.text, switches);
                let Some(sw) = find_switch(switches, &name_part.text, prefixes) else {
                    e.arguments.push(arg(t, "switch", None, None, None, span));
                    if let Some(v) = attached {
                        self.shape_artefact(
                            &v.text,
                            self.span(decoded, v.span()),
                            &mut found,
                            &mut e,
                        );
                    }
                    i += 1;
                    continue;
                };
                present.push(sw.name.to_lowercase());
                self.switch_evidence(sw, span, &mut found);
                let mut consumed = 1;
                let value: Option<Mapped> = if !sw.value.takes_value() {
                    None
                } else if let Some(v) = attached {
                    Some(v)
                } else if sw.value.is_rest() {
                    consumed = args.len() - i;
                    rest_of(text, &args, i + 1, sw.value)
                } else if let Some(n) = args.get(i + 1) {
                    consumed = 2;
                    Some(n.text.clone())
                } else {
                    None
                };
                let vspan = value
                    .as_ref()
                    .map(|v| self.value_span(decoded, v, &args, i));
                e.arguments.push(Argument {
                    raw: t.to_string(),
                    role: "switch".into(),
                    switch: Some(sw.name.clone()),
                    value: value.as_ref().map(|v| v.text.clone()),
                    value_kind: sw.value.takes_value().then(|| sw.value.slug().to_string()),
                    meaning: Some(self.text(&sw.en, &sw.ja)),
                    start: span.start,
                    end: vspan.map_or(span.end, |v| v.end.max(span.end)),
                });
                if let Some(v) = value {
                    let vs = vspan.unwrap_or(span);
                    self.value(
                        sw,
                        &v,
                        vs,
                        depth,
                        decoded,
                        &mut registry,
                        &mut found,
                        &mut e,
                    )?;
                }
                if let Some(op) = sw.registry {
                    registry.op = Some(op);
                }
                i += consumed;
                continue;
            }
            // Bare words: a verb, the start of a nested command, or a positional value.
            if let Some((sw, words)) = find_verb(switches, &args, i) {
                present.push(sw.name.to_lowercase());
                let end_arg = &args[i + words - 1];
                let vspan = self.span(decoded, (a.raw.0, end_arg.raw.1));
                self.switch_evidence(sw, vspan, &mut found);
                if let Some(op) = sw.registry {
                    registry.op = Some(op);
                }
                let value = if sw.value.is_rest() {
                    rest_of(text, &args, i + words, sw.value)
                } else if sw.value.takes_value() {
                    args.get(i + words).map(|n| n.text.clone())
                } else {
                    None
                };
                e.arguments.push(Argument {
                    raw: text.text[a.at.0..end_arg.at.1.min(text.text.len())].to_string(),
                    role: "verb".into(),
                    switch: Some(sw.name.clone()),
                    value: value.as_ref().map(|v| v.text.clone()),
                    value_kind: sw.value.takes_value().then(|| sw.value.slug().to_string()),
                    meaning: Some(self.text(&sw.en, &sw.ja)),
                    start: vspan.start,
                    end: vspan.end,
                });
                let mut consumed = words;
                if let Some(v) = value {
                    let vs = self.span(decoded, v.span());
                    consumed = if sw.value.is_rest() {
                        args.len() - i
                    } else {
                        words + 1
                    };
                    self.value(
                        sw,
                        &v,
                        vs,
                        depth,
                        decoded,
                        &mut registry,
                        &mut found,
                        &mut e,
                    )?;
                }
                i += consumed;
                continue;
            }
            if rest.is_rest() && !t.starts_with("\\\\") {
                let Some(m) = rest_of(text, &args, i, rest) else {
                    break;
                };
                let script = rest == ValueKind::RestScript;
                e.arguments.push(arg(
                    &m.text,
                    "command",
                    None,
                    Some(if script { "script" } else { "command" }),
                    None,
                    self.span(decoded, m.span()),
                ));
                if let Some(n) = self.nested(&m, depth + 1, decoded, script, &written)? {
                    e.nested.push(n);
                }
                break;
            }
            e.arguments
                .push(arg(t, "positional", None, None, None, span));
            if let Some(lib) = self.library(t)? {
                libraries.push(lib);
            }
            self.shape_artefact(t, self.span(decoded, a.text.span()), &mut found, &mut e);
            // A quoted argument of an unknown program that is itself a command line.
            if binary.is_none() && a.quoted && t.contains(' ') {
                let first = argv::split(&a.text);
                if let Some(f) = first.first()
                    && self.program(base_name(&f.text.text))?.is_some()
                    && let Some(n) = self.nested(&a.text, depth + 1, decoded, false, t)?
                {
                    e.nested.push(n);
                }
            }
            i += 1;
        }
        if let Some(b) = &binary {
            self.absent(b, &present, &mut e);
        }
        self.registry(&registry, depth, decoded, &mut found, &mut e)?;
        self.redirects(seg, decoded, &mut e, &mut found);
        // Patterns of the program's entry and of the libraries and scripts it names. They see
        // the command's redirections too (`type x > \\server\share\x` is an upload).
        let mut lower = text.text.to_lowercase();
        for r in &seg.redirects {
            lower.push_str(&format!(" {} {}", r.op, r.target.text.to_lowercase()));
        }
        let mut seen = HashSet::new();
        if let Some(b) = &binary {
            seen.insert(b.id.clone());
            for p in &b.patterns {
                self.pattern(p, &lower, text, decoded, 1.0, &mut found, &mut e);
            }
        }
        for lib in &libraries {
            let Some(lb) = &lib.binary else { continue };
            if !seen.insert(lb.id.clone()) {
                continue;
            }
            for p in &lb.patterns {
                self.pattern(p, &lower, text, decoded, 1.0, &mut found, &mut e);
            }
            self.usual(lb, USUAL * super::NESTED, &mut found);
        }
        // A wrapper (cmd /c, powershell -Command, wsl -e) is how the command ran, not what it
        // did: its usual techniques go below those of the command it wraps.
        let wrapper = e
            .nested
            .iter()
            .any(|n| n.kind == "script" || n.program.is_some());
        let usual = if wrapper { USUAL * WRAPPED } else { USUAL };
        if let Some(b) = &binary {
            self.usual(b, usual, &mut found);
            let items = match self.lang {
                super::Lang::En => &b.investigate.en,
                super::Lang::Ja => &b.investigate.ja,
            };
            e.investigate.extend(items.iter().cloned());
        }
        e.techniques = found.into_hits();
        Ok(e)
    }

    fn facts(
        &self,
        entity: Option<&Entity>,
        b: &Binary,
        written: &str,
        renamed: bool,
    ) -> ProgramFacts {
        let with_path = written.contains(['\\', '/']);
        let path_matches = (with_path && !b.paths.is_empty()).then(|| {
            let w = expand_env(written);
            b.paths.iter().any(|p| expand_env(p) == w)
        });
        let (en, ja) = b.kind.label();
        ProgramFacts {
            name: entity.map_or_else(|| b.id.clone(), |x| x.name.clone()),
            name_ja: Some(b.name_ja.clone()),
            kind: b.kind.slug().to_string(),
            kind_label: self.text(en, ja),
            summary: self.text(&b.summary_en, &b.summary_ja),
            legit: self.text(&b.legit_en, &b.legit_ja),
            expected_paths: b.paths.clone(),
            ships_with_windows: b.ships_with_windows,
            signer: b.signer.clone(),
            path_used: with_path.then(|| written.to_string()),
            path_matches,
            renamed,
        }
    }

    /// A program's usual techniques, in its entry's order, the first scoring `top`.
    fn usual(&self, b: &Binary, top: f32, found: &mut Found) {
        for (k, t) in b.techniques.iter().enumerate() {
            found.evidence.push(Evidence {
                technique: t.id.clone(),
                score: top - 0.01 * k as f32,
                confidence: "usual".into(),
                reason: self.text(&t.why_en, &t.why_ja),
                span: None,
            });
        }
    }

    fn related(&self, name: &str, e: &mut Explanation) -> Result<()> {
        // One word only: a search of several words may read them as a command line and
        // explain it, which would come back here.
        if crate::text::split_command_line(name).len() != 1 {
            return Ok(());
        }
        let req = crate::query::SearchRequest {
            query: name.to_string(),
            limit: 5,
            ..Default::default()
        };
        e.related = crate::query::search(self.kb, &req)?
            .results
            .into_iter()
            .map(|h| h.stored)
            .collect();
        Ok(())
    }

    fn value_span(&self, decoded: bool, v: &Mapped, args: &[argv::Arg], i: usize) -> Span {
        // A value in the next argument is underlined with its quotes.
        match args.get(i + 1) {
            Some(n) if n.text == *v => self.span(decoded, n.raw),
            _ => self.span(decoded, v.span()),
        }
    }

    fn switch_evidence(&self, sw: &Switch, span: Span, found: &mut Found) {
        let why = self.text(&sw.en, &sw.ja);
        found.add(sw.technique.as_deref(), sw.confidence, &why, Some(span));
        found.confirm_as(&sw.tactics, &why, false);
    }

    /// What a switch's value is: an artefact, a registry part, a command to explain in turn;
    /// and what its particular value means.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn value(
        &mut self,
        sw: &Switch,
        v: &Mapped,
        span: Span,
        depth: usize,
        decoded: bool,
        registry: &mut RegistryUse,
        found: &mut Found,
        e: &mut Explanation,
    ) -> Result<()> {
        let lower = v.text.to_lowercase();
        for rule in &sw.values {
            let hit = rule.equals.iter().any(|x| x.to_lowercase() == lower)
                || rule
                    .contains
                    .iter()
                    .any(|x| lower.contains(&x.to_lowercase()));
            if !hit {
                continue;
            }
            let why = self.text(&rule.en, &rule.ja);
            found.add(rule.technique.as_deref(), rule.confidence, &why, Some(span));
            found.confirm(&rule.tactics, &why);
            e.assessment.push(Note {
                kind: section_name(rule.section).into(),
                text: format!("{} {}: {why}", sw.name.trim_start_matches('#'), v.text),
            });
        }
        let kind = match sw.value {
            ValueKind::File => Some("file"),
            ValueKind::Url => Some("url"),
            ValueKind::Host => Some("host"),
            ValueKind::Account => Some("account"),
            ValueKind::Task => Some("task"),
            ValueKind::Service => Some("service"),
            ValueKind::Time => Some("time"),
            ValueKind::Process => Some("process"),
            _ => None,
        };
        // A path argument that names a registry key (New-Item HKCU:\...) is one.
        let kind_of_value = match sw.value {
            ValueKind::File | ValueKind::Text if shapes::normalize_key(&v.text).is_some() => {
                ValueKind::RegistryKey
            }
            k => k,
        };
        match kind_of_value {
            ValueKind::File => self.file_artefact(&v.text, span, found, e, false),
            ValueKind::Url | ValueKind::Host => {
                push_artefact(e, kind.unwrap_or("url"), &v.text, span, Vec::new());
                self.url_traits(&v.text, span, found, e);
            }
            ValueKind::RegistryKey if shapes::normalize_key(&v.text).is_some() => {
                registry.key = Some((v.text.clone(), span));
            }
            ValueKind::RegistryKey => self.shape_artefact(&v.text, span, found, e),
            ValueKind::RegistryValue => registry.value = Some(v.text.clone()),
            ValueKind::RegistryData => {
                registry.data = Some(v.clone());
                self.shape_artefact(&v.text, span, found, e);
            }
            ValueKind::Command | ValueKind::RestCommand => {
                let inner = strip_cmd_quotes(v);
                // A bare program path is listed by the nested part as a file.
                if inner.text.trim().contains(' ') {
                    push_artefact(e, "command", &inner.text, span, Vec::new());
                }
                if let Some(n) = self.nested(&inner, depth + 1, decoded, false, &sw.name)? {
                    e.nested.push(n);
                }
            }
            // Already unquoted by the C runtime rules (`rest_of` for the rest of a line).
            ValueKind::Script | ValueKind::RestScript => {
                if let Some(n) = self.nested(v, depth + 1, decoded, true, &sw.name)? {
                    e.nested.push(n);
                }
            }
            ValueKind::EncodedScript => {
                if let Some(script) = decode_powershell(&v.text) {
                    let m = Mapped::detached(&script);
                    if let Some(n) = self.nested(&m, depth + 1, true, true, &sw.name)? {
                        e.nested.push(n);
                    }
                }
            }
            ValueKind::Text | ValueKind::Number | ValueKind::Password | ValueKind::None => {
                if sw.value == ValueKind::Text {
                    self.shape_artefact(&v.text, span, found, e);
                }
            }
            _ => {
                if let Some(k) = kind {
                    push_artefact(e, k, &v.text, span, Vec::new());
                }
            }
        }
        Ok(())
    }

    /// A catalogue library or script named by an argument (`comsvcs.dll,` in rundll32's).
    fn library(&mut self, word: &str) -> Result<Option<std::rc::Rc<Entity>>> {
        let w = word.split(',').next().unwrap_or(word);
        let name = base_name(w);
        let lower = name.to_ascii_lowercase();
        let code = [
            ".dll", ".ocx", ".cpl", ".vbs", ".js", ".wsf", ".ps1", ".bat", ".cmd",
        ];
        if !code.iter().any(|x| lower.ends_with(x)) {
            return Ok(None);
        }
        Ok(self.program(name)?.filter(|e| {
            e.binary
                .as_ref()
                .is_some_and(|b| matches!(b.kind, BinaryKind::Library | BinaryKind::Script))
        }))
    }

    fn absent(&self, b: &Binary, present: &[String], e: &mut Explanation) {
        for sw in &b.switches {
            let (Some(when), Some(en), Some(ja)) = (&sw.absent_when, &sw.absent_en, &sw.absent_ja)
            else {
                continue;
            };
            let this = std::iter::once(&sw.name)
                .chain(&sw.aliases)
                .any(|n| present.contains(&n.to_lowercase()));
            if !this && present.contains(&when.to_lowercase()) {
                e.assessment.push(Note {
                    kind: "does".into(),
                    text: self.text(en, ja),
                });
            }
        }
    }

    /// A pattern over one command's text (lower-cased): substrings first, the regex last.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn pattern(
        &self,
        p: &Pattern,
        lower: &str,
        text: &Mapped,
        decoded: bool,
        factor: f32,
        found: &mut Found,
        e: &mut Explanation,
    ) {
        let Some(at) = pattern_match(p, lower) else {
            return;
        };
        let span = at.map(|(s, n)| self.span(decoded, text.span_of(s, s + n)));
        let why = self.text(&p.en, &p.ja);
        if p.technique.is_some() {
            found.add(p.technique.as_deref(), p.confidence, &why, span);
            if factor < 1.0
                && let Some(last) = found.evidence.last_mut()
            {
                last.score *= factor;
            }
        }
        found.confirm(&p.tactics, &why);
        if p.technique.is_none() || p.section != Section::Does {
            e.assessment.push(Note {
                kind: section_name(p.section).into(),
                text: why,
            });
        }
    }

    pub(super) fn registry(
        &mut self,
        r: &RegistryUse,
        depth: usize,
        decoded: bool,
        found: &mut Found,
        e: &mut Explanation,
    ) -> Result<()> {
        let Some((key, span)) = &r.key else {
            return Ok(());
        };
        let Some(norm) = shapes::normalize_key(key) else {
            return Ok(());
        };
        let op = r.op.unwrap_or(RegistryOp::Write);
        let value = r.value.as_deref().map(str::to_lowercase);
        let data = r.data.as_ref().map(|d| d.text.to_lowercase());
        let mut notes = Vec::new();
        let mut nested_done = false;
        for rule in &self.data.registry {
            if !rule.ops.contains(&op) {
                continue;
            }
            let Some(rk) = rule
                .keys
                .iter()
                .filter_map(|k| shapes::normalize_key(k))
                .find(|k| {
                    shapes::key_covers(k, &norm) || {
                        // The value name may be written as the key's last part (PowerShell paths).
                        value.is_none()
                            && !rule.values.is_empty()
                            && norm
                                .rsplit_once('\\')
                                .is_some_and(|(parent, _)| shapes::key_covers(k, parent))
                    }
                })
            else {
                continue;
            };
            let value_name = value
                .clone()
                .or_else(|| norm.rsplit('\\').next().map(str::to_string));
            if !rule.values.is_empty()
                && !rule
                    .values
                    .iter()
                    .any(|v| value_name.as_deref() == Some(v.to_lowercase().as_str()))
            {
                continue;
            }
            if !rule.data.is_empty()
                && !rule.data.iter().any(|d| {
                    data.as_deref()
                        .is_some_and(|x| x.contains(&d.to_lowercase()))
                })
            {
                continue;
            }
            let why = self.text(&rule.en, &rule.ja);
            // More specific rules (a value, data, a longer key) lead among equals.
            // (Not by key length: across `reg save … & reg save …` the first command leads.)
            let bonus = 0.05 * f32::from(u8::from(!rule.values.is_empty()))
                + 0.05 * f32::from(u8::from(!rule.data.is_empty()))
                + 0.01 * f32::from(u8::from(rk.contains('*') || rk.matches('\\').count() > 3));
            found.add(
                rule.technique.as_deref(),
                rule.confidence,
                &why,
                Some(*span),
            );
            if rule.technique.is_some()
                && let Some(last) = found.evidence.last_mut()
            {
                last.score += bonus;
            }
            found.confirm(&rule.tactics, &why);
            notes.push(why);
            let items = match self.lang {
                super::Lang::En => &rule.investigate_en,
                super::Lang::Ja => &rule.investigate_ja,
            };
            e.investigate.extend(items.iter().cloned());
            if rule.data_is_command
                && !nested_done
                && let Some(d) = &r.data
            {
                nested_done = true;
                if let Some(n) = self.nested(d, depth + 1, decoded, false, "registry data")? {
                    e.nested.push(n);
                }
            }
        }
        push_artefact(e, "registry-key", key, *span, notes);
        if let Some(v) = &r.value {
            push_artefact(e, "registry-value", v, *span, Vec::new());
        }
        Ok(())
    }

    fn redirects(&mut self, seg: &Segment, decoded: bool, e: &mut Explanation, found: &mut Found) {
        for r in &seg.redirects {
            let span = self.span(decoded, r.target.span());
            e.arguments.push(arg(
                &format!("{} {}", r.op, r.target.text),
                "redirect",
                None,
                Some("file"),
                None,
                span,
            ));
            self.file_artefact(&r.target.text, span, found, e, false);
        }
    }

    /// An argument whatever its switch: artefacts by shape.
    pub(super) fn shape_artefact(
        &mut self,
        t: &str,
        span: Span,
        found: &mut Found,
        e: &mut Explanation,
    ) {
        let Some(shape) = shapes::classify(t) else {
            return;
        };
        match shape {
            Shape::File => self.file_artefact(t, span, found, e, false),
            Shape::Url | Shape::Unc => {
                push_artefact(e, shape.kind(), t, span, Vec::new());
                self.url_traits(t, span, found, e);
            }
            Shape::Domain => {
                push_artefact(e, shape.kind(), t, span, Vec::new());
                self.host_traits(t, span, found, e);
            }
            // 198.51.100.7:443 is the address 198.51.100.7 (the port is in the argument).
            Shape::Ip => {
                let host = t.split([':', '/']).next().unwrap_or(t);
                push_artefact(e, "ip", host, span, Vec::new());
            }
            _ => push_artefact(e, shape.kind(), t, span, Vec::new()),
        }
    }

    fn url_traits(&self, t: &str, span: Span, found: &mut Found, e: &mut Explanation) {
        if let Some((host, ip)) = shapes::host_of(t) {
            push_artefact(e, if ip { "ip" } else { "domain" }, &host, span, Vec::new());
            if ip && t.contains("://") {
                self.add_trait(TraitId::UrlToIp, t, Some(span), found, e);
            }
            self.host_traits(&host, span, found, e);
        } else if shapes::classify(t) == Some(Shape::Domain) {
            // A URL parameter given without its scheme (`irm ifconfig.me`).
            self.host_traits(t, span, found, e);
        }
        if t.starts_with("\\\\") && shapes::admin_share(t) {
            self.add_trait(TraitId::RemoteShare, t, Some(span), found, e);
        }
    }

    /// A file path: its folder class, an alternate data stream, code in a user-writable place.
    pub(super) fn file_artefact(
        &self,
        path: &str,
        span: Span,
        found: &mut Found,
        e: &mut Explanation,
        is_program: bool,
    ) {
        let path = path.trim_matches(|c| c == '"' || c == '\'' || c == ',');
        if path.is_empty() {
            return;
        }
        let mut notes = Vec::new();
        let loc = shapes::location(&self.data.locations, path);
        if let Some(l) = loc {
            let why = self.text(&l.en, &l.ja);
            // A folder class with a technique (Office start-up folders, mail stores) is
            // evidence for any program that names a file there, not only for copy or move.
            if l.technique.is_some() {
                found.add(l.technique.as_deref(), l.confidence, &why, Some(span));
                found.confirm(&l.tactics, &why);
            }
            notes.push(why);
        }
        push_artefact(e, "file", path, span, notes);
        if path.starts_with("\\\\") {
            self.url_traits(path, span, found, e);
        }
        if shapes::has_stream(path) {
            self.add_trait(TraitId::AlternateDataStream, path, Some(span), found, e);
        }
        if loc.is_some_and(|l| l.user_writable) && (is_program || shapes::runs_code(path)) {
            self.add_trait(TraitId::ExecutableInUserFolder, path, Some(span), found, e);
        }
    }

    /// The `known-host` traits whose hosts include `host` or a domain it is under.
    fn host_traits(&self, host: &str, span: Span, found: &mut Found, e: &mut Explanation) {
        let host = host
            .trim_matches(|c| c == '"' || c == '\'')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        for t in &self.data.traits {
            let known = t.id == TraitId::KnownHost
                && t.hosts.iter().any(|h| {
                    let h = h.to_ascii_lowercase();
                    host == h || host.ends_with(&format!(".{h}"))
                });
            if known {
                self.trait_found(t, &host, Some(span), found, e);
            }
        }
    }

    pub(super) fn add_trait(
        &self,
        id: TraitId,
        subject: &str,
        span: Option<Span>,
        found: &mut Found,
        e: &mut Explanation,
    ) {
        if let Some(t) = self.data.traits.iter().find(|t| t.id == id) {
            self.trait_found(t, subject, span, found, e);
        }
    }

    fn trait_found(
        &self,
        t: &Trait,
        subject: &str,
        span: Option<Span>,
        found: &mut Found,
        e: &mut Explanation,
    ) {
        let id = t.id;
        let why = self.text(&t.en, &t.ja);
        found.add(t.technique.as_deref(), t.confidence, &why, span);
        found.confirm(&t.tactics, &why);
        let kind = if id == TraitId::ExecutableInUserFolder {
            "suspect"
        } else {
            section_name(t.section)
        };
        let text = format!("{subject} — {why}");
        if !e.assessment.iter().any(|n| n.text == text) {
            e.assessment.push(Note {
                kind: kind.into(),
                text,
            });
        }
    }
}

fn arg(
    raw: &str,
    role: &str,
    value: Option<&str>,
    value_kind: Option<&str>,
    meaning: Option<String>,
    span: Span,
) -> Argument {
    Argument {
        raw: raw.to_string(),
        role: role.to_string(),
        switch: None,
        value: value.map(str::to_string),
        value_kind: value_kind.map(str::to_string),
        meaning,
        start: span.start,
        end: span.end,
    }
}

pub(super) fn push_artefact(
    e: &mut Explanation,
    kind: &str,
    value: &str,
    span: Span,
    notes: Vec<String>,
) {
    let value = value.trim();
    if value.is_empty() || e.artefacts.len() >= MAX_ARTEFACTS {
        return;
    }
    if let Some(a) = e
        .artefacts
        .iter_mut()
        .find(|a| a.kind == kind && a.value == value)
    {
        for n in notes {
            if !a.notes.contains(&n) {
                a.notes.push(n);
            }
        }
        return;
    }
    e.artefacts.push(Artefact {
        kind: kind.to_string(),
        value: value.to_string(),
        start: span.start,
        end: span.end,
        notes,
    });
}

/// `/x`, `-x`, `--x`, `+h`, `binPath=`; not `-` alone, not a negative number, not a path.
fn is_switch_like(t: &str) -> bool {
    let mut c = t.chars();
    match (c.next(), c.next()) {
        (Some('/' | '-' | '+'), Some(n)) => !n.is_ascii_digit() && n != ' ',
        _ => t.len() > 1 && t.ends_with('=') && !t.contains(['\\', '/']),
    }
}

/// The bare name of a switch for comparison: prefixes and case dropped (`/Create`,
/// `-create` and `--create` are one switch; `+h` keeps its plus).
fn bare(name: &str) -> String {
    let n = name.trim_start_matches(['/', '-']);
    n.to_lowercase()
}

/// Splits `/x:value` or `/x=value` into the switch and its attached value. A switch whose
/// name itself ends in `=` (sc.exe's `binPath=`) or holds a `:` keeps it.
fn split_switch(t: &Mapped, switches: &[Switch]) -> (Mapped, Option<Mapped>) {
    let s = &t.text;
    let whole = bare(s);
    if switches.iter().any(|sw| {
        std::iter::once(&sw.name)
            .chain(&sw.aliases)
            .any(|n| bare(n) == whole)
    }) {
        return (t.clone(), None);
    }
    // The value starts after the first ':' or '=' past the switch's own first character.
    let skip = s.len() - s.trim_start_matches(['/', '-', '+']).len();
    match s[skip..].find([':', '=']) {
        Some(p) if p > 0 => {
            let at = skip + p;
            let name_end = if s[at..].starts_with('=')
                && switches.iter().any(|sw| bare(&sw.name) == bare(&s[..=at]))
            {
                at + 1
            } else {
                at
            };
            let value = t.slice(at + 1, s.len());
            (t.slice(0, name_end), (!value.is_empty()).then_some(value))
        }
        _ => (t.clone(), None),
    }
}

fn is_switch_name(n: &str) -> bool {
    n.starts_with(['/', '-', '+']) || (n.ends_with('=') && !n.contains(' '))
}

/// The switch a typed name means: exact (any prefix character), else, for PowerShell-style
/// grammars, the first switch in file order that starts with it.
pub(super) fn find_switch<'a>(
    switches: &'a [Switch],
    typed: &str,
    prefixes: bool,
) -> Option<&'a Switch> {
    let t = bare(typed);
    if t.is_empty() {
        return None;
    }
    let names = |sw: &'a Switch| std::iter::once(&sw.name).chain(sw.aliases.iter());
    let plus = typed.starts_with('+');
    let same_kind = |n: &String| is_switch_name(n) && n.starts_with('+') == plus;
    switches
        .iter()
        .find(|sw| names(sw).any(|n| same_kind(n) && bare(n) == t))
        .or_else(|| {
            prefixes
                .then(|| {
                    switches
                        .iter()
                        .find(|sw| names(sw).any(|n| same_kind(n) && bare(n).starts_with(&t)))
                })
                .flatten()
        })
}

/// A verb (`delete shadows`, `process call create`) starting at argument `i`: the longest
/// match of consecutive bare words, or one quoted argument equal to the verb.
fn find_verb<'a>(
    switches: &'a [Switch],
    args: &[argv::Arg],
    i: usize,
) -> Option<(&'a Switch, usize)> {
    let mut best: Option<(&Switch, usize)> = None;
    for sw in switches {
        for name in std::iter::once(&sw.name).chain(&sw.aliases) {
            if is_switch_name(name) {
                continue;
            }
            let words: Vec<&str> = name.split_whitespace().collect();
            let n = words.len();
            let matches_words = args.len() >= i + n
                && words
                    .iter()
                    .zip(&args[i..i + n])
                    .all(|(w, a)| a.text.text.eq_ignore_ascii_case(w));
            let matches_one = args[i].text.text.eq_ignore_ascii_case(name);
            let len = if matches_words {
                n
            } else if matches_one {
                1
            } else {
                0
            };
            if len > 0 && best.is_none_or(|(_, b)| len > b) {
                best = Some((sw, len));
            }
        }
    }
    best
}

/// Whether a pattern matches, and where its first literal stands (for the span).
pub(super) fn pattern_match(p: &Pattern, lower: &str) -> Option<Option<(usize, usize)>> {
    let mut at = None;
    for s in &p.all {
        let s = s.to_lowercase();
        let pos = lower.find(&s)?;
        at.get_or_insert((pos, s.len()));
    }
    if !p.any.is_empty() {
        let hit = p.any.iter().find_map(|s| {
            let s = s.to_lowercase();
            lower.find(&s).map(|pos| (pos, s.len()))
        })?;
        at.get_or_insert(hit);
    }
    if p.none.iter().any(|s| lower.contains(&s.to_lowercase())) {
        return None;
    }
    if let Some(re) = &p.regex {
        let re = regex::RegexBuilder::new(re)
            .case_insensitive(true)
            .size_limit(1 << 20)
            .build()
            .ok()?;
        let m = re.find(lower)?;
        at.get_or_insert((m.start(), m.len()));
    }
    Some(at)
}

/// `C:\Program Files (x86)\x\a.exe --flag` unquoted: Windows (CreateProcess) tries the path
/// up to each space in turn until a file exists; kb cannot look, so it takes the first run of
/// words that ends in a program's extension.
fn join_unquoted_program(args: &mut Vec<argv::Arg>) {
    let Some(first) = args.first() else {
        return;
    };
    let t = first.text.text.to_ascii_lowercase();
    let is_path = t.len() > 2 && t.as_bytes()[1] == b':' && t.contains('\\');
    if first.quoted || !is_path || shapes::extension(&t).is_some() {
        return;
    }
    let ends = |a: &argv::Arg| {
        shapes::extension(&a.text.text.to_ascii_lowercase())
            .is_some_and(|e| ["exe", "com", "bat", "cmd"].contains(&e))
    };
    let Some(k) = args.iter().take(8).position(ends) else {
        return;
    };
    if k == 0 {
        return;
    }
    let parts: Vec<&Mapped> = args[..=k].iter().map(|a| &a.text).collect();
    let joined = argv::Arg {
        text: Mapped::join(&parts),
        raw: (args[0].raw.0, args[k].raw.1),
        at: (args[0].at.0, args[k].at.1),
        quoted: false,
    };
    args.splice(..=k, [joined]);
}

/// Everything from argument `from` on. A command for cmd.exe is the text as written (cmd reads
/// it itself); PowerShell code is what powershell.exe sees: its arguments unquoted by the C
/// runtime rules and joined by spaces (so `\"` inside -Command is a quote).
fn rest_of(text: &Mapped, args: &[argv::Arg], from: usize, kind: ValueKind) -> Option<Mapped> {
    let first = args.get(from)?;
    if kind == ValueKind::RestScript {
        let parts: Vec<&Mapped> = args[from..].iter().map(|a| &a.text).collect();
        return Some(Mapped::join(&parts));
    }
    Some(text.slice(first.at.0, text.text.len()))
}

/// cmd.exe's rule for the text after /c: outer quotes go, unless they just quote one program.
fn strip_cmd_quotes(v: &Mapped) -> Mapped {
    let t = v.text.trim();
    if !(t.starts_with('"') && t.ends_with('"') && t.len() >= 2) {
        return v.clone();
    }
    let inner = &t[1..t.len() - 1];
    let quotes = t.matches('"').count();
    // The quoted text must be a program's name alone: `"reg add …\Run /v x /d C:\u.exe"` ends
    // in `.exe` too, but its switches show it is a whole command, and cmd.exe strips its quotes.
    let one_program = quotes == 2
        && !inner.contains(['&', '<', '>', '(', ')', '@', '^', '|'])
        && !inner
            .split_whitespace()
            .skip(1)
            .any(|w| w.starts_with(['/', '-']))
        && shapes::extension(&inner.to_ascii_lowercase())
            .is_some_and(|e| ["exe", "com", "bat", "cmd"].contains(&e));
    if one_program {
        return v.clone();
    }
    let lead = v.text.len() - v.text.trim_start().len();
    v.slice(lead + 1, lead + t.len() - 1)
}

/// The script behind `-EncodedCommand`: base64 of UTF-16LE (or, from some tools, UTF-8).
pub(super) fn decode_powershell(b64: &str) -> Option<String> {
    let clean: String = b64
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
        .collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let bytes = engine.decode(clean.as_bytes()).ok()?;
    if bytes.len() >= 2
        && bytes.len() % 2 == 0
        && bytes.iter().skip(1).step_by(2).filter(|b| **b == 0).count() * 2 >= bytes.len() / 2
    {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        return Some(String::from_utf16_lossy(&units));
    }
    let s = String::from_utf8(bytes).ok()?;
    s.chars()
        .all(|c| !c.is_control() || c.is_whitespace())
        .then_some(s)
}

/// A path with its usual environment variables spelled out, lower case, for comparison.
fn expand_env(p: &str) -> String {
    let mut s = p.trim_matches('"').to_ascii_lowercase().replace('/', "\\");
    for (var, val) in [
        ("%systemroot%", "c:\\windows"),
        ("%windir%", "c:\\windows"),
        ("%programfiles%", "c:\\program files"),
        ("%programfiles(x86)%", "c:\\program files (x86)"),
        ("%systemdrive%", "c:"),
    ] {
        s = s.replace(var, val);
    }
    if !s.ends_with(".exe") && !s.contains('.') {
        s.push_str(".exe");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_split_from_attached_values() {
        let m = Mapped::new("/i:http://x/a.sct", 0);
        let (n, v) = split_switch(&m, &[]);
        assert_eq!(n.text, "/i");
        assert_eq!(v.map(|v| v.text).as_deref(), Some("http://x/a.sct"));
        let m = Mapped::new("-r:10.0.0.5", 0);
        assert_eq!(split_switch(&m, &[]).0.text, "-r");
        assert!(is_switch_like("+h"));
        assert!(is_switch_like("binPath="));
        assert!(!is_switch_like("-5"));
        assert!(!is_switch_like(r"C:\x"));
    }

    #[test]
    fn cmd_keeps_quotes_that_name_one_program() {
        let v = Mapped::new(r#""echo hi > a.txt:b""#, 0);
        assert_eq!(strip_cmd_quotes(&v).text, "echo hi > a.txt:b");
        let v = Mapped::new(r#""C:\a b\x.exe""#, 0);
        assert_eq!(strip_cmd_quotes(&v).text, r#""C:\a b\x.exe""#);
    }

    #[test]
    fn encoded_commands_decode_from_utf16() {
        let s = decode_powershell("dwBoAG8AYQBtAGkA").unwrap();
        assert_eq!(s, "whoami");
        assert!(decode_powershell("%%%").is_none());
    }
}
