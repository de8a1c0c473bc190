//! How a description changed between two releases, summarised for a reader: how many words
//! went in and out, and one short excerpt around the first change. The texts are MITRE's, read
//! from the bundles the user gave; nothing of them is kept beyond the answer.

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

/// Words of unchanged text shown on each side of the first change.
const CONTEXT: usize = 6;
/// Characters an excerpt is cut to: enough to recognise the sentence, short enough for a list.
const EXCERPT_CHARS: usize = 200;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WordDiff {
    /// Words only the new description has.
    pub added: usize,
    /// Words only the old description had.
    pub removed: usize,
    /// The first change with a few words around it: `[-old words-]` and `{+new words+}`, as
    /// `git diff --word-diff` writes them.
    pub excerpt: String,
}

/// The word diff of two descriptions; None when they hold the same words (a change of white
/// space only is no change to a reader).
pub fn diff(old: &str, new: &str) -> Option<WordDiff> {
    let old_words: Vec<&str> = old.split_whitespace().collect();
    let new_words: Vec<&str> = new.split_whitespace().collect();
    if old_words == new_words {
        return None;
    }
    let d = TextDiff::configure()
        // Descriptions are a few hundred words; the deadline only bounds a pathological input.
        .timeout(std::time::Duration::from_millis(200))
        .diff_slices(&old_words, &new_words);
    let (mut added, mut removed) = (0, 0);
    // (tag, word) in text order, to cut the excerpt from.
    let mut stream: Vec<(ChangeTag, &str)> = Vec::new();
    for c in d.iter_all_changes() {
        match c.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
        stream.push((c.tag(), c.value()));
    }
    Some(WordDiff {
        added,
        removed,
        excerpt: excerpt(&stream),
    })
}

/// The first run of changed words with [`CONTEXT`] unchanged words on each side.
fn excerpt(stream: &[(ChangeTag, &str)]) -> String {
    let Some(first) = stream.iter().position(|(t, _)| *t != ChangeTag::Equal) else {
        return String::new();
    };
    // The change runs until CONTEXT equal words in a row follow it.
    let mut end = first;
    let mut equal_run = 0;
    for (i, (t, _)) in stream.iter().enumerate().skip(first) {
        if *t == ChangeTag::Equal {
            equal_run += 1;
            if equal_run > CONTEXT {
                break;
            }
        } else {
            equal_run = 0;
        }
        end = i;
    }
    let start = first.saturating_sub(CONTEXT);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut open: Option<ChangeTag> = None;
    for (t, w) in &stream[start..=end] {
        if open != Some(*t) {
            close(&mut out, open);
            if !out.is_empty() && !out.ends_with('…') {
                out.push(' ');
            }
            match t {
                ChangeTag::Delete => out.push_str("[-"),
                ChangeTag::Insert => out.push_str("{+"),
                ChangeTag::Equal => {}
            }
            open = Some(*t);
        } else {
            out.push(' ');
        }
        out.push_str(w);
    }
    close(&mut out, open);
    if end + 1 < stream.len() {
        out.push_str(" …");
    }
    crate::text::truncate(&out, EXCERPT_CHARS)
}

fn close(out: &mut String, open: Option<ChangeTag>) {
    match open {
        Some(ChangeTag::Delete) => out.push_str("-]"),
        Some(ChangeTag::Insert) => out.push_str("+}"),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_marks_the_first_change() {
        let d = diff("a b c d e f g h", "a b x d e f g h y").expect("differs");
        assert_eq!((d.added, d.removed), (2, 1));
        assert!(
            d.excerpt.starts_with("a b [-c-] {+x+} d e f g h"),
            "{}",
            d.excerpt
        );
        assert_eq!(diff("a  b\nc", "a b c"), None);
    }
}
