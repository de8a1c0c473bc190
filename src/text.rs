//! Small text helpers shared by ingest, indexing and querying: Unicode normalisation, cleaning
//! MITRE's Markdown, and splitting a query the way a command line is split. No I/O here.

use unicode_normalization::UnicodeNormalization;

/// NFKC + lower case: full-width `ＴＡ０００３` and half-width katakana match their usual forms.
pub fn normalize(s: &str) -> String {
    let n: String = s.nfkc().flat_map(char::to_lowercase).collect();
    // The katakana middle dot between the words of a loanword is optional in Japanese writing
    // (パス・ザ・ハッシュ, パスザハッシュ; ラテラル・ムーブメント): documents and queries use either,
    // so it is dropped wherever it joins two katakana.
    drop_joints(&n, '・', is_katakana)
}

/// `s` without each `mark` that stands between two characters `joins` accepts: a joint that
/// Japanese writing may leave out.
fn drop_joints(s: &str, mark: char, joins: fn(char) -> bool) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let joint = c == mark
            && i > 0
            && joins(chars[i - 1])
            && chars.get(i + 1).is_some_and(|&next| joins(next));
        if !joint {
            out.push(c);
        }
    }
    out
}

/// Katakana letters and the long-vowel mark (not the middle dot itself).
fn is_katakana(c: char) -> bool {
    matches!(c, '\u{30a1}'..='\u{30fa}' | '\u{30fc}')
}

/// A character of a noun in a compound: kanji, katakana, Latin letters and digits.
fn is_noun_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || is_katakana(c)
        || matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// Unicode format characters (category Cf) that text pasted from web pages and chat carries:
/// zero-width spaces and joiners, direction marks and overrides, the soft hyphen, the BOM.
pub fn is_format_char(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{61c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{feff}')
}

/// Text for a terminal: control and format characters (an escape sequence typed into a query)
/// shown as `\u{1b}`, line breaks and tabs kept.
pub fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if (c.is_control() && c != '\n' && c != '\t') || is_format_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// A Japanese name with its gloss in parentheses removed: `偽装(マスカレーディング)` ->
/// `偽装`, `多要素認証(MFA)の改変` -> `多要素認証の改変`. Japanese technique names carry the
/// loanword or the acronym as a gloss, but analysts type the head alone, and a Mobile or ICS
/// object named by that bare head would otherwise take the whole-name match from the Enterprise
/// technique. None when the name has no gloss (or nothing is left without it).
pub fn without_gloss(name: &str) -> Option<String> {
    let n = normalize(name);
    if !has_japanese(&n) || !n.contains('(') {
        return None;
    }
    let mut out = String::with_capacity(n.len());
    let mut depth = 0usize;
    for c in n.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    (depth == 0 && !out.is_empty() && out != n).then_some(out)
}

/// The normalised form used for whole-string (exact) matching: trimmed, quotes around the whole
/// string removed, inner runs of white space folded to one space.
pub fn exact_key(s: &str) -> String {
    // Invisible format characters (a zero-width space pasted inside `T1053.005`) are dropped.
    let visible: String = s.chars().filter(|c| !is_format_char(*c)).collect();
    let n = normalize(&visible);
    let t = n.trim().trim_matches(|c| {
        matches!(
            c,
            '"' | '\'' | '`' | '「' | '」' | '『' | '』' | '【' | '】' | '“' | '”'
        )
    });
    // Japanese runs no spaces between words, but consoles and writers add them between
    // katakana words (タスク スケジューラ, ドライブバイ コンプロマイズ) or leave them out: a space
    // between two Japanese characters does not change the name.
    let words: Vec<&str> = t.split_whitespace().collect();
    let mut out = String::with_capacity(t.len());
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            let joins_japanese = out.chars().next_back().is_some_and(is_japanese_char)
                && w.chars().next().is_some_and(is_japanese_char);
            if !joins_japanese {
                out.push(' ');
            }
        }
        out.push_str(w);
    }
    // The particle の between two nouns is optional in Japanese compounds: 痕跡の消去 and
    // 痕跡消去, サービスの作成 and サービス作成, PowerShellの悪用 and PowerShell悪用 name the same
    // thing, and analysts write either. Next to hiragana (もの, この) it is part of a word.
    drop_joints(&out, 'の', is_noun_char)
}

/// Puts a space where Latin letters or digits meet Japanese (`PowerShellの悪用` ->
/// `PowerShell の悪用`): the English and program analyzers split only on non-alphanumerics, and
/// kana and kanji count as alphanumeric.
pub fn space_scripts(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut prev: Option<bool> = None;
    for c in s.chars() {
        let class = if is_japanese_char(c) {
            Some(true)
        } else if c.is_ascii_alphanumeric() {
            Some(false)
        } else {
            None
        };
        if let (Some(a), Some(b)) = (prev, class)
            && a != b
        {
            out.push(' ');
        }
        prev = class;
        out.push(c);
    }
    out
}

/// True when the text holds kana or kanji.
pub fn has_japanese(s: &str) -> bool {
    s.chars().any(is_japanese_char)
}

pub fn is_japanese_char(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff | 0xff66..=0xff9f)
}

