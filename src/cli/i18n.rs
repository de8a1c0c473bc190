//! The command line in Japanese: help texts set on clap's command at run time and clap's own
//! errors said in Japanese, both from kb/ja/cli.toml (by command and argument id). The English
//! help is the doc comments of mod.rs; the library's messages are `attack_kb::message`'s.

use std::collections::BTreeMap;
use std::ffi::OsString;

use attack_kb::message::CLI_FILE;
use attack_kb::source::curated::embedded_file;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, Command};
use serde::Deserialize;

use super::Lang;

#[derive(Deserialize, Default)]
pub struct Texts {
    #[serde(default)]
    command: BTreeMap<String, CommandText>,
    #[serde(default)]
    clap_error: BTreeMap<String, String>,
    /// The words of usage lines in Japanese, by clap's English placeholder (QUERY, OPTIONS).
    #[serde(default)]
    placeholder: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct CommandText {
    about: String,
    #[serde(default)]
    args: BTreeMap<String, String>,
}

/// Usage line and sections of a help page in Japanese (clap's own template, translated).
const TEMPLATE: &str =
    "{before-help}{about-with-newline}\n使い方: {usage}\n\n{all-args}{after-help}";

impl Texts {
    /// The texts compiled into kb; a broken file only leaves the help in English (a test checks
    /// that it parses and is complete).
    pub fn embedded() -> Texts {
        embedded_file(CLI_FILE)
            .and_then(|t| toml::from_str(t).ok())
            .unwrap_or_default()
    }

    /// The Japanese help of an argument of `command`: its own, else the global one.
    fn arg(&self, command: &str, id: &str) -> Option<&str> {
        self.command
            .get(command)
            .and_then(|c| c.args.get(id))
            .or_else(|| self.command.get("kb").and_then(|c| c.args.get(id)))
            .map(String::as_str)
    }

    /// The Japanese of a placeholder; an English one stays (a test checks that none is left).
    fn placeholder(&self, english: &str) -> String {
        self.placeholder
            .get(english)
            .cloned()
            .unwrap_or_else(|| english.to_string())
    }

    fn error(&self, kind: &str) -> String {
        self.clap_error
            .get(kind)
            .cloned()
            .unwrap_or_else(|| kind.to_string())
    }

    /// Every command and argument of `cmd` (built) without a Japanese text, as `command arg`.
    #[cfg(test)]
    pub fn missing(&self, cmd: &Command) -> Vec<String> {
        let mut out: Vec<String> = [OPTIONS, COMMAND]
            .into_iter()
            .filter(|p| !self.placeholder.contains_key(*p))
            .map(|p| format!("placeholder {p}"))
            .collect();
        self.missing_in(cmd, "kb", &mut out);
        out
    }

    #[cfg(test)]
    fn missing_in(&self, cmd: &Command, name: &str, out: &mut Vec<String>) {
        if self.command.get(name).is_none_or(|c| c.about.is_empty()) {
            out.push(format!("command {name}"));
        }
        for a in cmd.get_arguments() {
            if self.arg(name, a.get_id().as_str()).is_none() {
                out.push(format!("{name} {}", a.get_id()));
            }
            if a.get_action().takes_values() {
                for v in value_names(a) {
                    if !self.placeholder.contains_key(&v) {
                        out.push(format!("placeholder {v}"));
                    }
                }
            }
        }
        for s in cmd.get_subcommands() {
            self.missing_in(s, s.get_name(), out);
        }
    }

    /// `cmd` (built, so that --help, --version and the help command exist) in Japanese.
    pub fn japanese(&self, mut cmd: Command) -> Command {
        cmd.build();
        self.localize(cmd, "kb")
    }

