//! PowerShell code: each command of the script read with its cmdlet's parameters (kb/powershell),
//! external programs explained as command lines, and the script-wide patterns (.NET calls,
//! download cradles) over the whole text.

use super::command::base_name;
use super::{Argument, Ctx, Explanation, Found, empty};
use crate::Result;
use crate::cmdline::Mapped;
use crate::cmdline::powershell::{self, Command, Token, TokenKind};
use crate::source::grammar::{Cmdlet, Confidence, ExplainData, ValueKind};

/// At most this many commands of one script are read, and this many tokens of each.
const MAX_COMMANDS: usize = 256;
const MAX_TOKENS: usize = 512;

/// PowerShell's approved verbs that start most cmdlet and function names (Verb-Noun).
const VERBS: &[&str] = &[
    "add",
    "approve",
    "assert",
    "backup",
    "block",
    "checkpoint",
    "clear",
    "close",
    "compare",
    "complete",
    "compress",
    "confirm",
    "connect",
    "convert",
    "convertfrom",
    "convertto",
    "copy",
    "debug",
    "deny",
    "disable",
    "disconnect",
    "dismount",
    "edit",
    "enable",
    "enter",
    "exit",
    "expand",
    "export",
    "find",
    "format",
    "get",
    "grant",
    "group",
    "hide",
    "import",
    "initialize",
    "install",
    "invoke",
    "join",
    "limit",
    "lock",
    "measure",
    "merge",
    "mount",
    "move",
    "new",
    "open",
    "optimize",
    "out",
    "ping",
    "pop",
    "protect",
    "publish",
    "push",
    "read",
    "receive",
    "redo",
    "register",
    "remove",
    "rename",
    "repair",
    "request",
    "reset",
    "resize",
    "resolve",
    "restart",
    "restore",
    "resume",
    "revoke",
    "save",
    "search",
    "select",
    "send",
    "set",
    "show",
    "skip",
    "split",
    "start",
    "step",
    "stop",
    "submit",
    "suspend",
    "switch",
    "sync",
    "test",
    "trace",
    "unblock",
    "undo",
    "uninstall",
    "unlock",
    "unprotect",
    "unpublish",
    "unregister",
    "update",
    "use",
    "wait",
    "watch",
    "where",
    "write",
    "foreach",
    "sort",
    "tee",
];

