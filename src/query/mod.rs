//! Answers over an opened index: [`search`] (one query box for IDs, names, Japanese, aliases,
//! typos and whole command lines) and [`show`] (one full record). Plain functions over
//! [`KbIndex`], so the CLI, an HTTP server or another program call the same code. Never parses
//! user input as a query language: any string is a valid query.

use crate::message::Message;
use crate::msg;
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, Searcher, TantivyDocument, Term};

use crate::index::{KbIndex, StoredHit, analysis};
use crate::model::{Entity, Kind, Redirect};
use crate::source::curated::QueryWords;
use crate::text::{exact_key, normalize, program_name, split_command_line};
use crate::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub query: String,
    pub limit: usize,
    pub kinds: Vec<Kind>,
    /// Tactic IDs (TA0003) or names in any language (persistence, 常設).
    pub tactic: Option<String>,
    /// enterprise, mobile, ics (with or without `-attack`).
    pub domain: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hit {
    #[serde(flatten)]
    pub stored: StoredHit,
    pub score: f32,
    /// Why this result is here when the text did not match it directly
    /// (e.g. "alert: An anomalous scheduled task was created", "replaces revoked T1574.002").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResponse {
    pub query: String,
    /// A file name the query names that is neither a Windows nor a catalogue program
    /// (`WinATP-Intro-Backdoor.exe`): said before any loose match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_program: Option<String>,
    pub results: Vec<Hit>,
    /// What the user should know about the query itself: an ID that does not exist or is
    /// deprecated, a query cut to its first part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Message>,
}

/// Constant scores of the whole-string matches: far above any text score, so an exact ID, name
/// or alias always ranks first, a program named at the start of a command line next.
const SCORE_ID: f32 = 1000.0;
const SCORE_EXACT: f32 = 500.0;
const SCORE_PROGRAM: f32 = 300.0;
const SCORE_KEYWORD: f32 = 120.0;
/// A group whose country the query names.
const SCORE_ORIGIN: f32 = 120.0;
const SCORE_ALL_WORDS_IN_NAMES: f32 = 25.0;
const SCORE_FUZZY_NAME: f32 = 60.0;
const SCORE_FUZZY_WORD: f32 = 20.0;
/// Queries longer than this many words (pasted logs) only use their first words for text match.
const MAX_WORDS: usize = 32;
/// Only this much of a query is read (a long command line fits; a pasted file does not): the
/// work per query stays bounded whatever is pasted.
const MAX_QUERY_BYTES: usize = 4096;
/// Bytes of the query's words that are analysed for text matching: the Japanese analyzer's work
/// and memory grow with the length of a run of kanji.
const MAX_TEXT_BYTES: usize = 1024;
/// Terms per field that a query matches with: 512 KB of kanji is tens of thousands of bigrams,
/// and a query of all of them takes minutes.
const MAX_TERMS: usize = 64;

/// Ranked results for any text. Never fails on the text itself; a damaged index is an error,
/// never a panic.
pub fn search(kb: &KbIndex, req: &SearchRequest) -> Result<SearchResponse> {
    crate::guard(|| search_unguarded(kb, req)).map_err(damaged_index)?
}

