//! Issue 7, `kb search` under 20 MB: a one-shot process gives back the embedded dictionary's
//! pages once a query is analysed, and analyses the same afterwards. Alone in its test binary,
//! so no other test touches pages while the resident set is read. (The peak figures themselves
//! are reported by scripts/bench.sh.)

use attack_kb::index::analysis::JapaneseTokenizer;
use attack_kb::memory;
use tantivy::tokenizer::{TokenStream, Tokenizer};

/// Resident pages mapped from files (the executable's code and IPADIC among them), in kB.
fn resident_file_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssFile:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("RssFile in /proc/self/status")
}

fn tokens(text: &str) -> Vec<String> {
    let mut t = JapaneseTokenizer::new().expect("the embedded dictionary loads");
    let mut stream = t.token_stream(text);
    let mut out = Vec::new();
    while let Some(tok) = stream.next() {
        out.push(tok.text.clone());
    }
    out
}

#[test]
fn after_a_japanese_sentence_is_analysed_its_dictionary_pages_are_given_back() {
    let sentence = "スケジュールされたタスクを使った永続化の手口と、レジストリの実行キーへの登録を教えてください";
    let before = tokens(sentence);
    assert!(before.contains(&"永続".to_string()) || before.contains(&"永続化".to_string()));

    // Off by default (a server keeps its pages): nothing is given back.
    let touched = resident_file_kb();
    memory::phase_done();
    assert!(
        resident_file_kb() + 1024 > touched,
        "pages given back while trimming is off"
    );
    memory::trim_between_phases(true);
    memory::phase_done();
    let trimmed = resident_file_kb();
    assert!(
        trimmed + 4 * 1024 < touched,
        "resident file pages {touched} kB → {trimmed} kB: the dictionary's pages stayed"
    );

    // The pages come back from the file on the next touch, unchanged.
    assert_eq!(tokens(sentence), before);
    memory::trim_between_phases(false);
}