    fn localize(&self, mut cmd: Command, name: &str) -> Command {
        if let Some(c) = self.command.get(name) {
            cmd = cmd.about(c.about.clone()).long_about(None);
        }
        cmd = cmd
            .help_template(TEMPLATE)
            .subcommand_help_heading("コマンド");
        let ids: Vec<String> = cmd
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .collect();
        for id in ids {
            if let Some(text) = self.arg(name, &id) {
                let text = text.to_string();
                cmd = cmd.mut_arg(&id, |a| localize_arg(a, &text));
            }
            cmd = cmd.mut_arg(&id, |a| {
                let names: Vec<String> = value_names(&a)
                    .iter()
                    .map(|v| self.placeholder(v))
                    .collect();
                if a.get_action().takes_values() {
                    a.value_names(names)
                } else {
                    a
                }
            });
        }
        let subs: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        for s in subs {
            cmd = cmd.mut_subcommand(&s, |sub| self.localize(sub, &s));
        }
        if cmd.has_subcommands() {
            cmd = cmd.subcommand_value_name(self.placeholder(COMMAND));
        }
        // clap writes [OPTIONS] with no setting to change it: the usage it renders, once the
        // placeholders above are Japanese, is set as the command's own with that word replaced.
        let usage = cmd.render_usage().to_string();
        let usage = usage.trim_start_matches("Usage:").trim().replace(
            &format!("[{OPTIONS}]"),
            &format!("[{}]", self.placeholder(OPTIONS)),
        );
        cmd.override_usage(usage)
    }