/// The error for a panic on the read path: only a damaged index makes tantivy panic.
pub(crate) fn damaged_index(why: String) -> Error {
    Error::Index(msg!("index.damaged_read", detail = why))
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn search_unguarded(kb: &KbIndex, req: &SearchRequest) -> Result<SearchResponse> {
    let limit = req.limit.clamp(1, 500);
    let mut response = SearchResponse {
        query: req.query.clone(),
        unknown_program: None,
        results: Vec::new(),
        notes: Vec::new(),
    };
    let query = clip(&req.query, MAX_QUERY_BYTES);
    if query.len() < req.query.len() {
        response
            .notes
            .push(msg!("search.query_cut", bytes = MAX_QUERY_BYTES));
    }
    let key = exact_key(query);
    if key.is_empty() {
        return Ok(response);
    }
    let searcher = kb.reader.searcher();
    let f = &kb.fields;
    let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let constant = |field: Field, text: &str, score: f32| -> (Occur, Box<dyn Query>) {
        (
            Occur::Should,
            Box::new(ConstScoreQuery::new(term(field, text), score)),
        )
    };

    // 1. IDs anywhere in the query; revoked IDs answer with their replacement.
    let words = split_command_line(query);
    let mut notes: Vec<(String, String)> = Vec::new();
    // "T1059," and "(T1003.001)." in pasted text are IDs too, and so are the other ways
    // sub-techniques are written: T1059/001 (attack.mitre.org URLs), attack.t1059.001 (Sigma
    // tags), T1059-001, T1003.1, "T1566.001;T1204.002".
    let id_text = id_spellings(query);
    let id_pieces: Vec<&str> = id_text
        .split(|c: char| c.is_whitespace() || ",;|()[]{}<>\"'/".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    let mut id_words: Vec<String> = Vec::new();
    for w in &id_pieces {
        let w = exact_key(w.trim_matches(|c: char| !c.is_alphanumeric()));
        let w = w.strip_prefix("attack.").unwrap_or(&w).to_string();
        if looks_like_id(&w) && !id_words.contains(&w) {
            id_words.push(w);
        }
    }
    // The query is one ID however it is spelt (`T1059/001`, `https://attack.mitre.org/...`).
    let lone_id = id_words.len() == 1
        && (words.len() == 1 || id_pieces.len() == 1)
        && !crate::text::has_japanese(query);
    if !id_words.is_empty() {
        let redirects = kb.redirects();
        for w in &id_words {
            should.push(constant(f.id, w, SCORE_ID));
            if let Some(r) = redirects.iter().find(|r| r.id.eq_ignore_ascii_case(w)) {
                let new = r.replaced_by.id.to_lowercase();
                should.push(constant(f.id, &new, SCORE_ID - 1.0));
                notes.push((
                    r.replaced_by.id.clone(),
                    format!("replaces revoked {} {}", r.id, r.name),
                ));
            } else if lookup_id(&searcher, kb, w)?.is_none() {
                let missing = missing_id(kb, &searcher, w)?;
                if let Some(p) = &missing.nearest {
                    should.push(constant(f.id, &p.to_lowercase(), SCORE_ID - 1.0));
                    notes.push((p.clone(), format!("parent of {}", w.to_uppercase())));
                }
                response.notes.push(missing.message);
            }
        }
    }

    // 2. The whole query as an ID of any form (netsh.exe, an alert's slug), a name or alias, or
    // a keyword: an ID is more specific than a name that others share.
    should.push(constant(f.id, &key, SCORE_EXACT + 50.0));
    // A data component's name is a generic phrase for what a log records (Command Execution,
    // サービスの作成, ファイアウォールの無効化); an analyst who types that phrase means the
    // behaviour, so the technique should lead. Such a name counts like a keyword, not a name.
    let data_component = || term(f.kind, Kind::DataComponent.as_str());
    let exact_of = |must_dc: bool, score: f32| -> (Occur, Box<dyn Query>) {
        let dc = if must_dc { Occur::Must } else { Occur::MustNot };
        let q = BooleanQuery::new(vec![
            (Occur::Must, term(f.exact, &key)),
            (dc, data_component()),
        ]);
        (
            Occur::Should,
            Box::new(ConstScoreQuery::new(Box::new(q), score)),
        )
    };
    should.push(exact_of(false, SCORE_EXACT));
    should.push(exact_of(true, SCORE_KEYWORD));
    // A keyword shared by several techniques (ランサムウェア) says less about each of them: its
    // weight is split among them and the text decides.
    let sharing = searcher
        .doc_freq(&Term::from_field_text(f.exact_kw, &key))
        .unwrap_or(1)
        .max(1);
    should.push(constant(f.exact_kw, &key, SCORE_KEYWORD / sharing as f32));
    let known_whole = is_exact_anywhere(&searcher, kb, &key);
    // A name of a word and a number is written with a space or a hyphen as often as without
    // (APT 29, APT-29, FIN 7 for APT29, FIN7): the joined form is the same name.
    if let Some(joined) = joined_name(&key) {
        should.push(constant(f.exact, &joined, SCORE_EXACT - 10.0));
    }

    // 2b. A concept wrapped in the words Japanese analysts put around it: 不審な/疑わしい before,
    // の悪用, 攻撃, の実行, の検知 after (`リモート管理ツールの悪用`, `Kerberoasting攻撃`,
    // `不審なキーロガー`). The text fields see the wrapper as one more word that other names may
    // share (悪用, 実行); the concept itself is a technique's or tactic's name or synonym, so the
    // unwrapped query is matched whole against those, a little below an exact match of the
    // query as typed.
    if let Some(core) = unwrapped_concept(&key, kb.query_words()) {
        let of_kind = |field: Field, score: f32| -> (Occur, Box<dyn Query>) {
            let kinds: Vec<(Occur, Box<dyn Query>)> = [Kind::Technique, Kind::Tactic]
                .iter()
                .map(|k| (Occur::Should, term(f.kind, k.as_str())))
                .collect();
            let both: Vec<(Occur, Box<dyn Query>)> = vec![
                (Occur::Must, term(field, &core)),
                (Occur::Must, Box::new(BooleanQuery::new(kinds))),
            ];
            (
                Occur::Should,
                Box::new(ConstScoreQuery::new(
                    Box::new(BooleanQuery::new(both)),
                    score,
                )),
            )
        };
        should.push(of_kind(f.exact, SCORE_EXACT * 0.6));
        let sharing = searcher
            .doc_freq(&Term::from_field_text(f.exact_kw, &core))
            .unwrap_or(1)
            .max(1);
        should.push(of_kind(f.exact_kw, SCORE_KEYWORD / sharing as f32));
    }

    // 3. A command line: its first word names the program. Not when the whole query is itself
    // a name or keyword (`remote desktop` is RDP, not remote.exe with a word after it): a
    // phrase known whole means what it names, and the program still counts if it is the one.
    if words.len() > 1 && !known_whole {
        let program = exact_key(program_name(&words[0]));
        should.push(constant(f.program, &program, SCORE_PROGRAM));
    }

    // 4. Words in names, keywords and descriptions, each field with its analyzer.
    // A command line is read like `kb explain` reads it: its program and this command's
    // techniques lead, and only its plain words match text (a path's `Users` is not Hidden
    // Users, `C:` is not C#, `/f` is not F#).
    let command = if words.len() > 1 {
        command_techniques(kb, query, &words)?
    } else {
        None
    };
    let text: String = {
        let plain: Vec<String>;
        let source: &str = if command.is_some() {
            plain = words.iter().filter(|w| is_plain_word(w)).cloned().collect();
            &plain.join(" ")
        } else {
            query
        };
        let n = crate::text::space_scripts(&normalize(source));
        let words = n
            .split_whitespace()
            .take(MAX_WORDS)
            .collect::<Vec<_>>()
            .join(" ");
        clip(&words, MAX_TEXT_BYTES).to_string()
    };
    let fields: [(Field, &str, f32); 8] = [
        (f.grams_ja, analysis::CJK2, 0.5),
        (f.names_en, analysis::EN, 5.0),
        (f.names_ja, analysis::JA, 5.0),
        (f.keywords_en, analysis::EN, 3.0),
        (f.keywords_ja, analysis::JA, 3.0),
        (f.code, analysis::CODE, 4.0),
        (f.text_en, analysis::EN, 1.0),
        (f.text_ja, analysis::JA, 1.0),
    ];
    // All of the query's analysis happens here, as one phase: the Japanese analyzer walks the
    // dictionary, whose pages a one-shot process gives back before and after (see `memory`).
    crate::memory::phase_done();
    let origin_keys = analysis::phrase_keys(
        &kb.index,
        &normalize(clip(query, MAX_TEXT_BYTES)),
        crate::index::ORIGIN_WORDS,
    );
    let analysed: Vec<Vec<String>> = fields
        .iter()
        .map(|(_, analyzer, _)| {
            let mut tokens = analysis::analyze(&kb.index, analyzer, &text);
            tokens.truncate(MAX_TERMS);
            tokens
        })
        .collect();
    crate::memory::phase_done();

    // A country or its agencies (Russian, 中国系, 北朝鮮の APT, GRU) named as whole words: that
    // country's groups come first, above names that merely share a word.
    for k in origin_keys.iter().take(MAX_TERMS * 4) {
        if searcher
            .doc_freq(&Term::from_field_text(f.origin, k))
            .is_ok_and(|n| n > 0)
        {
            should.push(constant(f.origin, k, SCORE_ORIGIN));
        }
    }

    let mut unknown: Vec<String> = Vec::new();
    for ((field, _, boost), tokens) in fields.into_iter().zip(analysed) {
        if tokens.is_empty() {
            continue;
        }
        let terms: Vec<(Occur, Box<dyn Query>)> = tokens
            .iter()
            .map(|t| {
                let q = TermQuery::new(
                    Term::from_field_text(field, t),
                    IndexRecordOption::WithFreqs,
                );
                (Occur::Should, Box::new(q) as Box<dyn Query>)
            })
            .collect();
        should.push((
            Occur::Should,
            Box::new(BoostQuery::new(Box::new(BooleanQuery::new(terms)), boost)),
        ));
        // Every word of a multi-word query among one entity's names and keywords: "pass the
        // hash", "ランサムウェア 暗号化".
        let terms_field = if field == f.names_en {
            Some(f.terms_en)
        } else if field == f.names_ja {
            Some(f.terms_ja)
        } else {
            None
        };
        if let (Some(tf), true) = (terms_field, tokens.len() > 1) {
            let all: Vec<(Occur, Box<dyn Query>)> =
                tokens.iter().map(|t| (Occur::Must, term(tf, t))).collect();
            should.push((
                Occur::Should,
                Box::new(ConstScoreQuery::new(
                    Box::new(BooleanQuery::new(all)),
                    SCORE_ALL_WORDS_IN_NAMES,
                )),
            ));
        }
        if field == f.code {
            unknown = tokens
                .into_iter()
                .filter(|t| is_unknown(&searcher, kb, t))
                .collect();
        }
    }

    // 5. Typos: a word the index has never seen is matched with edit distance, first against
    // whole names and aliases (mimikats -> Mimikatz, schtask -> schtasks.exe), then against
    // program and name words. A mistyped multi-word name (cobalt strke) is tried whole.
    let fuzzy = |field: Field, text: &str, prefix: bool, score: f32| -> (Occur, Box<dyn Query>) {
        let n = text.chars().count();
        let distance = if prefix {
            0
        } else if n >= 8 {
            2
        } else {
            1
        };
        let target = Term::from_field_text(field, text);
        let q = if prefix {
            FuzzyTermQuery::new_prefix(target, distance, true)
        } else {
            FuzzyTermQuery::new(target, distance, true)
        };
        (
            Occur::Should,
            Box::new(ConstScoreQuery::new(Box::new(q), score)),
        )
    };
    let typo_words: Vec<&String> = unknown
        .iter()
        .filter(|t| (4..=40).contains(&t.chars().count()))
        .take(6)
        .collect();
    if !typo_words.is_empty() && key.contains(' ') && key.chars().count() <= 60 {
        should.push(fuzzy(f.exact, &key, false, SCORE_FUZZY_NAME));
    }
    // A one-word query that is no name, alias or keyword, nor a word of one (Sandworm of
    // Sandworm Team), may still be a misspelt one whose stem happens to exist (persistance ->
    // persist, exfilration): the English stemmer makes such a word look known, so the
    // word-level typo test above never sees it.
    let one_word = !key.contains(' ')
        && (5..=40).contains(&key.chars().count())
        && key.chars().all(|c| c.is_ascii_alphabetic() || c == '-');
    if one_word
        && !typo_words.iter().any(|t| **t == key)
        && !known_whole
        && searcher
            .doc_freq(&Term::from_field_text(f.code, &key))
            .is_ok_and(|n| n == 0)
    {
        should.push(fuzzy(f.exact, &key, false, SCORE_FUZZY_NAME));
        should.push(fuzzy(f.exact, &key, true, SCORE_FUZZY_NAME * 0.75));
        should.push(fuzzy(f.exact_kw, &key, false, SCORE_FUZZY_NAME * 0.75));
    }
    for t in typo_words {
        should.push(fuzzy(f.exact, t, false, SCORE_FUZZY_NAME));
        // A long word is matched within two edits; a name one edit away is the likelier
        // meaning (netstatt: netstat before nbtstat), so it gets a little more.
        if t.chars().count() >= 8 {
            let near = FuzzyTermQuery::new(Term::from_field_text(f.exact, t), 1, true);
            should.push((
                Occur::Should,
                Box::new(ConstScoreQuery::new(
                    Box::new(near),
                    SCORE_FUZZY_NAME * 0.25,
                )),
            ));
        }
        should.push(fuzzy(f.exact, t, true, SCORE_FUZZY_NAME * 0.75));
        // A technique's synonyms are names too (kerberost -> kerberoast).
        should.push(fuzzy(f.exact_kw, t, false, SCORE_FUZZY_NAME * 0.75));
        should.push(fuzzy(f.code, t, false, SCORE_FUZZY_WORD));
    }

    let filter = Filter::resolve(kb, &searcher, req)?;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> =
        vec![(Occur::Must, Box::new(BooleanQuery::new(should)))];
    clauses.extend(filter.clauses(f));
    let query = BooleanQuery::new(clauses);

    // Text scores are re-weighted by each entity's prior, so a few more than asked for are
    // fetched; only those that make the cut (and one for the alert rule) are read in full.
    let depth = (limit * 3).max(30);
    let top = searcher.search(&query, &TopDocs::with_limit(depth).order_by_score())?;
    let mut scored: Vec<(f32, DocAddress)> = top
        .into_iter()
        .map(|(score, addr)| (score * prior(&searcher, addr), addr))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.truncate(limit + 1);

    let mut hits = Vec::with_capacity(scored.len());
    for (score, addr) in scored {
        let stored = stored_hit(&searcher, kb, addr)?;
        let via = notes
            .iter()
            .find(|(id, _)| *id == stored.id)
            .map(|(_, n)| n.clone());
        hits.push(Hit { stored, score, via });
    }
    promote_alert_technique(&mut hits, &searcher, kb, &filter)?;
    // An alert title that names a program (`cmd.exe による疑わしい動作…`) stays an alert.
    let alert_led = hits.first().is_some_and(|h| h.via.is_some());
    if let (Some(ids), false) = (&command, alert_led) {
        promote(&mut hits, ids, &searcher, kb, &filter)?;
    }
    // A lone ID: the object, then its family (parent, sub-techniques), then what its
    // relationships name; other text matches (other techniques' detection strategies that
    // share a number) come last.
    if lone_id {
        family_first(&mut hits, &id_words[0], &searcher, kb, &filter)?;
    } else if id_words.is_empty()
        && command.is_none()
        && filter.kinds == [Kind::Binary]
        && let Some(t) = concept_technique(&searcher, kb, &key)?
    {
        // Programs for a concept (ダウンロード, download) are those that carry its technique.
        family_first(&mut hits, &t, &searcher, kb, &filter)?;
    }
    hits.truncate(limit);
    response.results = hits;
    if words.len() == 1 {
        let name = program_name(&words[0]);
        let code = [
            ".exe", ".dll", ".ps1", ".bat", ".cmd", ".vbs", ".js", ".hta", ".scr", ".com",
        ];
        let lower = name.to_ascii_lowercase();
        if code.iter().any(|x| lower.ends_with(x)) && program(kb, name)?.is_none() {
            response.unknown_program = Some(name.to_string());
        }
    }
    Ok(response)
}

/// The concept inside a Japanese query wrapped in an analyst's qualifier (不審な, 疑わしい) or
/// a trailing word for what was done with it (悪用, 攻撃, 検知), the words kb/ja/vocabulary.toml
/// lists; None when there is no wrapper or nothing would be left. `key` is an exact key: a
/// linking の is already gone (`リモート管理ツールの悪用` -> `リモート管理ツール悪用`).
fn unwrapped_concept(key: &str, words: &QueryWords) -> Option<String> {
    if !crate::text::has_japanese(key) {
        return None;
    }
    // The longest wrapper that fits: の悪用 before 悪用.
    let longest = |list: &[String], strip: &dyn Fn(&str) -> Option<usize>| {
        list.iter()
            .map(|w| exact_key(w))
            .filter(|w| !w.is_empty())
            .filter_map(|w| strip(&w))
            .max()
    };
    let mut core = key;
    if let Some(n) = longest(&words.before, &|w| core.starts_with(w).then_some(w.len())) {
        core = core[n..].trim_start();
    }
    if let Some(n) = longest(&words.after, &|w| core.ends_with(w).then_some(w.len())) {
        core = core[..core.len() - n].trim_end();
    }
    (core != key && core.chars().count() >= 2).then(|| core.to_string())
}

fn family_first(
    hits: &mut Vec<Hit>,
    id: &str,
    searcher: &Searcher,
    kb: &KbIndex,
    filter: &Filter,
) -> Result<()> {
    use crate::model::Rel;
    let Some(addr) = lookup_id(searcher, kb, id)? else {
        return Ok(());
    };
    let e = record(searcher, kb, addr)?;
    let mut ids = vec![e.id.clone()];
    let mut add = |refs: &[crate::model::Ref]| {
        for r in refs {
            if !ids.contains(&r.id) {
                ids.push(r.id.clone());
            }
        }
    };
    add(e.related(Rel::Parent));
    add(e.related(Rel::Subtechniques));
    // A sub-technique's siblings are its family too.
    if let Some(parent) = e.related(Rel::Parent).first()
        && let Some(p) = lookup_id(searcher, kb, &parent.id)?
    {
        add(record(searcher, kb, p)?.related(Rel::Subtechniques));
    }
    for rel in [
        Rel::DetectionStrategies,
        Rel::Mitigations,
        Rel::Binaries,
        Rel::Alerts,
        Rel::Events,
        Rel::Techniques,
        Rel::Software,
        Rel::Groups,
        Rel::Campaigns,
    ] {
        if rel == Rel::Binaries {
            add(&typical_binaries(e.related(rel), &e.id, searcher, kb)?);
        } else {
            add(e.related(rel));
        }
    }
    // The family and its relations replace the text matches (other techniques' strategies
    // that only share a number); only as many as can be shown are fetched, of the kinds asked.
    if !filter.kinds.is_empty() {
        let kinds: Vec<&str> = filter.kinds.iter().map(|k| k.as_str()).collect();
        let kind_of = |id: &String| {
            e.relations
                .values()
                .flatten()
                .find(|r| &r.id == id)
                .map_or(e.kind, |r| r.kind)
        };
        ids.retain(|id| kinds.contains(&kind_of(id).as_str()));
    }
    let limit = hits.len().max(10);
    ids.truncate(limit);
    promote(hits, &ids, searcher, kb, filter)?;
    hits.retain(|h| ids.contains(&h.stored.id));
    Ok(())
}

/// The technique a whole query names (its name, an alias or a keyword), if one does.
fn concept_technique(searcher: &Searcher, kb: &KbIndex, key: &str) -> Result<Option<String>> {
    let f = &kb.fields;
    let names = BooleanQuery::new(vec![
        (Occur::Should, term(f.exact, key)),
        (Occur::Should, term(f.exact_kw, key)),
    ]);
    let q = BooleanQuery::new(vec![
        (Occur::Must, Box::new(names) as Box<dyn Query>),
        (Occur::Must, term(f.kind, "technique")),
    ]);
    let top = searcher.search(&q, &TopDocs::with_limit(8).order_by_score())?;
    let best = top
        .into_iter()
        .map(|(_, a)| (prior(searcher, a), a))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, addr)) => Ok(Some(stored_hit(searcher, kb, addr)?.id)),
        None => Ok(None),
    }
}