fn find_cmdlet<'a>(data: &'a ExplainData, name: &str) -> Option<&'a Cmdlet> {
    data.cmdlets.iter().find(|c| {
        c.name.eq_ignore_ascii_case(name) || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

fn verb_noun(w: &str) -> bool {
    let Some((verb, noun)) = w.split_once('-') else {
        return false;
    };
    VERBS.contains(&verb.to_ascii_lowercase().as_str())
        && !noun.is_empty()
        && noun.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A line that is PowerShell code rather than a command line: it starts with a variable, a
/// type, a cmdlet (not also a catalogue program) or a Verb-Noun name.
pub(super) fn looks_like_powershell(ctx: &mut Ctx, m: &Mapped) -> bool {
    let t = m.text.trim_start();
    // A variable, a type, or dot-sourcing / calling a script (`. C:\x.ps1`, `& "x.ps1"`).
    if t.starts_with('$') || t.starts_with('[') || t.starts_with(". ") || t.starts_with("& ") {
        return true;
    }
    // `(New-Object Net.WebClient).DownloadFile(…)`, `(Get-Item x).LastWriteTime = …`
    if let Some(inner) = t.strip_prefix('(') {
        let w = inner
            .split(|c: char| c.is_whitespace() || c == ')')
            .next()
            .unwrap_or("");
        if find_cmdlet(ctx.data, w).is_some() || verb_noun(w) {
            return true;
        }
    }
    let first = t
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';' || c == '|')
        .next()
        .unwrap_or("");
    if first.is_empty() || first.contains(['\\', '/', '"']) || first.contains('.') {
        return false;
    }
    if ctx.program(first).ok().flatten().is_some() {
        return false;
    }
    find_cmdlet(ctx.data, first).is_some() || verb_noun(first)
}

impl Ctx<'_> {
    pub(super) fn script(
        &mut self,
        m: &Mapped,
        depth: usize,
        decoded: bool,
    ) -> Result<Explanation> {
        let mut e = empty(&m.text, "script");
        let mut found = Found::default();
        let commands = powershell::commands(m);
        // Each command's cmdlet, looked up once: the pipeline reading and the walk both use it.
        let data = self.data;
        let cmdlets: Vec<Option<&Cmdlet>> = commands
            .iter()
            .map(|c| {
                let word = &c.name()?.text.text;
                let is_path =
                    word.contains(['\\', '/']) || word.to_ascii_lowercase().ends_with(".exe");
                if is_path {
                    None
                } else {
                    find_cmdlet(data, word)
                }
            })
            .collect();
        let selecting = selecting(&commands, &cmdlets);
        for (ci, c) in commands.iter().take(MAX_COMMANDS).enumerate() {
            let Some(name) = c.name() else {
                self.tokens(&c.tokens, decoded, &mut found, &mut e);
                continue;
            };
            let word = name.text.text.clone();
            if let Some(cm) = cmdlets[ci] {
                self.cmdlet(
                    cm,
                    c,
                    name,
                    selecting[ci],
                    depth,
                    decoded,
                    &mut found,
                    &mut e,
                )?;
                continue;
            }
            if self.program(base_name(&word))?.is_some() {
                // An external program: its own command line, from its name on.
                let from = c.text.text.find(&word).unwrap_or(0);
                let line = c.text.slice(from, c.text.text.len());
                if let Some(n) = self.nested(&line, depth + 1, decoded, false, &word)? {
                    e.nested.push(n);
                }
                continue;
            }
            let span = self.span(decoded, name.raw);
            e.arguments.push(Argument {
                raw: word,
                role: "command".into(),
                switch: None,
                value: None,
                value_kind: None,
                meaning: None,
                start: span.start,
                end: span.end,
            });
            self.tokens(&c.tokens[1..], decoded, &mut found, &mut e);
        }
        // Patterns read the script with `'Am'+'siUtils'` joined back: splitting a literal
        // only hides a word from plain string matching, not from PowerShell.
        let joined = powershell::join_concatenated(m);
        let lower = joined.text.to_lowercase();
        for p in &self.data.powershell_patterns {
            self.pattern(p, &lower, &joined, decoded, 1.0, &mut found, &mut e);
        }
        e.techniques = found.into_hits();
        Ok(e)
    }

    /// Artefacts among the words and strings of a command kb has no grammar for.
    fn tokens(&mut self, tokens: &[Token], decoded: bool, found: &mut Found, e: &mut Explanation) {
        for t in tokens.iter().take(MAX_TOKENS) {
            if matches!(t.kind, TokenKind::Word | TokenKind::Str) {
                let span = self.span(decoded, t.text.span());
                self.shape_artefact(&t.text.text, span, found, e);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn cmdlet(
        &mut self,
        cm: &Cmdlet,
        c: &Command,
        name: &Token,
        selects: bool,
        depth: usize,
        decoded: bool,
        found: &mut Found,
        e: &mut Explanation,
    ) -> Result<()> {
        let span = self.span(decoded, name.raw);
        let why = self.text(&cm.en, &cm.ja);
        let confidence = if selects {
            Confidence::Low
        } else {
            cm.confidence
        };
        found.add(cm.technique.as_deref(), confidence, &why, Some(span));
        found.confirm(&cm.tactics, &why);
        e.arguments.push(Argument {
            raw: name.text.text.clone(),
            role: "command".into(),
            switch: Some(cm.name.clone()),
            value: None,
            value_kind: None,
            meaning: Some(why),
            start: span.start,
            end: span.end,
        });
        let mut registry = super::command::RegistryUse {
            op: cm.registry,
            ..Default::default()
        };
        let start = c
            .tokens
            .iter()
            .position(|t| std::ptr::eq(t, name))
            .unwrap_or(0)
            + 1;
        let mut positional = 0;
        let mut i = start;
        while i < c.tokens.len().min(MAX_TOKENS) {
            let t = &c.tokens[i];
            let tspan = self.span(decoded, t.raw);
            if t.kind == TokenKind::Param {
                let (pname, attached) = match t.text.text.find(':') {
                    Some(p) => (
                        t.text.slice(0, p),
                        Some(t.text.slice(p + 1, t.text.text.len())),
                    ),
                    None => (t.text.clone(), None),
                };
                let sw = super::command::find_switch(&cm.params, &pname.text, true);
                let Some(sw) = sw else {
                    e.arguments.push(Argument {
                        raw: t.text.text.clone(),
                        role: "parameter".into(),
                        switch: None,
                        value: None,
                        value_kind: None,
                        meaning: None,
                        start: tspan.start,
                        end: tspan.end,
                    });
                    i += 1;
                    continue;
                };
                let mut consumed = 1;
                let value = if !sw.value.takes_value() {
                    None
                } else if let Some(v) = attached {
                    Some((v, tspan))
                } else {
                    match c.tokens.get(i + 1) {
                        Some(n) if n.kind != TokenKind::Param => {
                            consumed = 2;
                            Some((n.text.clone(), self.span(decoded, n.raw)))
                        }
                        _ => None,
                    }
                };
                // A script block's commands are read with the script already.
                let block = value.is_some()
                    && c.tokens
                        .get(i + 1)
                        .is_some_and(|n| n.kind == TokenKind::Block);
                let pwhy = self.text(&sw.en, &sw.ja);
                found.add(sw.technique.as_deref(), sw.confidence, &pwhy, Some(tspan));
                found.confirm(&sw.tactics, &pwhy);
                e.arguments.push(Argument {
                    raw: t.text.text.clone(),
                    role: "parameter".into(),
                    switch: Some(sw.name.clone()),
                    value: value.as_ref().map(|(v, _)| v.text.clone()),
                    value_kind: sw.value.takes_value().then(|| sw.value.slug().to_string()),
                    meaning: Some(pwhy),
                    start: tspan.start,
                    end: value
                        .as_ref()
                        .map_or(tspan.end, |(_, s)| s.end.max(tspan.end)),
                });
                if let Some((v, vs)) = value
                    && !(block && matches!(sw.value, ValueKind::Script | ValueKind::RestScript))
                {
                    self.value(sw, &v, vs, depth, decoded, &mut registry, found, e)?;
                }
                i += consumed;
                continue;
            }
            match cm.positional.get(positional) {
                Some(kind) if t.kind != TokenKind::Block => {
                    let sw = crate::source::grammar::Switch {
                        name: format!("#{}", positional + 1),
                        aliases: Vec::new(),
                        value: *kind,
                        registry: None,
                        technique: None,
                        confidence: Default::default(),
                        tactics: Vec::new(),
                        en: String::new(),
                        ja: String::new(),
                        absent_when: None,
                        absent_en: None,
                        absent_ja: None,
                        values: Vec::new(),
                    };
                    self.value(&sw, &t.text, tspan, depth, decoded, &mut registry, found, e)?;
                }
                _ => {
                    if matches!(t.kind, TokenKind::Word | TokenKind::Str) {
                        self.shape_artefact(&t.text.text, tspan, found, e);
                    }
                }
            }
            positional += 1;
            i += 1;
        }
        self.registry(&registry, depth, decoded, found, e)?;
        Ok(())
    }
}

/// For each command: whether it is a `Get-` cmdlet whose objects are piped on to a later
/// command of the same pipeline that is evidence of its own (`Get-Service x | Stop-Service`,
/// `Get-ChildItem | Remove-Item`). Such a Get only picks what the later command acts on: what
/// the pipeline does is the later command's technique, not the Get's discovery, so the Get's
/// own technique ranks as a low rule (it stays listed). `cmdlets` holds each command's cmdlet.
fn selecting(commands: &[Command], cmdlets: &[Option<&Cmdlet>]) -> Vec<bool> {
    let acts = |j: usize| {
        cmdlets[j]
            .is_some_and(|cm| cm.technique.is_some() && !matches!(cm.confidence, Confidence::Low))
    };
    let is_get = |i: usize| {
        cmdlets[i].is_some_and(|cm| {
            cm.name
                .get(..4)
                .is_some_and(|v| v.eq_ignore_ascii_case("get-"))
        })
    };
    (0..commands.len())
        .map(|i| {
            if !commands[i].piped || !is_get(i) {
                return false;
            }
            let mut j = i + 1;
            while let Some(next) = commands.get(j) {
                if acts(j) {
                    return true;
                }
                // `Get-LocalUser | ForEach-Object { Disable-LocalUser $_ }`: the commands of a
                // block follow the command that holds it; one that acts inside this stage's
                // block acts on what the Get selected.
                let (s, end) = next.text.span();
                let inside = |c: &&Command| {
                    let (cs, ce) = c.text.span();
                    cs >= s && ce <= end
                };
                let block = commands[j + 1..].iter().take_while(inside).count();
                if (j + 1..j + 1 + block).any(acts) {
                    return true;
                }
                if !next.piped {
                    break;
                }
                // The next stage of the pipeline comes after this stage's block
                // (`Get-Process | Where-Object { … } | Stop-Process`).
                j += 1 + block;
            }
            false
        })
        .collect()
}
