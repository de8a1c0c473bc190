//! What cmd.exe does to a line before any program sees it: `^` escapes the next character,
//! `&`, `&&`, `||` and `|` separate commands, `<`, `>`, `>>` and `2>&1` redirect, all outside
//! double quotes; parentheses group. `%VAR%` stays as written: kb cannot know its value.

use super::Mapped;

/// One command of a cmd.exe line, with its redirections taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The command without its redirections, carets removed.
    pub text: Mapped,
    /// The operator that joins it to the previous command (`&`, `&&`, `||`, `|`).
    pub joined_by: Option<&'static str>,
    pub redirects: Vec<Redirect>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// `>`, `>>`, `<`, `2>`, `2>>`.
    pub op: String,
    pub target: Mapped,
}

/// The commands of a cmd.exe line.
pub fn split(line: &Mapped) -> Vec<Segment> {
    let chars: Vec<(usize, char)> = line.text.char_indices().collect();
    let orig = |i: usize| {
        let b = chars.get(i).map(|&(b, _)| b).unwrap_or(line.text.len());
        line.span_of(b, b + 1).0
    };
    let mut out = Vec::new();
    let mut cur = Mapped::with_capacity(line.text.len());
    let mut redirects = Vec::new();
    let mut joined_by = None;
    let mut in_quotes = false;
    let mut i = 0;
    let flush = |cur: Mapped,
                 redirects: Vec<Redirect>,
                 joined_by: Option<&'static str>,
                 end: usize,
                 out: &mut Vec<Segment>| {
        let text = cur.finish(end).trim();
        let text = strip_parens(&text);
        // `@command` only hides the echo of the command.
        let text = match text.text.strip_prefix('@') {
            Some(_) => text.slice(1, text.text.len()).trim(),
            None => text,
        };
        if !text.is_empty() || !redirects.is_empty() {
            out.push(Segment {
                text,
                joined_by,
                redirects,
            });
        }
    };
    while i < chars.len() {
        let c = chars[i].1;
        if c == '"' {
            in_quotes = !in_quotes;
            cur.push(c, orig(i));
            i += 1;
            continue;
        }
        if in_quotes {
            cur.push(c, orig(i));
            i += 1;
            continue;
        }
        match c {
            '^' => {
                if let Some(&(_, n)) = chars.get(i + 1) {
                    cur.push(n, orig(i + 1));
                }
                i += 2;
            }
            '&' | '|' => {
                let double = chars.get(i + 1).is_some_and(|&(_, n)| n == c);
                let op = match (c, double) {
                    ('&', true) => "&&",
                    ('&', false) => "&",
                    ('|', true) => "||",
                    _ => "|",
                };
                flush(
                    std::mem::replace(&mut cur, Mapped::with_capacity(64)),
                    std::mem::take(&mut redirects),
                    joined_by,
                    orig(i),
                    &mut out,
                );
                joined_by = Some(op);
                i += if double { 2 } else { 1 };
            }
            '>' | '<' => {
                let mut op = String::new();
                // A handle number right before the operator (2>) belongs to it.
                if let Some(last) = cur.text.chars().last()
                    && last.is_ascii_digit()
                    && cur.text[..cur.text.len() - 1]
                        .chars()
                        .last()
                        .is_none_or(char::is_whitespace)
                {
                    op.push(last);
                    cur.text.pop();
                    cur.pos.pop();
                }
                op.push(c);
                i += 1;
                if c == '>' && chars.get(i).is_some_and(|&(_, n)| n == '>') {
                    op.push('>');
                    i += 1;
                }
                // 2>&1 duplicates a handle: no file.
                if chars.get(i).is_some_and(|&(_, n)| n == '&') {
                    i += 1;
                    while i < chars.len() && chars[i].1.is_ascii_digit() {
                        i += 1;
                    }
                    continue;
                }
                while i < chars.len() && chars[i].1.is_whitespace() {
                    i += 1;
                }
                let mut target = Mapped::with_capacity(32);
                let mut q = false;
                while i < chars.len() {
                    let t = chars[i].1;
                    if t == '"' {
                        q = !q;
                        i += 1;
                        continue;
                    }
                    if !q && (t.is_whitespace() || "&|<>".contains(t)) {
                        break;
                    }
                    if !q && t == '^' {
                        i += 1;
                        if let Some(&(_, n)) = chars.get(i) {
                            target.push(n, orig(i));
                        }
                        i += 1;
                        continue;
                    }
                    target.push(t, orig(i));
                    i += 1;
                }
                redirects.push(Redirect {
                    op,
                    target: target.finish(orig(i)),
                });
            }
            _ => {
                cur.push(c, orig(i));
                i += 1;
            }
        }
    }
    flush(cur, redirects, joined_by, orig(chars.len()), &mut out);
    out
}