/// The programs that carry a technique, most typical first: those whose own list puts it
/// first (certutil and bitsadmin for T1105), then the better connected.
fn typical_binaries(
    refs: &[crate::model::Ref],
    technique: &str,
    searcher: &Searcher,
    kb: &KbIndex,
) -> Result<Vec<crate::model::Ref>> {
    let mut ranked = Vec::with_capacity(refs.len());
    for r in refs {
        let Some(addr) = lookup_id(searcher, kb, &r.id)? else {
            continue;
        };
        let hit = stored_hit(searcher, kb, addr)?;
        // A sub-technique counts for its parent's list (T1218.011 under T1218).
        let place = hit
            .techniques
            .iter()
            .position(|t| t.id == technique || t.id.starts_with(&format!("{technique}.")))
            .unwrap_or(usize::MAX);
        ranked.push((place, -prior(searcher, addr), r.clone()));
    }
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    Ok(ranked.into_iter().map(|(_, _, r)| r).collect())
}

/// For a query that is a command line (it has switches, paths or a program's file name): the
/// program's entry, then the techniques `kb explain` finds for it.
fn command_techniques(kb: &KbIndex, query: &str, words: &[String]) -> Result<Option<Vec<String>>> {
    // Prose that starts with a program's name ("System file masquerade", "Adfind tool …")
    // is not a command line: a command has a switch, a path, or a program's file name.
    let shaped = words[1..]
        .iter()
        .any(|w| w.starts_with(['/', '-']) || w.contains('\\'))
        || (words[0].contains(['.', '\\']) && !crate::text::has_japanese(query));
    if !shaped {
        // Pasted PowerShell code (`IEX (New-Object Net.WebClient).DownloadString(…)`) has no
        // switch or path up front, but `kb explain` reads it as a script: when it finds a
        // technique there, the query is code, not prose (its `Net` is not net.exe). Prose has
        // none of code's punctuation, and is not read (an explanation costs a search's time).
        let code = query.contains(['(', '$', '|', '{', '[', ';']);
        if !code || crate::text::has_japanese(query) {
            return Ok(None);
        }
    }
    let e = crate::explain::explain(kb, query, crate::explain::Lang::En)?;
    if !shaped && (e.kind != "script" || e.techniques.is_empty()) {
        return Ok(None);
    }
    let mut ids: Vec<String> = Vec::new();
    // A launcher running another command (`cmd.exe /c reg add …\Run …`): when nothing in the
    // launcher's own arguments proves a technique (its techniques are only its usual abuse) but
    // the command it runs does, that command is what the line is about, so its program and
    // techniques go first; the launcher follows. A wrapper whose own arguments prove something
    // (`wmic … process call create "cmd /c whoami"`) stays first.
    // (The launcher's list repeats what its nested parts prove; only the rest is its own.)
    let proven = |n: &crate::explain::Explanation| {
        n.techniques
            .iter()
            .filter(|t| t.confidence != "usual")
            .map(|t| t.id.clone())
            .collect::<Vec<_>>()
    };
    // A command built into cmd.exe (`echo … > a.txt:s`, `del`) is the launcher at work, not
    // another program: cmd.exe stays the answer for it.
    let builtin = crate::source::curated::BinaryKind::CmdBuiltin.slug();
    let inner = e.nested.iter().find(|n| {
        n.program.is_some()
            && n.catalogue.as_ref().is_none_or(|c| c.kind != builtin)
            && !proven(n).is_empty()
    });
    let outer_proves = proven(&e)
        .iter()
        .any(|id| !e.nested.iter().any(|n| proven(n).contains(id)));
    // (Pasted code that is no command line keeps explain's own order.)
    if shaped
        && !outer_proves
        && let Some(inner) = inner
    {
        ids.extend(inner.program.clone());
        ids.extend(inner.techniques.iter().take(5).map(|t| t.id.clone()));
    }
    for id in e
        .program
        .into_iter()
        .chain(e.techniques.into_iter().take(5).map(|t| t.id))
    {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(Some(ids))
}

/// A word of a command line that may match names: not a switch, path, URL, address or
/// account, and not a bare number.
fn is_plain_word(w: &str) -> bool {
    !w.starts_with(['/', '-', '+', '\\', '%', '$'])
        && !w.contains(['\\', '/', ':', '=', '.', '@'])
        && !w.chars().all(|c| c.is_ascii_digit())
}

/// Puts `ids` first, in their order, above every other result (fetching those the text did
/// not find, when the filters admit them).
fn promote(
    hits: &mut Vec<Hit>,
    ids: &[String],
    searcher: &Searcher,
    kb: &KbIndex,
    filter: &Filter,
) -> Result<()> {
    let top = hits.first().map_or(1.0, |h| h.score);
    let mut front = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let hit = match hits
            .iter()
            .position(|h| h.stored.id.eq_ignore_ascii_case(id))
        {
            Some(p) => hits.remove(p),
            None => {
                let Some(addr) = lookup_id(searcher, kb, id)? else {
                    continue;
                };
                let stored = stored_hit(searcher, kb, addr)?;
                if !filter.admits(&stored) || front.iter().any(|h: &Hit| h.stored.id == stored.id) {
                    continue;
                }
                Hit {
                    stored,
                    score: 0.0,
                    via: None,
                }
            }
        };
        let mut hit = hit;
        hit.score = top + (ids.len() - i) as f32;
        front.push(hit);
    }
    front.append(hits);
    *hits = front;
    Ok(())
}

