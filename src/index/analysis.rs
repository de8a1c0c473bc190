//! Every analyzer kb uses, registered in one place ([`register`]): the index build and the query
//! side must agree on them, so nothing else names a tokenizer.
//!
//! * `kb_exact`: the whole (already normalised) string is one token — IDs, names, aliases;
//! * `kb_en`: English words, lower-cased and stemmed — names and descriptions;
//! * `kb_ja`: Japanese morphemes from lindera + IPADIC, particles and auxiliaries dropped,
//!   conjugated words reduced to their base form;
//! * `kb_cjk2`: overlapping two-character pieces of Japanese runs — matches compounds that the
//!   morphological analysis splits differently in query and document (タスクスケジューラ vs
//!   タスク スケジューラ);
//! * `kb_code`: program names, IDs and switches — keeps `schtasks.exe` and `T1053.005` whole and
//!   also yields `schtasks` for `schtasks.exe`.

use crate::msg;
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use lindera::dictionary::load_dictionary;
use lindera::mode::Mode;
use lindera::segmenter::Segmenter;
use tantivy::tokenizer::{
    Language, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
    Token, TokenStream, Tokenizer,
};

use crate::{Error, Result};

pub const EXACT: &str = "kb_exact";
pub const EN: &str = "kb_en";
pub const JA: &str = "kb_ja";
pub const CODE: &str = "kb_code";
pub const CJK2: &str = "kb_cjk2";

pub fn register(index: &tantivy::Index) -> Result<()> {
    let m = index.tokenizers();
    m.register(
        EXACT,
        TextAnalyzer::builder(RawTokenizer::default())
            .filter(LowerCaser)
            .build(),
    );
    m.register(
        EN,
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(48))
            .filter(LowerCaser)
            .filter(Stemmer::new(Language::English))
            .build(),
    );
    m.register(JA, TextAnalyzer::from(JapaneseTokenizer::new()?));
    m.register(CODE, TextAnalyzer::from(CodeTokenizer));
    m.register(CJK2, TextAnalyzer::from(BigramTokenizer));
    Ok(())
}

/// The IPADIC dictionary is embedded in the binary; loading it once per process is enough.
fn segmenter() -> Result<Arc<Segmenter>> {
    static SEGMENTER: OnceLock<std::result::Result<Arc<Segmenter>, String>> = OnceLock::new();
    SEGMENTER
        .get_or_init(|| {
            let dict = load_dictionary("embedded://ipadic").map_err(|e| e.to_string())?;
            Ok(Arc::new(Segmenter::new(Mode::Normal, dict, None)))
        })
        .clone()
        .map_err(|e| Error::Other(msg!("index.dictionary", detail = e)))
}

/// Tokens are computed up front, then streamed: tantivy's `TokenStream` borrows mutably, which the
/// lindera token list does not allow while it is being produced.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.index += 1;
        self.index <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

fn token(text: String, from: usize, to: usize, position: usize) -> Token {
    Token {
        offset_from: from,
        offset_to: to,
        position,
        text,
        position_length: 1,
    }
}

/// A tantivy tokenizer over a lindera segmenter (lindera-tantivy does not support lindera 6.2).
#[derive(Clone)]
pub struct JapaneseTokenizer {
    segmenter: Arc<Segmenter>,
}

impl JapaneseTokenizer {
    pub fn new() -> Result<Self> {
        Ok(JapaneseTokenizer {
            segmenter: segmenter()?,
        })
    }
}

/// Parts of speech that carry no meaning for search: particles, auxiliaries, symbols, fillers.
fn is_stop(pos: &str, sub: &str) -> bool {
    matches!(
        pos,
        "助詞" | "助動詞" | "記号" | "フィラー" | "その他" | "BOS/EOS"
    ) || sub == "非自立"
}

impl Tokenizer for JapaneseTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        // segment() only fails on internal errors; index nothing rather than panic.
        let segmented = self
            .segmenter
            .segment(Cow::Borrowed(text))
            .unwrap_or_default();
        for mut t in segmented {
            let surface = t.surface.trim().to_lowercase();
            // IPADIC tags half-width symbols (: / \ - =) as nouns: drop what has no letter or digit.
            if !surface.chars().any(char::is_alphanumeric) {
                continue;
            }
            let (from, to) = (t.byte_start, t.byte_end);
            let details = t.details();
            let pos = details.first().copied().unwrap_or("");
            let sub = details.get(1).copied().unwrap_or("");
            if is_stop(pos, sub) {
                continue;
            }
            // Verbs and adjectives match across conjugations through their base form.
            let base = details
                .get(6)
                .copied()
                .filter(|b| *b != "*" && !b.is_empty());
            let text = match (pos, base) {
                ("動詞" | "形容詞", Some(b)) => b.to_lowercase(),
                _ => strip_prolonged_mark(surface),
            };
            let position = tokens.len();
            tokens.push(token(text, from, to, position));
        }
        VecTokenStream { tokens, index: 0 }
    }
}

/// スケジューラー and スケジューラ are the same word: writers differ on the final long-vowel mark
/// of katakana loanwords, so it is dropped from words of four or more characters.
fn strip_prolonged_mark(word: String) -> String {
    let katakana = word.chars().all(|c| matches!(c, '\u{30a0}'..='\u{30ff}'));
    if katakana && word.chars().count() >= 4 && word.ends_with('ー') {
        word.trim_end_matches('ー').to_string()
    } else {
        word
    }
}

