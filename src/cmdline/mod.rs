//! Reading command lines exactly as Windows does, with every piece of text traced back to its
//! place in the original input: [`argv`] (the MSVC CRT / CommandLineToArgvW rules), [`cmd`]
//! (cmd.exe operators, carets and redirections) and [`powershell`] (PowerShell tokens,
//! pipelines and -EncodedCommand). Knows no program and no meaning: that is
//! [`crate::explain`]'s job, from the data in kb/.
//!
//! Every function here takes untrusted input: none panics, each is linear in its input, and
//! the callers bound the input size.

pub mod argv;
pub mod cmd;
pub mod powershell;

/// Text with the position (a byte offset into the original input) of each of its bytes, so
/// that a token found after unquoting or unescaping still underlines the right characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapped {
    pub text: String,
    /// `pos[i]` is the original offset of `text`'s byte `i`; one more entry gives the end.
    pos: Vec<usize>,
}

impl Mapped {
    /// The input itself, starting at offset `base` of the original.
    pub fn new(text: &str, base: usize) -> Mapped {
        Mapped {
            text: text.to_string(),
            pos: (base..=base + text.len()).collect(),
        }
    }

    /// Text that does not come from the input (a decoded script): its offsets are its own.
    pub fn detached(text: &str) -> Mapped {
        Mapped::new(text, 0)
    }

    fn with_capacity(n: usize) -> Mapped {
        Mapped {
            text: String::with_capacity(n),
            pos: Vec::with_capacity(n + 1),
        }
    }

    /// Appends `c`, which stands at offset `at` of the original.
    fn push(&mut self, c: char, at: usize) {
        for k in 0..c.len_utf8() {
            self.pos.push(at + k);
        }
        self.text.push(c);
    }

    fn finish(mut self, end: usize) -> Mapped {
        self.pos.push(end);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The original span of the whole text: (start, end) byte offsets.
    pub fn span(&self) -> (usize, usize) {
        self.span_of(0, self.text.len())
    }

    /// The original span of `text[start..end]`.
    pub fn span_of(&self, start: usize, end: usize) -> (usize, usize) {
        let last = self.pos.len().saturating_sub(1);
        let s = self.pos.get(start.min(last)).copied().unwrap_or(0);
        // Just past the last byte included, so that a closing quote is not underlined.
        let e = match end.checked_sub(1) {
            Some(i) if end > start => self.pos.get(i.min(last)).map_or(s, |p| (p + 1).max(s)),
            _ => s,
        };
        (s, e)
    }

    /// `text[start..end]` with its positions; clamps to char boundaries.
    pub fn slice(&self, start: usize, end: usize) -> Mapped {
        let end = floor_boundary(&self.text, end.min(self.text.len()));
        let start = floor_boundary(&self.text, start.min(end));
        let mut pos = self.pos[start..end].to_vec();
        pos.push(if end < self.text.len() {
            self.pos[end]
        } else {
            *self.pos.last().unwrap_or(&0)
        });
        Mapped {
            text: self.text[start..end].to_string(),
            pos,
        }
    }

    /// The parts joined by single spaces, each keeping its positions (the space takes the end
    /// of the part before it): what a program that re-joins its arguments sees.
    pub fn join(parts: &[&Mapped]) -> Mapped {
        let mut out = Mapped::with_capacity(parts.iter().map(|p| p.text.len() + 1).sum());
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                let at = out.pos.last().map_or(0, |e| e + 1);
                out.text.push(' ');
                out.pos.push(at);
            }
            out.text.push_str(&p.text);
            out.pos.extend_from_slice(&p.pos[..p.text.len()]);
        }
        let end = parts
            .last()
            .map_or(0, |p| p.pos.last().copied().unwrap_or(0));
        out.finish(end)
    }

    /// Without white space at either end.
    pub fn trim(&self) -> Mapped {
        let start = self.text.len() - self.text.trim_start().len();
        let end = self.text.trim_end().len().max(start);
        self.slice(start, end)
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Byte offset `b` of `s` as a character offset, for output that pages and scripts index by
/// character.
pub fn char_offset(s: &str, b: usize) -> usize {
    let b = floor_boundary(s, b.min(s.len()));
    s[..b].chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_keep_their_original_positions() {
        let m = Mapped::new("ab cd", 10);
        let s = m.slice(3, 5);
        assert_eq!(s.text, "cd");
        assert_eq!(s.span(), (13, 15));
        assert_eq!(m.slice(0, 0).span(), (10, 10));
    }

    #[test]
    fn slicing_inside_a_character_does_not_panic() {
        let m = Mapped::new("常設です", 0);
        assert_eq!(m.slice(1, 4).text, "常");
        assert_eq!(char_offset("常設です", 6), 2);
    }
}