/// The query with a technique's sub-technique number joined to it the canonical way:
/// `T1059/001`, `T1059-001`, `T1059 .001`, `T1059 001` and `T1003.1` become `t1059.001`,
/// `t1003.001`.
fn id_spellings(query: &str) -> String {
    static SUB: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = SUB.get_or_init(|| {
        // A bare space joins only a full three-digit number (`T1059 001`): `T1059 1` may be
        // a count or a second word, but three digits after a technique are its sub-number.
        regex::Regex::new(
            r"(?i)\b(t\d{4})(?:(?:\s*[./_-]\s*|\s+\.)(\d{1,3})|\s+(\d{3}))\b(?:[^.\d]|$)",
        )
        .expect("valid regex")
    });
    let mut out = String::with_capacity(query.len());
    let mut last = 0;
    for c in re.captures_iter(query) {
        let number = c.get(2).or_else(|| c.get(3)).expect("group");
        let (whole, t, sub) = (c.get(0).expect("match"), &c[1], number.as_str());
        let end = number.end();
        out.push_str(&query[last..whole.start()]);
        out.push_str(&format!("{}.{:0>3}", t.to_ascii_lowercase(), sub));
        last = end;
    }
    out.push_str(&query[last..]);
    out
}

/// `apt29` for `apt 29` or `apt-29`: a word of letters, then a space or hyphen, then a number.
fn joined_name(key: &str) -> Option<String> {
    let (word, number) = key.split_once([' ', '-'])?;
    let letters = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphabetic());
    let digits =
        !number.is_empty() && number.len() <= 5 && number.chars().all(|c| c.is_ascii_digit());
    (letters && digits).then(|| format!("{word}{number}"))
}

