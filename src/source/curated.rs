//! Our curated knowledge under `kb/`: Japanese names and summaries, the Windows binary catalogue
//! and MDE alert titles. This module owns their schema (see kb/README.md) and loading; checking
//! them against a bundle is [`crate::model::lint`], indexing them is [`crate::index`].

use crate::msg;
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::source::grammar::{
    ArtefactFile, ExplainData, Grammar, Pattern, PowershellFile, RegistryFile, Switch,
};
use crate::{Error, Result};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/kb_files.rs"));
}

/// One kb/ file compiled into this binary, by its path under kb/ (`ja/cli.toml`).
pub fn embedded_file(path: &str) -> Option<&'static str> {
    embedded::FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, t)| *t)
}

/// Japanese (and extra English) text for an ATT&CK object: techniques, tactics, mitigations.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Translation {
    pub id: String,
    /// The ATT&CK domain of the object (default enterprise-attack): lint checks the ID only when
    /// a bundle of that domain is loaded.
    #[serde(default)]
    pub domain: Option<String>,
    /// The preferred Japanese name. Required for tactics, techniques, mitigations and data
    /// components; groups, software and campaigns keep their own name unless Japanese writing
    /// has an established one (ラザルス).
    #[serde(default)]
    pub name: Option<String>,
    /// Other names that mean exactly this object (an exact match ranks it first).
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub aliases_en: Vec<String>,
    #[serde(default)]
    pub summary: Option<String>,
    /// Words an analyst may type to find it.
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub keywords_en: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Binary {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub kind: BinaryKind,
    pub paths: Vec<String>,
    pub ships_with_windows: bool,
    pub signer: String,
    #[serde(default)]
    pub attack_software: Vec<String>,
    pub name_ja: String,
    pub summary_en: String,
    pub summary_ja: String,
    pub legit_en: String,
    pub legit_ja: String,
    pub abuse_en: String,
    pub abuse_ja: String,
    #[serde(default)]
    pub keywords_ja: Vec<String>,
    #[serde(default)]
    pub keywords_en: Vec<String>,
    pub techniques: Vec<BinaryTechnique>,
    /// Tell-tale argument text (`sekurlsa::`) that names this tool even when it is renamed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub telltales: Vec<String>,
    #[serde(default)]
    pub grammar: Grammar,
    #[serde(default)]
    pub switches: Vec<Switch>,
    /// What particular argument combinations mean (`MiniDump`, `lsass`, `__EventFilter`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<Pattern>,
    #[serde(default)]
    pub examples: Vec<Example>,
    pub investigate: Investigate,
    #[serde(default)]
    pub process: Option<ProcessFacts>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BinaryKind {
    Builtin,
    Library,
    Script,
    MsExtra,
    AdminTool,
    SystemProcess,
    /// Tools attackers bring with them (Mimikatz, Rubeus, Impacket): not part of Windows.
    AttackTool,
    /// A command built into cmd.exe (type, copy, start, mklink): no file of its own.
    CmdBuiltin,
}

impl BinaryKind {
    const ALL: [BinaryKind; 8] = [
        BinaryKind::Builtin,
        BinaryKind::Library,
        BinaryKind::Script,
        BinaryKind::MsExtra,
        BinaryKind::AdminTool,
        BinaryKind::SystemProcess,
        BinaryKind::AttackTool,
        BinaryKind::CmdBuiltin,
    ];

    /// The name used in kb/ files (`builtin`, `system-process`).
    pub fn slug(self) -> &'static str {
        match self {
            BinaryKind::Builtin => "builtin",
            BinaryKind::Library => "library",
            BinaryKind::Script => "script",
            BinaryKind::MsExtra => "ms-extra",
            BinaryKind::AdminTool => "admin-tool",
            BinaryKind::SystemProcess => "system-process",
            BinaryKind::AttackTool => "attack-tool",
            BinaryKind::CmdBuiltin => "cmd-builtin",
        }
    }

    pub fn from_slug(s: &str) -> Option<BinaryKind> {
        BinaryKind::ALL.into_iter().find(|k| k.slug() == s)
    }

    /// (English, Japanese) label.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            BinaryKind::Builtin => ("built-in Windows binary", "Windows 標準のプログラム"),
            BinaryKind::Library => ("Windows library", "Windows のライブラリ (DLL)"),
            BinaryKind::Script => ("Microsoft script", "Microsoft 製スクリプト"),
            BinaryKind::MsExtra => ("Microsoft-signed extra", "Microsoft 署名の追加ツール"),
            BinaryKind::AdminTool => ("admin / discovery tool", "管理・探索ツール"),
            BinaryKind::SystemProcess => ("Windows system process", "Windows システム プロセス"),
            BinaryKind::AttackTool => (
                "attack tool (not part of Windows)",
                "攻撃ツール (Windows 標準ではない)",
            ),
            BinaryKind::CmdBuiltin => ("cmd.exe built-in command", "cmd.exe の内部コマンド"),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BinaryTechnique {
    pub id: String,
    pub why_en: String,
    pub why_ja: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub command: String,
    pub malicious: bool,
    pub en: String,
    pub ja: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Investigate {
    pub en: Vec<String>,
    pub ja: Vec<String>,
    pub false_positives_en: String,
    pub false_positives_ja: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessFacts {
    pub parent: String,
    pub user: String,
    pub instances: String,
    pub deviations_en: String,
    pub deviations_ja: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    pub id: String,
    pub title_en: String,
    pub title_ja: String,
    pub techniques: Vec<String>,
    #[serde(default)]
    pub binaries: Vec<String>,
    pub en: String,
    pub ja: String,
}

/// A Windows event that analysts meet (kb/events/): what it records and which techniques it
/// helps to detect.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Unique slug: the source and the number (`security-4698`, `sysmon-10`).
    pub id: String,
    pub event_id: u32,
    /// Short name of the log analysts type with the number (`security`, `sysmon`, `system`,
    /// `powershell`, `taskscheduler`, `defender`, `wmi`, `rdp`).
    pub source: String,
    /// The event log channel (`Security`, `Microsoft-Windows-Sysmon/Operational`).
    pub channel: String,
    pub provider: String,
    pub name_en: String,
    pub name_ja: String,
    /// What it records, when it fires, what to look at.
    pub en: String,
    pub ja: String,
    /// The fields that matter in an investigation.
    #[serde(default)]
    pub fields: Vec<String>,
    /// Techniques it helps to detect, most typical first.
    pub techniques: Vec<String>,
    /// Other names analysts type (`sysmon process access`).
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub keywords_en: Vec<String>,
    #[serde(default)]
    pub keywords_ja: Vec<String>,
}

/// One rule of kb/ja/vocabulary.toml: write `prefer`, not any of `avoid`, in names, aliases
/// and summaries (keywords may keep the variants, so that searches still find them).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VocabularyRule {
    pub prefer: String,
    pub avoid: Vec<String>,
    #[serde(default)]
    pub note: String,
}

/// A country groups come from (kb/ja/origins.toml): the keywords that mark a group as its own
/// and the words a query may name it by.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    pub country: String,
    pub name_ja: String,
    /// A group with one of these keywords comes from this country (a bare country name may be
    /// a target).
    pub marks: Vec<String>,
    /// Names, adjectives and sponsoring agencies that, in a query, mean this country's groups.
    pub words: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OriginFile {
    origin: Vec<Origin>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VocabularyFile {
    rule: Vec<VocabularyRule>,
    #[serde(default)]
    query: QueryWords,
}

/// The words analysts wrap around a concept in a query (kb/ja/vocabulary.toml `[query]`):
/// qualifiers in front (不審な), and words behind for what was done with it (の悪用, 攻撃).
/// A query is also matched with them taken off.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QueryWords {
    #[serde(default)]
    pub before: Vec<String>,
    #[serde(default)]
    pub after: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventFile {
    event: Vec<Event>,
}

/// Everything under kb/, with the file each item came from (for error messages and lint).
#[derive(Debug, Default)]
pub struct Curated {
    /// A hash of all files: the index manifest records it, so a stale index can be noticed.
    pub fingerprint: String,
    pub translations: Vec<(String, Translation)>,
    pub binaries: Vec<(String, Binary)>,
    pub alerts: Vec<(String, Alert)>,
    pub events: Vec<(String, Event)>,
    /// The Japanese vocabulary rules lint enforces on names, aliases and summaries.
    pub vocabulary: Vec<(String, VocabularyRule)>,
    /// The words a query may wrap a concept in.
    pub query_words: QueryWords,
    /// The countries groups come from.
    pub origins: Vec<(String, Origin)>,
    /// Registry keys, PowerShell cmdlets and patterns, folders and traits, each with its file.
    pub registry: Vec<(String, crate::source::grammar::RegistryKey)>,
    pub cmdlets: Vec<(String, crate::source::grammar::Cmdlet)>,
    pub powershell_patterns: Vec<(String, Pattern)>,
    pub locations: Vec<(String, crate::source::grammar::Location)>,
    pub traits: Vec<(String, crate::source::grammar::Trait)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TranslationFile {
    #[serde(default)]
    tactic: Vec<Translation>,
    #[serde(default)]
    technique: Vec<Translation>,
    #[serde(default)]
    mitigation: Vec<Translation>,
    #[serde(default)]
    data_component: Vec<Translation>,
    #[serde(default)]
    group: Vec<Translation>,
    #[serde(default)]
    software: Vec<Translation>,
    #[serde(default)]
    campaign: Vec<Translation>,
    #[serde(default)]
    asset: Vec<Translation>,
    #[serde(default)]
    detection_strategy: Vec<Translation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertFile {
    alert: Vec<Alert>,
}

impl Curated {
    /// The kb/ files compiled into this binary.
    pub fn embedded() -> Result<Curated> {
        Curated::from_files(
            "kb",
            embedded::FILES
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string())),
        )
    }

    /// A kb/ folder on disk (a curator's working copy).
    pub fn from_dir(dir: &Path) -> Result<Curated> {
        let mut files = Vec::new();
        walk(dir, dir, &mut files)?;
        files.sort();
        Curated::from_files(&dir.display().to_string(), files)
    }

    /// The fingerprint of the kb/ files compiled into this binary, without parsing them.
    pub fn embedded_fingerprint() -> &'static str {
        embedded::FINGERPRINT
    }

    /// `root` names the folder in error messages.
    fn from_files(
        root: &str,
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Curated> {
        let mut c = Curated::default();
        let mut hasher = std::hash::DefaultHasher::new();
        for (path, text) in files {
            std::hash::Hash::hash(&(&path, &text), &mut hasher);
            let err = |message: crate::message::Message| Error::Curated {
                path: format!("{}/{path}", root.trim_end_matches('/')),
                message,
            };
            let toml_err = |e: toml::de::Error| err(toml_message(&text, &e).into());
            if path.starts_with("binaries/") {
                let b: Binary = toml::from_str(&text).map_err(toml_err)?;
                c.binaries.push((path, b));
            } else if path.starts_with("alerts/") {
                let f: AlertFile = toml::from_str(&text).map_err(toml_err)?;
                c.alerts
                    .extend(f.alert.into_iter().map(|a| (path.clone(), a)));
            } else if path == "ja/vocabulary.toml" {
                let f: VocabularyFile = toml::from_str(&text).map_err(toml_err)?;
                c.vocabulary
                    .extend(f.rule.into_iter().map(|k| (path.clone(), k)));
                c.query_words = f.query;
            } else if path == crate::message::CLI_FILE {
                // The command line's own texts: read by the CLI and crate::message, not indexed.
            } else if path == "ja/origins.toml" {
                let f: OriginFile = toml::from_str(&text).map_err(toml_err)?;
                c.origins
                    .extend(f.origin.into_iter().map(|o| (path.clone(), o)));
            } else if path.starts_with("ja/") {
                let f: TranslationFile = toml::from_str(&text).map_err(toml_err)?;
                let all = (f.tactic.into_iter().chain(f.technique))
                    .chain(f.mitigation)
                    .chain(f.data_component)
                    .chain(f.group)
                    .chain(f.software)
                    .chain(f.campaign)
                    .chain(f.asset)
                    .chain(f.detection_strategy);
                c.translations.extend(all.map(|t| (path.clone(), t)));
            } else if path.starts_with("events/") {
                let f: EventFile = toml::from_str(&text).map_err(toml_err)?;
                c.events
                    .extend(f.event.into_iter().map(|k| (path.clone(), k)));
            } else if path.starts_with("registry/") {
                let f: RegistryFile = toml::from_str(&text).map_err(toml_err)?;
                c.registry
                    .extend(f.key.into_iter().map(|k| (path.clone(), k)));
            } else if path.starts_with("powershell/") {
                let f: PowershellFile = toml::from_str(&text).map_err(toml_err)?;
                c.cmdlets
                    .extend(f.cmdlet.into_iter().map(|k| (path.clone(), k)));
                c.powershell_patterns
                    .extend(f.pattern.into_iter().map(|k| (path.clone(), k)));
            } else if path.starts_with("artefacts/") {
                let f: ArtefactFile = toml::from_str(&text).map_err(toml_err)?;
                c.locations
                    .extend(f.location.into_iter().map(|k| (path.clone(), k)));
                c.traits
                    .extend(f.traits.into_iter().map(|k| (path.clone(), k)));
            } else {
                return Err(err(msg!("curated.unexpected_file")));
            }
        }
        c.fingerprint = format!("{:016x}", std::hash::Hasher::finish(&hasher));
        Ok(c)
    }

    /// The catalogue entry a program name means: its ID, an alias, or either without the
    /// extension (`procdump64.exe` is procdump.exe's alias `procdump64`).
    pub fn binary_by_name(&self, name: &str) -> Option<&Binary> {
        let n = name.to_lowercase();
        let stem = n.strip_suffix(".exe").unwrap_or(&n);
        self.binaries.iter().map(|(_, b)| b).find(|b| {
            b.id == n
                || b.aliases
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&n) || a.eq_ignore_ascii_case(stem))
        })
    }

    /// What `kb explain` needs besides the catalogue, as the index stores it.
    pub fn explain_data(&self) -> ExplainData {
        fn items<T: Clone>(v: &[(String, T)]) -> Vec<T> {
            v.iter().map(|(_, x)| x.clone()).collect()
        }
        ExplainData {
            registry: items(&self.registry),
            cmdlets: items(&self.cmdlets),
            powershell_patterns: items(&self.powershell_patterns),
            locations: items(&self.locations),
            traits: items(&self.traits),
            telltales: self
                .binaries
                .iter()
                .flat_map(|(_, b)| b.telltales.iter().map(|t| (t.to_lowercase(), b.id.clone())))
                .collect(),
        }
    }

    /// Translations by ATT&CK ID; a later duplicate is reported by lint, the first one wins here.
    pub fn translation_map(&self) -> BTreeMap<&str, &Translation> {
        let mut m = BTreeMap::new();
        for (_, t) in &self.translations {
            m.entry(t.id.as_str()).or_insert(t);
        }
        m
    }
}

fn toml_message(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {}", e.message())
        }
        None => e.message().to_string(),
    }
}

/// The `.toml` files under `dir`. Symlinked folders are not followed: a link back up the tree
/// would make the walk endless. Symlinked files are read.
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let p = entry.path();
        let real_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if real_dir {
            walk(root, &p, out)?;
        } else if p.extension().is_some_and(|x| x == "toml") && p.is_file() {
            let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
            let rel = p.strip_prefix(root).unwrap_or(&p);
            out.push((rel.to_string_lossy().replace('\\', "/"), text));
        }
    }
    Ok(())
}
