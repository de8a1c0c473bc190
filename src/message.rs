//! What kb says to people, in English and Japanese: every error and note is a key into the
//! catalogue of kb/ja/cli.toml (`[message.KEY]` with `en` and `ja`) plus named values, rendered
//! in the reader's language. Owns the catalogue and the rendering; which message to say, and
//! when, belongs to the caller. Text from elsewhere (an OS or tantivy error) is carried as is.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

pub use crate::explain::Lang;

/// A message: a catalogue key and its values, or a text from elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    key: Option<&'static str>,
    text: String,
    args: Vec<(&'static str, Value)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    /// A message inside another ("the index at X is damaged: {why}").
    Message(Message),
    /// Messages inside another, each rendered in its language and joined by the separator.
    Messages(Vec<Message>, &'static str),
}

/// Builds a [`Message`]: `msg!("index.missing", root = path.display())`.
#[macro_export]
macro_rules! msg {
    ($key:literal $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::message::Message::new($key)$(.arg(stringify!($name), $value))*
    };
}

impl Message {
    pub fn new(key: &'static str) -> Message {
        Message {
            key: Some(key),
            text: String::new(),
            args: Vec::new(),
        }
    }

    /// A value shown as text ({name} in the templates).
    pub fn arg(mut self, name: &'static str, value: impl std::fmt::Display) -> Message {
        self.args.push((name, Value::Text(value.to_string())));
        self
    }

    /// A message as a value of this one, rendered in the same language.
    pub fn with(mut self, name: &'static str, value: impl Into<Message>) -> Message {
        self.args.push((name, Value::Message(value.into())));
        self
    }

    /// Messages as one value of this one, joined by `separator`.
    pub fn with_all(
        mut self,
        name: &'static str,
        values: impl IntoIterator<Item = Message>,
        separator: &'static str,
    ) -> Message {
        let values = values.into_iter().collect();
        self.args.push((name, Value::Messages(values, separator)));
        self
    }

    /// The message in `lang`; a key missing from the catalogue shows the key and its values
    /// rather than nothing.
    pub fn render(&self, lang: Lang) -> String {
        let Some(key) = self.key else {
            return self.text.clone();
        };
        let template = catalogue()
            .get(key)
            .map(|t| match lang {
                Lang::Ja => t.ja.as_str(),
                Lang::En => t.en.as_str(),
            })
            .unwrap_or(key);
        // One pass over the template: a value that holds "{name}" (a query) is never filled in.
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let value = after.find('}').and_then(|close| {
                let name = &after[..close];
                self.args
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (close, v))
            });
            match value {
                Some((close, v)) => {
                    match v {
                        Value::Text(t) => out.push_str(t),
                        Value::Message(m) => out.push_str(&m.render(lang)),
                        Value::Messages(ms, separator) => {
                            let texts: Vec<String> = ms.iter().map(|m| m.render(lang)).collect();
                            out.push_str(&texts.join(separator));
                        }
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        if catalogue().get(key).is_none() {
            for (name, value) in &self.args {
                if let Value::Text(t) = value {
                    out.push_str(&format!(" {name}={t}"));
                }
            }
        }
        out
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

/// Text from elsewhere (a library's error), shown as it is in both languages.
impl From<String> for Message {
    fn from(text: String) -> Message {
        Message {
            key: None,
            text,
            args: Vec::new(),
        }
    }
}

/// In JSON a message is its English text, as before messages had keys.
impl serde::Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.render(Lang::En))
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Message, D::Error> {
        String::deserialize(d).map(Message::from)
    }
}

impl Message {
    /// True when the English text holds `s` (for tests and filters that look for a word).
    pub fn contains(&self, s: &str) -> bool {
        self.render(Lang::En).contains(s)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Message {
        Message::from(text.to_string())
    }
}

#[derive(Deserialize)]
struct Text {
    en: String,
    ja: String,
}

#[derive(Deserialize)]
struct CatalogueFile {
    #[serde(default)]
    message: BTreeMap<String, Text>,
}

/// The catalogue compiled into kb (kb/ja/cli.toml). A broken file is caught by the tests that
/// check every key; at run time it only means keys are shown instead of sentences.
fn catalogue() -> &'static BTreeMap<String, Text> {
    static CATALOGUE: OnceLock<BTreeMap<String, Text>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        crate::source::curated::embedded_file(CLI_FILE)
            .and_then(|t| toml::from_str::<CatalogueFile>(t).ok())
            .map(|f| f.message)
            .unwrap_or_default()
    })
}

/// The file of kb/ that holds the CLI's texts and this catalogue.
pub const CLI_FILE: &str = "ja/cli.toml";

/// True when the catalogue has `key` in both languages.
pub fn is_known(key: &str) -> bool {
    catalogue()
        .get(key)
        .is_some_and(|t| !t.en.trim().is_empty() && !t.ja.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_renders_in_either_language_with_nested_values_filled_once() {
        let m = crate::msg!("show.not_found", key = "\"{query}\"", query = "x");
        assert_eq!(
            m.render(Lang::En),
            "nothing has the ID or name \"{query}\"; try `kb search x`"
        );
        assert!(m.render(Lang::Ja).contains("項目はありません"));
        let outer = crate::msg!("error.fetch").with("why", crate::msg!("io.not_found"));
        assert!(
            outer
                .render(Lang::Ja)
                .contains("ファイルまたはフォルダーがありません")
        );
        assert_eq!(Message::from("as is").render(Lang::Ja), "as is");
    }
}