/// True when the whole key is an ID, name, alias or keyword of some entity.
fn is_exact_anywhere(searcher: &Searcher, kb: &KbIndex, key: &str) -> bool {
    let f = &kb.fields;
    [f.id, f.exact, f.exact_kw, f.program].iter().any(|&field| {
        searcher
            .doc_freq(&Term::from_field_text(field, key))
            .is_ok_and(|n| n > 0)
    })
}

/// ATT&CK-style IDs: T1053, T1053.005, TA0003, G0016, S0002, M1036, C0024, DS0009, DC0001,
/// DET0001, AN0001 (already lower-cased).
fn looks_like_id(w: &str) -> bool {
    let (head, sub) = w.split_once('.').unwrap_or((w, ""));
    let letters = head.chars().take_while(|c| c.is_ascii_alphabetic()).count();
    let digits = &head[letters..];
    let prefix_ok = matches!(
        &head[..letters],
        "t" | "ta" | "g" | "s" | "m" | "c" | "ds" | "dc" | "det" | "an" | "a"
    );
    prefix_ok
        && digits.len() == 4
        && digits.chars().all(|c| c.is_ascii_digit())
        && (sub.is_empty() || (sub.len() == 3 && sub.chars().all(|c| c.is_ascii_digit())))
}

/// True when no field of the index holds the word in the form that field's analyzer gives it
/// (`scheduled` is `schedul` in the English fields): a typo candidate. Japanese words are never
/// typo candidates; their spelling variants are what the bigram field is for.
fn is_unknown(searcher: &Searcher, kb: &KbIndex, token: &str) -> bool {
    if crate::text::has_japanese(token) {
        return false;
    }
    let f = &kb.fields;
    let absent = |field: Field, term: &str| {
        searcher
            .doc_freq(&Term::from_field_text(field, term))
            .map_or(true, |n| n == 0)
    };
    let english = analysis::analyze(&kb.index, analysis::EN, token);
    absent(f.code, token)
        && english.iter().all(|t| {
            [f.names_en, f.text_en, f.keywords_en]
                .iter()
                .all(|&fl| absent(fl, t))
        })
}

