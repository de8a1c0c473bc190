//! Splitting a process command line into arguments the way a Windows program receives them:
//! the MSVC C runtime and CommandLineToArgvW rules. Hand-written because no crate implements
//! these rules with positions in the original text, which the explain spans need.
//!
//! * White space outside double quotes separates arguments.
//! * `2n` backslashes before a quote give `n` backslashes and the quote opens or closes;
//!   `2n+1` give `n` backslashes and a literal quote. Backslashes elsewhere are literal.
//! * Inside quotes, `""` is a literal quote (the CRT's rule since 2008).
//! * The program name is special: a quoted one runs to the next quote, with no escapes, so
//!   `"C:\Program Files\x.exe"` keeps its backslashes.

use super::Mapped;

/// One argument: its text as the program sees it, and where it stood in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub text: Mapped,
    /// Original span of the argument as written, quotes included.
    pub raw: (usize, usize),
    /// Byte range of the argument as written in the text that was split.
    pub at: (usize, usize),
    /// Whether any part of it was quoted.
    pub quoted: bool,
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

/// The arguments of `line`, the first read with the program-name rule.
pub fn split(line: &Mapped) -> Vec<Arg> {
    let chars: Vec<(usize, char)> = line.text.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(b, _)| b).unwrap_or(line.text.len());
    let orig = |i: usize| line.span_of(at(i), at(i) + 1).0;
    let mut args = Vec::new();
    let mut i = 0;
    let mut first = true;
    while i < chars.len() {
        while i < chars.len() && is_space(chars[i].1) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        let mut text = Mapped::with_capacity(16);
        let mut quoted = false;
        if first && chars[i].1 == '"' {
            quoted = true;
            i += 1;
            while i < chars.len() && chars[i].1 != '"' {
                text.push(chars[i].1, orig(i));
                i += 1;
            }
            i += 1; // the closing quote, if any
            while i < chars.len() && !is_space(chars[i].1) {
                text.push(chars[i].1, orig(i));
                i += 1;
            }
        } else {
            let mut in_quotes = false;
            while i < chars.len() {
                let c = chars[i].1;
                if is_space(c) && !in_quotes {
                    break;
                }
                if c == '\\' {
                    let run_start = i;
                    while i < chars.len() && chars[i].1 == '\\' {
                        i += 1;
                    }
                    let n = i - run_start;
                    if i < chars.len() && chars[i].1 == '"' {
                        for k in 0..n / 2 {
                            text.push('\\', orig(run_start + k));
                        }
                        if n % 2 == 1 {
                            text.push('"', orig(i));
                        } else {
                            in_quotes = !in_quotes;
                            quoted = true;
                        }
                        i += 1;
                    } else {
                        for k in 0..n {
                            text.push('\\', orig(run_start + k));
                        }
                    }
                    continue;
                }
                if c == '"' {
                    quoted = true;
                    if in_quotes && chars.get(i + 1).is_some_and(|&(_, n)| n == '"') {
                        text.push('"', orig(i));
                        i += 2;
                        continue;
                    }
                    in_quotes = !in_quotes;
                    i += 1;
                    continue;
                }
                text.push(c, orig(i));
                i += 1;
            }
        }
        let raw_end = line.span_of(at(start), at(i)).1;
        let text = text.finish(raw_end);
        args.push(Arg {
            text,
            raw: (orig(start), raw_end),
            at: (at(start), at(i)),
            quoted,
        });
        first = false;
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        split(&Mapped::new(s, 0))
            .into_iter()
            .map(|a| a.text.text)
            .collect()
    }

    #[test]
    fn backslashes_and_quotes_follow_the_crt() {
        assert_eq!(texts(r#"a "b c" d"#), ["a", "b c", "d"]);
        assert_eq!(texts(r#"x a\\\"b"#), ["x", r#"a\"b"#]);
        assert_eq!(texts(r#"x "a\\" b"#), ["x", r"a\", "b"]);
        assert_eq!(texts(r#"x a\\b"#), ["x", r"a\\b"]);
        assert_eq!(texts(r#"x "a""b""#), ["x", r#"a"b"#]);
    }

    #[test]
    fn a_quoted_program_keeps_its_backslashes() {
        let args = split(&Mapped::new(r#""C:\Program Files\x\" /c"#, 0));
        assert_eq!(args[0].text.text, r"C:\Program Files\x\");
        assert_eq!(args[1].text.text, "/c");
        assert_eq!(args[1].raw, (22, 24));
    }

    #[test]
    fn spans_cover_the_argument_as_written() {
        let s = r#"schtasks /tr "C:\a b.exe" /f"#;
        let args = split(&Mapped::new(s, 0));
        assert_eq!(&s[args[2].raw.0..args[2].raw.1], r#""C:\a b.exe""#);
        let (a, b) = args[2].text.span();
        assert_eq!(&s[a..b], r"C:\a b.exe");
    }

    #[test]
    fn unbalanced_quotes_run_to_the_end() {
        assert_eq!(texts(r#"x "a b"#), ["x", "a b"]);
        assert_eq!(texts(r#"""#), [""]);
    }
}