/// `(a & b)` groups: the parentheses belong to cmd.exe, not to the commands. The operators
/// inside a group split it, so a part may keep only its opening or its closing parenthesis.
fn strip_parens(m: &Mapped) -> Mapped {
    let t = &m.text;
    let opens = t.matches('(').count();
    let closes = t.matches(')').count();
    let start = usize::from(t.starts_with('(') && (opens > closes || t.ends_with(')')));
    let end = if t.len() > start && t.ends_with(')') && (closes > opens || start == 1) {
        t.len() - 1
    } else {
        t.len()
    };
    m.slice(start, end).trim()
}

/// The command an `if` or `for` runs: `if not exist X (copy a b)` -> `copy a b`,
/// `for /f %i in (x) do whoami` -> `whoami`. None for any other command.
pub fn control_body(m: &Mapped) -> Option<Mapped> {
    let args = super::argv::split(m);
    let first = args.first()?.text.text.to_ascii_lowercase();
    let from = match first.as_str() {
        "if" => {
            let word = |i: usize| args.get(i).map(|a| a.text.text.to_ascii_lowercase());
            let mut i = 1;
            if word(i).as_deref() == Some("/i") {
                i += 1;
            }
            if word(i).as_deref() == Some("not") {
                i += 1;
            }
            let w = word(i)?;
            let ops = ["==", "equ", "neq", "lss", "leq", "gtr", "geq"];
            i += match w.as_str() {
                "exist" | "defined" | "errorlevel" | "cmdextversion" => 2,
                _ if w.contains("==") && !w.ends_with("==") && !w.starts_with("==") => 1,
                _ if word(i + 1).is_some_and(|o| ops.contains(&o.as_str())) => 3,
                _ if w.ends_with("==") => 2,
                _ => return None,
            };
            args.get(i)?.at.0
        }
        "for" => {
            let lower = m.text.to_ascii_lowercase();
            lower.find(" do ")? + 4
        }
        _ => return None,
    };
    let body = strip_parens(&m.slice(from, m.text.len()));
    (!body.is_empty()).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (command, operator before it, [(redirection, target)])
    type Seen = (String, Option<&'static str>, Vec<(String, String)>);

    fn seg(s: &str) -> Vec<Seen> {
        split(&Mapped::new(s, 0))
            .into_iter()
            .map(|g| {
                let r = g
                    .redirects
                    .into_iter()
                    .map(|r| (r.op, r.target.text))
                    .collect();
                (g.text.text, g.joined_by, r)
            })
            .collect()
    }

    #[test]
    fn operators_split_outside_quotes_only() {
        let s = seg(r#"whoami & net user "a & b" && echo x || y | more"#);
        let texts: Vec<&str> = s.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            texts,
            ["whoami", r#"net user "a & b""#, "echo x", "y", "more"]
        );
        assert_eq!(s[2].1, Some("&&"));
        assert_eq!(s[4].1, Some("|"));
    }

    #[test]
    fn carets_escape_and_redirections_are_taken_out() {
        let s = seg(r"echo a^&b > C:\t\a.txt:hidden.txt 2>&1");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].0, "echo a&b");
        assert_eq!(s[0].2, [(">".into(), r"C:\t\a.txt:hidden.txt".into())]);
    }

    #[test]
    fn if_and_for_run_their_body() {
        let body = |s: &str| control_body(&Mapped::new(s, 0)).map(|m| m.text);
        assert_eq!(
            body(r"if not exist C:\x (copy a b)").as_deref(),
            Some("copy a b")
        );
        assert_eq!(
            body(r#"IF "%A%"=="AMD64" (regsvr32 /s x.dll"#).as_deref(),
            Some("regsvr32 /s x.dll")
        );
        assert_eq!(body("if %x% EQU 1 whoami").as_deref(), Some("whoami"));
        assert_eq!(
            body("for /f %i in (a.txt) do ping %i").as_deref(),
            Some("ping %i")
        );
        assert_eq!(body("whoami"), None);
        assert_eq!(body("if"), None);
    }

    #[test]
    fn stderr_redirection_keeps_its_handle() {
        let s = seg(r"dir 2> err.txt");
        assert_eq!(s[0].0, "dir");
        assert_eq!(s[0].2, [("2>".into(), "err.txt".into())]);
    }

    #[test]
    fn redirect_target_span_points_into_the_input() {
        let line = r"type C:\e.exe > C:\r.txt:e.exe";
        let g = split(&Mapped::new(line, 0));
        let (a, b) = g[0].redirects[0].target.span();
        assert_eq!(&line[a..b], r"C:\r.txt:e.exe");
    }
}