    /// A command-line error in Japanese: what is wrong, a hint, the usage, where to read more.
    pub fn clap_error(&self, e: &clap::Error, cmd: &Command, args: &[OsString]) -> String {
        let get = |k: ContextKind| match e.get(k) {
            Some(ContextValue::String(s)) => s.clone(),
            Some(ContextValue::Strings(v)) => v.join(", "),
            Some(ContextValue::StyledStr(s)) => s.to_string(),
            Some(ContextValue::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let arg = get(ContextKind::InvalidArg);
        let fill = |key: &str, value: &str| {
            self.error(key)
                .replace("{arg}", &arg)
                .replace("{value}", value)
        };
        let what = match e.kind() {
            ErrorKind::UnknownArgument => fill("unknown_argument", ""),
            ErrorKind::InvalidSubcommand => {
                fill("invalid_subcommand", &get(ContextKind::InvalidSubcommand))
            }
            ErrorKind::InvalidValue => fill("invalid_value", &get(ContextKind::InvalidValue)),
            ErrorKind::ValueValidation => fill("value_validation", &get(ContextKind::InvalidValue)),
            ErrorKind::MissingRequiredArgument => fill("missing_required_argument", ""),
            ErrorKind::MissingSubcommand => fill("missing_subcommand", ""),
            ErrorKind::ArgumentConflict if get(ContextKind::PriorArg) == arg => {
                fill("given_twice", "")
            }
            ErrorKind::ArgumentConflict => fill("argument_conflict", &get(ContextKind::PriorArg)),
            ErrorKind::WrongNumberOfValues | ErrorKind::TooManyValues | ErrorKind::TooFewValues => {
                fill("wrong_number_of_values", "")
            }
            ErrorKind::NoEquals => fill("no_equals", ""),
            ErrorKind::InvalidUtf8 => fill("invalid_utf8", ""),
            _ => fill("other", ""),
        };
        let mut text = format!("kb: {}: {what}\n", self.error("heading"));
        for (kind, key) in [
            (ContextKind::SuggestedArg, "similar_argument"),
            (ContextKind::SuggestedSubcommand, "similar_command"),
            (ContextKind::ValidValue, "possible_values"),
        ] {
            let v = get(kind);
            if !v.is_empty() {
                text.push_str(&format!("  {}: {}\n", self.error("tip"), fill(key, &v)));
            }
        }
        if e.kind() == ErrorKind::UnknownArgument && arg.starts_with('-') {
            text.push_str(&format!(
                "  {}: {}\n",
                self.error("tip"),
                fill("double_dash", &arg)
            ));
        }
        let usage = get(ContextKind::Usage);
        let usage = usage.trim().trim_start_matches("Usage:").trim();
        if !usage.is_empty() {
            text.push_str(&format!("\n{}: {usage}\n", self.error("usage")));
        }
        // The command the error is about: the first word of the line that names one.
        let command = args
            .iter()
            .skip(1)
            .map(|a| a.to_string_lossy())
            .find(|a| cmd.get_subcommands().any(|s| s.get_name() == a.as_ref()))
            .map_or_else(|| "kb".to_string(), |s| format!("kb {s}"));
        text.push('\n');
        text.push_str(&self.error("more").replace("{command}", &command));
        text.push('\n');
        text
    }
}

/// clap's words for "options" and "a command" in usage lines, the keys of their Japanese.
const OPTIONS: &str = "OPTIONS";
const COMMAND: &str = "COMMAND";

/// The placeholders clap shows for an argument's values: its value names, else its id in capitals.
fn value_names(a: &Arg) -> Vec<String> {
    match a.get_value_names() {
        Some(names) if !names.is_empty() => names.iter().map(|n| n.to_string()).collect(),
        _ => vec![a.get_id().as_str().to_uppercase()],
    }
}

/// An argument's Japanese help, with the default, environment variable and possible values
/// clap would print in English appended in Japanese (and clap's own English ones hidden).
fn localize_arg(mut a: Arg, text: &str) -> Arg {
    let mut help = text.to_string();
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    // A flag's implicit "false" is no default worth saying (clap does not show it either).
    let takes_values = a.get_action().takes_values();
    if takes_values && !defaults.is_empty() && !a.is_hide_default_value_set() {
        help.push_str(&format!(" [既定値: {}]", defaults.join(", ")));
        a = a.hide_default_value(true);
    }
    if let Some(env) = a.get_env()
        && !a.is_hide_env_set()
    {
        help.push_str(&format!(" [環境変数: {}]", env.to_string_lossy()));
        a = a.hide_env(true);
    }
    let values: Vec<String> = a
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !values.is_empty() && !a.is_hide_possible_values_set() {
        help.push_str(&format!(" [指定できる値: {}]", values.join(", ")));
        a = a.hide_possible_values(true);
    }
    // Under a heading of our own clap lists arguments by display order, then by name: a
    // positional keeps its place on the command line (`kb diff <OLD> <NEW>`, not NEW first).
    if a.is_positional() {
        let at = a.get_index().unwrap_or_default();
        a = a.help_heading("引数").display_order(at);
    } else {
        a = a.help_heading("オプション");
    }
    a.help(help).long_help(None)
}

/// The language asked for on the command line (`--lang ja`, `--lang=en`) before clap parses
/// it: the help and clap's errors are written while parsing. Words after `--` are the query's.
pub fn lang_in_args(args: &[OsString]) -> Option<Lang> {
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        let value = if a == "--" {
            return None;
        } else if a == "--lang" {
            it.next().map(|v| v.into_owned())
        } else if let Some(v) = a.strip_prefix("--lang=") {
            Some(v.to_string())
        } else {
            continue;
        };
        return match value.as_deref() {
            Some("ja") => Some(Lang::Ja),
            Some("en") => Some(Lang::En),
            _ => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// A command or argument added without Japanese fails here until kb/ja/cli.toml has it.
    #[test]
    fn every_command_and_argument_has_japanese_help() {
        let texts = Texts::embedded();
        assert!(!texts.command.is_empty(), "{CLI_FILE} does not parse");
        let mut cmd = super::super::Cli::command();
        cmd.build();
        let missing = texts.missing(&cmd);
        assert!(
            missing.is_empty(),
            "add these to kb/{CLI_FILE}: {missing:?}"
        );
    }

    #[test]
    fn a_command_without_japanese_is_reported() {
        let mut cmd = super::super::Cli::command();
        cmd.build();
        let missing = Texts::default().missing(&cmd);
        for m in ["command search", "search query", "serve listen", "kb help"] {
            assert!(missing.iter().any(|x| x == m), "{m}: {missing:?}");
        }
    }

    #[test]
    fn the_language_is_read_before_parsing_and_never_from_the_query() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(lang_in_args(&args(&["kb", "--lang", "ja", "--help"])) == Some(Lang::Ja));
        assert!(lang_in_args(&args(&["kb", "search", "x", "--lang=en"])) == Some(Lang::En));
        assert!(lang_in_args(&args(&["kb", "search", "--", "--lang", "ja"])).is_none());
    }
}