/// Two-character pieces of each run of Japanese characters (a one-character run is kept whole);
/// everything else is ignored. The final long-vowel mark of a run is dropped as above.
#[derive(Clone)]
pub struct BigramTokenizer;

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        let mut run: Vec<(usize, char)> = Vec::new();
        let flush = |run: &mut Vec<(usize, char)>, tokens: &mut Vec<Token>| {
            while run.len() >= 4 && run.last().is_some_and(|(_, c)| *c == 'ー') {
                run.pop();
            }
            let end_of = |i: usize| run[i].0 + run[i].1.len_utf8();
            if run.len() == 1 {
                let position = tokens.len();
                tokens.push(token(run[0].1.to_string(), run[0].0, end_of(0), position));
            }
            for i in 1..run.len() {
                let text: String = [run[i - 1].1, run[i].1].iter().collect();
                let position = tokens.len();
                tokens.push(token(text, run[i - 1].0, end_of(i), position));
            }
            run.clear();
        };
        for (i, c) in text.char_indices() {
            if crate::text::is_japanese_char(c) {
                run.push((i, c));
            } else {
                flush(&mut run, &mut tokens);
            }
        }
        flush(&mut run, &mut tokens);
        VecTokenStream { tokens, index: 0 }
    }
}

/// Splits on anything that cannot be part of a file name, ID or switch word.
#[derive(Clone)]
pub struct CodeTokenizer;

const EXTENSIONS: [&str; 16] = [
    "exe", "dll", "cpl", "vbs", "ps1", "wsf", "bat", "cmd", "js", "msc", "com", "sys", "hta",
    "inf", "ocx", "scr",
];

impl Tokenizer for CodeTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        let is_word = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '$');
        let mut start = None;
        for (i, c) in text
            .char_indices()
            .chain(std::iter::once((text.len(), ' ')))
        {
            match (start, is_word(c) && i < text.len()) {
                (None, true) => start = Some(i),
                (Some(s), false) => {
                    push_code_word(&text[s..i], s, &mut tokens);
                    start = None;
                }
                _ => {}
            }
        }
        VecTokenStream { tokens, index: 0 }
    }
}

fn push_code_word(raw: &str, offset: usize, tokens: &mut Vec<Token>) {
    let word = raw.trim_matches(|c| c == '.' || c == '-');
    if word.is_empty() || word.len() > 64 {
        return;
    }
    let lower = word.to_lowercase();
    let position = tokens.len();
    let end = offset + raw.len();
    if let Some((stem, ext)) = lower.rsplit_once('.')
        && EXTENSIONS.contains(&ext)
        && !stem.is_empty()
    {
        tokens.push(token(stem.to_string(), offset, end, position));
    }
    tokens.push(token(lower, offset, end, position));
}

/// The Japanese analyzer's tokens of `text`, in order and with repeats.
fn ja_tokens(index: &tantivy::Index, text: &str) -> Vec<String> {
    let Some(mut a) = index.tokenizers().get(JA) else {
        return Vec::new();
    };
    let mut tokens: Vec<String> = Vec::new();
    let mut stream = a.token_stream(text);
    while let Some(t) = stream.next() {
        tokens.push(t.text.clone());
    }
    tokens
}

/// The key of a name of several words ("North Korean", 北朝鮮系): its Japanese-analyzer tokens
/// joined without a space. [`phrase_keys`] finds it among the words of a longer text.
pub fn phrase_key(index: &tantivy::Index, text: &str) -> String {
    ja_tokens(index, text).concat()
}

/// Every run of up to `max` consecutive tokens of `text` as a [`phrase_key`]: a name is found
/// as whole words of the text, never inside another word (インド is not in ウインドウ).
pub fn phrase_keys(index: &tantivy::Index, text: &str, max: usize) -> Vec<String> {
    let tokens = ja_tokens(index, text);
    let mut out: Vec<String> = Vec::new();
    for start in 0..tokens.len() {
        for end in start + 1..=(start + max).min(tokens.len()) {
            let key = tokens[start..end].concat();
            if !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out
}

/// The tokens an analyzer produces for `text`: the query side uses this to build term queries
/// with exactly the terms the index holds.
pub fn analyze(index: &tantivy::Index, analyzer: &str, text: &str) -> Vec<String> {
    let Some(mut a) = index.tokenizers().get(analyzer) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    let mut stream = a.token_stream(text);
    while let Some(t) = stream.next() {
        if !out.contains(&t.text) {
            out.push(t.text.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(mut t: impl Tokenizer, s: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut st = t.token_stream(s);
        while let Some(tok) = st.next() {
            out.push(tok.text.clone());
        }
        out
    }

    #[test]
    fn code_keeps_file_names_and_ids_whole() {
        let toks = run(
            CodeTokenizer,
            r#""C:\Windows\schtasks.exe" /create T1053.005"#,
        );
        assert!(toks.contains(&"schtasks.exe".to_string()));
        assert!(toks.contains(&"schtasks".to_string()));
        assert!(toks.contains(&"t1053.005".to_string()));
        assert!(toks.contains(&"create".to_string()));
    }

    #[test]
    fn bigrams_cover_japanese_runs_only() {
        let toks = run(BigramTokenizer, "タスクスケジューラー schtasks 常設");
        assert_eq!(
            toks,
            [
                "タス", "スク", "クス", "スケ", "ケジ", "ジュ", "ュー", "ーラ", "常設"
            ]
        );
    }

    #[test]
    fn long_vowel_mark_variants_match() {
        let t = JapaneseTokenizer::new().expect("dictionary");
        assert_eq!(
            run(t.clone(), "スケジューラー"),
            run(t.clone(), "スケジューラ")
        );
        assert!(!run(t, "サーバー").is_empty());
    }

    #[test]
    fn japanese_drops_particles_and_keeps_nouns() {
        let toks = run(
            JapaneseTokenizer::new().expect("dictionary"),
            "イベントログの消去",
        );
        assert!(toks.contains(&"消去".to_string()), "{toks:?}");
        assert!(!toks.contains(&"の".to_string()), "{toks:?}");
    }
}