/// MITRE descriptions are Markdown with `(Citation: ...)` markers and some HTML; keep the prose.
pub fn clean_description(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("(Citation:") {
            // Skip to the closing parenthesis of the citation marker.
            match after.find(')') {
                Some(end) => rest = &after[end + 1..],
                // Not a citation after all: keep the text.
                None => {
                    out.push_str(rest);
                    break;
                }
            }
        } else if rest.starts_with('[') {
            // [label](url) -> label
            if let Some(close) = rest.find("](") {
                let label = &rest[1..close];
                if !label.contains('[')
                    && let Some(end) = rest[close..].find(')')
                {
                    out.push_str(label);
                    rest = &rest[close + end + 1..];
                    continue;
                }
            }
            out.push('[');
            rest = &rest[1..];
        } else if rest.starts_with('<') {
            // Drop HTML tags such as <code> and </code>, keep their content.
            match html_tag_len(rest) {
                Some(n) => rest = &rest[n..],
                None => {
                    out.push('<');
                    rest = &rest[1..];
                }
            }
        } else {
            let next = rest
                .find(['(', '[', '<'])
                .map_or(rest.len(), |i| if i == 0 { 1 } else { i });
            out.push_str(&rest[..next]);
            rest = &rest[next..];
        }
    }
    out.trim().to_string()
}

fn html_tag_len(s: &str) -> Option<usize> {
    let end = s.find('>')?;
    let inner = &s[1..end];
    let starts_like_tag = inner
        .trim_start_matches('/')
        .starts_with(|c: char| c.is_ascii_alphabetic());
    (end <= 200 && starts_like_tag && !inner.contains('<')).then_some(end + 1)
}

/// The first sentence (or first line) of a text, at most `max` characters, for result snippets.
pub fn first_sentence(s: &str, max: usize) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut end = line.len();
    for (i, c) in line.char_indices() {
        if c == '。' {
            end = i + c.len_utf8();
            break;
        }
        if c == '.' && line[i + 1..].starts_with(' ') && i > 20 {
            end = i + 1;
            break;
        }
    }
    truncate(&line[..end], max)
}

pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// Splits a query like a Windows command line: white space separates words, double quotes group
/// them. Never fails: an unbalanced quote just runs to the end.
pub fn split_command_line(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// `C:\Windows\System32\schtasks.exe` -> `schtasks.exe`: the program name an analyst means.
pub fn program_name(word: &str) -> &str {
    let w = word.trim_matches(|c| c == '"' || c == '\'');
    w.rsplit(['\\', '/']).next().unwrap_or(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_citations_links_and_code_tags() {
        let s = "[Net](https://attack.mitre.org/software/S0039) runs <code>net user</code>.(Citation: X Y 2020)";
        assert_eq!(clean_description(s), "Net runs net user.");
    }

    #[test]
    fn format_characters_vanish_and_controls_are_escaped() {
        assert_eq!(exact_key("T1053\u{200b}.005\u{feff}"), "t1053.005");
        assert_eq!(escape_controls("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\n");
    }

    #[test]
    fn full_width_ids_normalise() {
        assert_eq!(normalize("ＴＡ０００３"), "ta0003");
        assert_eq!(exact_key("  \"Cozy   Bear\" "), "cozy bear");
        assert_eq!(exact_key("「常設」"), "常設");
    }

    #[test]
    fn a_linking_no_is_optional_in_exact_keys() {
        assert_eq!(exact_key("痕跡の消去"), exact_key("痕跡消去"));
        assert_eq!(exact_key("PowerShellの悪用"), "powershell悪用");
        assert_eq!(exact_key("ものの"), "ものの");
        assert_eq!(exact_key("の"), "の");
    }

    #[test]
    fn a_gloss_in_parentheses_is_optional() {
        assert_eq!(
            without_gloss("偽装(マスカレーディング)").as_deref(),
            Some("偽装")
        );
        assert_eq!(
            without_gloss("多要素認証（MFA）の改変").as_deref(),
            Some("多要素認証の改変")
        );
        assert_eq!(without_gloss("ゴールデンチケット"), None);
        assert_eq!(without_gloss("Process (Windows)"), None);
    }

    #[test]
    fn katakana_word_breaks_are_optional() {
        assert_eq!(normalize("パス・ザ・ハッシュ"), "パスザハッシュ");
        assert_eq!(normalize("ｶﾀｶﾅ･ﾃｽﾄ"), "カタカナテスト");
        assert_eq!(normalize("a・b"), "a・b");
        assert_eq!(exact_key("タスク スケジューラ"), "タスクスケジューラ");
        assert_eq!(
            exact_key("ドライブバイ・コンプロマイズ"),
            exact_key("ドライブバイ コンプロマイズ")
        );
        assert_eq!(exact_key("LSASS サービス"), "lsass サービス");
    }

    #[test]
    fn scripts_are_spaced_apart() {
        assert_eq!(space_scripts("PowerShellの悪用"), "PowerShell の悪用");
        assert_eq!(
            space_scripts("DLLサイドローディング"),
            "DLL サイドローディング"
        );
        assert_eq!(space_scripts("schtasks.exe"), "schtasks.exe");
    }

    #[test]
    fn command_line_split_keeps_quoted_program() {
        let w = split_command_line(r#""C:\Program Files\x.exe" /c "a b""#);
        assert_eq!(w, vec![r"C:\Program Files\x.exe", "/c", "a b"]);
        assert_eq!(program_name(&w[0]), "x.exe");
    }

    #[test]
    fn first_sentence_stops_at_period_or_kuten() {
        assert_eq!(
            first_sentence("攻撃者が使う。二文目。", 80),
            "攻撃者が使う。"
        );
        assert_eq!(
            first_sentence("Adversaries may abuse the task scheduler. More text.", 80),
            "Adversaries may abuse the task scheduler."
        );
    }
}