/// The filters of a request, resolved against the index once: they restrict the query and
/// decide whether a result added afterwards (an alert's technique) may be shown.
struct Filter {
    kinds: Vec<Kind>,
    domain: Option<String>,
    tactics: Option<Vec<String>>,
}

/// A domain as given (`enterprise`, `ICS`, `mobile-attack`) in its ATT&CK form
/// (`enterprise-attack`), or an error that lists the domains.
pub fn domain(given: &str) -> Result<String> {
    crate::source::stix::parse_domain(given)
        .map(str::to_string)
        .ok_or_else(|| {
            Error::NotFound(msg!("search.unknown_domain", domain = format!("{given:?}")))
        })
}

impl Filter {
    fn resolve(kb: &KbIndex, searcher: &Searcher, req: &SearchRequest) -> Result<Filter> {
        let domain = req.domain.as_deref().map(domain).transpose()?;
        let tactics = match &req.tactic {
            None => None,
            Some(t) => {
                let ids = resolve_tactic(kb, searcher, t)?;
                if ids.is_empty() {
                    return Err(Error::NotFound(msg!(
                        "search.unknown_tactic",
                        tactic = format!("{t:?}"),
                        raw = t
                    )));
                }
                Some(ids)
            }
        };
        Ok(Filter {
            kinds: req.kinds.clone(),
            domain,
            tactics,
        })
    }

    fn clauses(&self, f: &crate::index::Fields) -> Vec<(Occur, Box<dyn Query>)> {
        let any_of = |field: Field, values: &[String]| -> (Occur, Box<dyn Query>) {
            let qs: Vec<(Occur, Box<dyn Query>)> = values
                .iter()
                .map(|v| (Occur::Should, term(field, v)))
                .collect();
            (Occur::Must, Box::new(BooleanQuery::new(qs)))
        };
        let mut out = Vec::new();
        if !self.kinds.is_empty() {
            let kinds: Vec<String> = self.kinds.iter().map(|k| k.as_str().to_string()).collect();
            out.push(any_of(f.kind, &kinds));
        }
        if let Some(d) = &self.domain {
            out.push(any_of(f.domain, std::slice::from_ref(d)));
        }
        if let Some(t) = &self.tactics {
            out.push(any_of(f.tactic, t));
        }
        out
    }

    fn admits(&self, hit: &StoredHit) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&hit.kind))
            && self.domain.as_ref().is_none_or(|d| hit.domains.contains(d))
            && self.tactics.as_ref().is_none_or(|ts| {
                hit.tactics
                    .iter()
                    .any(|t| ts.contains(&t.id.to_lowercase()))
            })
    }
}

/// A tactic given as an ID or as any of its names (English shortname, Japanese variants); only
/// tactics that exist in the index.
fn resolve_tactic(kb: &KbIndex, searcher: &Searcher, value: &str) -> Result<Vec<String>> {
    let key = exact_key(value);
    let f = &kb.fields;
    let names = vec![
        (Occur::Should, term(f.id, &key)),
        (Occur::Should, term(f.exact, &key)),
        (Occur::Should, term(f.exact, &key.replace(['-', '_'], " "))),
    ];
    let q = BooleanQuery::new(vec![
        (Occur::Must, Box::new(BooleanQuery::new(names))),
        (Occur::Must, term(f.kind, "tactic")),
    ]);
    let top = searcher.search(&q, &TopDocs::with_limit(8).order_by_score())?;
    top.into_iter()
        .map(|(_, a)| stored_hit(searcher, kb, a).map(|h| h.id.to_lowercase()))
        .collect()
}

fn prior(searcher: &Searcher, addr: DocAddress) -> f32 {
    let seg = searcher.segment_reader(addr.segment_ord);
    seg.fast_fields()
        .u64("weight")
        .ok()
        .and_then(|c| c.first(addr.doc_id))
        .map_or(1.0, |w| w as f32 / 1000.0)
}

fn stored_hit(searcher: &Searcher, kb: &KbIndex, addr: DocAddress) -> Result<StoredHit> {
    stored_json(searcher, addr, kb.fields.hit)
}

/// A JSON document stored in `field` of the document at `addr` (the hit or the full record).
fn stored_json<T: serde::de::DeserializeOwned>(
    searcher: &Searcher,
    addr: DocAddress,
    field: Field,
) -> Result<T> {
    let doc: TantivyDocument = searcher.doc(addr)?;
    let damaged =
        |why: crate::message::Message| Error::Index(msg!("index.damaged_record").with("why", why));
    let json = doc
        .get_first(field)
        .and_then(|v| v.as_str())
        .ok_or_else(|| damaged(msg!("index.record_missing")))?;
    serde_json::from_str(json).map_err(|e| damaged(e.to_string().into()))
}

/// An alert title or an event number is a pointer: an analyst who pastes one wants the
/// technique behind it. When an alert or an event is the best hit, its first technique goes
/// right above it (the pointer itself stays second, named in the technique's `via`).
fn promote_alert_technique(
    hits: &mut Vec<Hit>,
    searcher: &Searcher,
    kb: &KbIndex,
    filter: &Filter,
) -> Result<()> {
    let Some(top) = hits.first() else {
        return Ok(());
    };
    if !matches!(top.stored.kind, Kind::Alert | Kind::Event) {
        return Ok(());
    }
    let Some(tech) = top.stored.techniques.first().cloned() else {
        return Ok(());
    };
    let via = format!("{}: {}", top.stored.kind, top.stored.name);
    let score = top.score;
    let existing = hits.iter().position(|h| h.stored.id == tech.id);
    let mut hit = match existing {
        // Already a result, so it passed the filters.
        Some(i) => hits.remove(i),
        None => {
            let Some(addr) = lookup_id(searcher, kb, &tech.id)? else {
                return Ok(());
            };
            let stored = stored_hit(searcher, kb, addr)?;
            if !filter.admits(&stored) {
                return Ok(());
            }
            Hit {
                stored,
                score,
                via: None,
            }
        }
    };
    hit.score = hit.score.max(score);
    hit.via = Some(via);
    hits.insert(0, hit);
    Ok(())
}

/// A match of one whole term, without scoring statistics.
fn term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

fn lookup_id(searcher: &Searcher, kb: &KbIndex, id: &str) -> Result<Option<DocAddress>> {
    let q = term(kb.fields.id, &exact_key(id));
    let top = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
    Ok(top.first().map(|(_, a)| *a))
}

/// The full record behind an ID or a name, and the revoked object it stands in for, if any.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shown {
    #[serde(flatten)]
    pub entity: Entity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirected_from: Option<Redirect>,
    /// Other objects with exactly the name that was asked for (ATT&CK has three "Domain
    /// Accounts"): the one shown is the most connected; these are the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub same_name: Vec<crate::model::Ref>,
    /// The other name it was asked by (常設 for TA0003), when not its ID or main name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_as: Option<String>,
}

/// The full record of an ID or name. An ID that is not there says whether it never existed or
/// was deprecated, and offers the nearest live one.
pub fn show(kb: &KbIndex, key: &str) -> Result<Shown> {
    crate::guard(|| show_unguarded(kb, key)).map_err(damaged_index)?
}

/// Why an ATT&CK-style ID is not in the index, and the nearest live ID (its parent technique).
struct Missing {
    message: Message,
    nearest: Option<String>,
}

fn missing_id(kb: &KbIndex, searcher: &Searcher, id: &str) -> Result<Missing> {
    let id = id.to_uppercase();
    let parent = match id.split_once('.') {
        Some((p, _)) => lookup_id(searcher, kb, p)?
            .map(|a| stored_hit(searcher, kb, a))
            .transpose()?,
        None => None,
    };
    let nearest = match &parent {
        Some(p) => msg!("id.parent_hint", id = &p.id, name = &p.name),
        None => Message::from(""),
    };
    let message = match kb
        .deprecated()
        .iter()
        .find(|d| d.id.eq_ignore_ascii_case(&id))
    {
        // STIX records no deprecation date; the record's last change is the nearest one.
        Some(d) => msg!("id.deprecated", id = &d.id, name = &d.name)
            .with(
                "since",
                match d.since.as_deref() {
                    Some(s) => msg!("id.deprecated_since", date = s),
                    None => Message::from(""),
                },
            )
            .with("nearest", nearest),
        None => {
            let releases: Vec<String> = kb
                .manifest
                .sources
                .iter()
                .map(|s| format!("{} {}", s.domain, s.version))
                .collect();
            msg!("id.unknown", id = &id, releases = releases.join(", ")).with("nearest", nearest)
        }
    };
    Ok(Missing {
        message,
        nearest: parent.map(|p| p.id),
    })
}

fn show_unguarded(kb: &KbIndex, key: &str) -> Result<Shown> {
    let searcher = kb.reader.searcher();
    let k = exact_key(key);
    let not_found = || {
        Error::NotFound(msg!(
            "show.not_found",
            key = format!("{key:?}"),
            query = shell_quote(key)
        ))
    };
    if k.is_empty() {
        return Err(not_found());
    }
    if let Some(addr) = lookup_id(&searcher, kb, &k)? {
        return Ok(Shown {
            entity: record(&searcher, kb, addr)?,
            redirected_from: None,
            same_name: Vec::new(),
            asked_as: None,
        });
    }
    let redirect = if looks_like_id(&k) {
        kb.redirects()
            .iter()
            .find(|r| r.id.eq_ignore_ascii_case(&k))
            .cloned()
    } else {
        None
    };
    if let Some(r) = redirect
        && let Some(addr) = lookup_id(&searcher, kb, &r.replaced_by.id)?
    {
        return Ok(Shown {
            entity: record(&searcher, kb, addr)?,
            redirected_from: Some(r),
            same_name: Vec::new(),
            asked_as: None,
        });
    }
    if looks_like_id(&k) {
        return Err(Error::NotFound(missing_id(kb, &searcher, &k)?.message));
    }
    // A name or alias: the best-weighted entity that has it.
    let q = term(kb.fields.exact, &k);
    let top = searcher.search(&q, &TopDocs::with_limit(16).order_by_score())?;
    let mut ranked: Vec<(f32, DocAddress)> = top
        .into_iter()
        .map(|(_, a)| (prior(&searcher, a), a))
        .collect();
    ranked.sort_by(|(pa, a), (pb, b)| pb.total_cmp(pa).then(a.cmp(b)));
    let Some(&(_, addr)) = ranked.first() else {
        return Err(not_found());
    };
    let same_name = ranked[1..]
        .iter()
        .map(|&(_, a)| stored_hit(&searcher, kb, a))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(|h| crate::model::Ref {
            id: h.id,
            kind: h.kind,
            name: h.name,
            name_ja: h.name_ja,
            note: None,
        })
        .collect();
    let entity = record(&searcher, kb, addr)?;
    let main = [Some(&entity.name), entity.name_ja.as_ref()];
    let asked_as =
        (!main.iter().flatten().any(|n| exact_key(n) == k)).then(|| key.trim().to_string());
    Ok(Shown {
        entity,
        redirected_from: None,
        same_name,
        asked_as,
    })
}

fn record(searcher: &Searcher, kb: &KbIndex, addr: DocAddress) -> Result<Entity> {
    stored_json(searcher, addr, kb.fields.record)
}

/// `s` as one shell word, for a hint to copy. Control characters are escaped: a hint never
/// carries an escape sequence to the terminal.
fn shell_quote(s: &str) -> String {
    let s = crate::text::escape_controls(s);
    if s.chars().all(|c| c.is_alphanumeric() || "._-".contains(c)) {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The search result of one ATT&CK or catalogue ID (names, tactics), without its full record.
pub fn hit_by_id(kb: &KbIndex, id: &str) -> Result<Option<StoredHit>> {
    let searcher = kb.reader.searcher();
    match lookup_id(&searcher, kb, id)? {
        Some(addr) => stored_hit(&searcher, kb, addr).map(Some),
        None => Ok(None),
    }
}

/// The catalogue entry a program name means: its file name or an alias, with or without
/// `.exe` (`schtasks`, `SCHTASKS.EXE`, `procdump64`).
pub fn program(kb: &KbIndex, name: &str) -> Result<Option<Entity>> {
    let key = exact_key(name);
    if key.is_empty() {
        return Ok(None);
    }
    let searcher = kb.reader.searcher();
    let stem = key.strip_suffix(".exe").unwrap_or(&key).to_string();
    for candidate in [key.clone(), format!("{stem}.exe"), stem] {
        let top = searcher.search(
            &term(kb.fields.program, &candidate),
            &TopDocs::with_limit(1).order_by_score(),
        )?;
        if let Some((_, addr)) = top.first() {
            return record(&searcher, kb, *addr).map(Some);
        }
    }
    // A system process is indexed under its file name only.
    match lookup_id(&searcher, kb, &key)? {
        Some(addr) => {
            let e = record(&searcher, kb, addr)?;
            Ok(e.binary.is_some().then_some(e))
        }
        None => Ok(None),
    }
}
