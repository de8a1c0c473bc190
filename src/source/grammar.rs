//! The schema of the knowledge `kb explain` reads a command line with: switch grammars of the
//! catalogue programs, text patterns, registry keys, PowerShell cmdlets, folders and artefact
//! traits (kb/README.md documents every field). This module only defines and loads the types;
//! checking them is [`crate::model::lint`], using them is [`crate::explain`].

use serde::{Deserialize, Serialize};

/// How sure a rule is that the command shows its technique. Orders the techniques of an
/// explanation: a certain or high rule outranks the program's usual techniques, a low one
/// comes after them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    Low,
    Medium,
    #[default]
    High,
    Certain,
}

/// What a switch (or a verb, a cmdlet parameter) takes as its value, and so how the value is
/// reported: as an artefact of that kind, or as a nested command to explain in turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueKind {
    /// A flag: takes no value.
    #[default]
    None,
    Text,
    Number,
    Time,
    Account,
    Password,
    Host,
    File,
    Url,
    Task,
    Service,
    Process,
    RegistryKey,
    RegistryValue,
    RegistryData,
    /// One argument holding a whole command line (schtasks /TR, sc binPath=, forfiles /C).
    Command,
    /// PowerShell code in one argument.
    Script,
    /// Base64 of UTF-16LE PowerShell code (powershell -EncodedCommand).
    EncodedScript,
    /// Everything after this switch is a command line (cmd /c).
    RestCommand,
    /// Everything after this switch is PowerShell code (powershell -Command).
    RestScript,
}

impl ValueKind {
    pub fn takes_value(self) -> bool {
        self != ValueKind::None
    }

    /// Values that are themselves commands to explain.
    pub fn is_nested(self) -> bool {
        matches!(
            self,
            ValueKind::Command
                | ValueKind::Script
                | ValueKind::EncodedScript
                | ValueKind::RestCommand
                | ValueKind::RestScript
        )
    }

    pub fn is_rest(self) -> bool {
        matches!(self, ValueKind::RestCommand | ValueKind::RestScript)
    }

    pub fn slug(self) -> &'static str {
        match self {
            ValueKind::None => "none",
            ValueKind::Text => "text",
            ValueKind::Number => "number",
            ValueKind::Time => "time",
            ValueKind::Account => "account",
            ValueKind::Password => "password",
            ValueKind::Host => "host",
            ValueKind::File => "file",
            ValueKind::Url => "url",
            ValueKind::Task => "task",
            ValueKind::Service => "service",
            ValueKind::Process => "process",
            ValueKind::RegistryKey => "registry-key",
            ValueKind::RegistryValue => "registry-value",
            ValueKind::RegistryData => "registry-data",
            ValueKind::Command => "command",
            ValueKind::Script => "script",
            ValueKind::EncodedScript => "encoded-script",
            ValueKind::RestCommand => "rest-command",
            ValueKind::RestScript => "rest-script",
        }
    }
}

/// What a registry verb or cmdlet does to the key it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegistryOp {
    Write,
    Read,
    Delete,
    Save,
}

/// How a program reads its arguments, beyond its switches.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Grammar {
    /// A unique prefix of a switch name is accepted (PowerShell: -e, -ec, -enc).
    #[serde(default)]
    pub prefixes: bool,
    /// What the first bare word not taken by a verb begins: `rest-command` (psexec, winrs),
    /// `rest-script` (powershell), or nothing special (`none`).
    #[serde(default)]
    pub rest: ValueKind,
}

/// A switch (`/create`, `-urlcache`, `binPath=`, `+h`), or a verb when the name has no switch
/// prefix (`add`, `delete shadows`, `process call create`: consecutive bare words).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    pub name: String,
    /// Other spellings (`-EncodedCommand` for `-enc` is a prefix, not an alias; `-ec` is both).
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub value: ValueKind,
    /// What a registry verb does with the key it is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryOp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
    #[serde(default)]
    pub confidence: Confidence,
    /// Tactics (TA0003) this command shows for the technique, with the rule's text as reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<String>,
    /// What the switch means (the explanation of this argument).
    pub en: String,
    pub ja: String,
    /// Said when `absent_when` (another switch or verb) is given and this one is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent_when: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent_en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent_ja: Option<String>,
    /// Meanings of particular values (`/SC ONCE`, `/RU SYSTEM`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<ValueRule>,
}

/// The meaning of particular values of a switch.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ValueRule {
    /// The whole value, case-insensitive; any of them.
    #[serde(default)]
    pub equals: Vec<String>,
    /// A part of the value, case-insensitive; any of them.
    #[serde(default)]
    pub contains: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
    #[serde(default)]
    pub confidence: Confidence,
    /// Tactics (TA0003) this command shows for the technique, with the rule's text as reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<String>,
    #[serde(default)]
    pub section: Section,
    pub en: String,
    pub ja: String,
}

/// Where an explanation shows a rule's text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Section {
    /// What this command does.
    #[default]
    Does,
    /// The analyst's assessment: what matters, what is the real suspect.
    Assess,
    /// What would have made this command worse than it is.
    Worse,
}

/// A text pattern over one command (its program and arguments), case-insensitive. `all`, `any`
/// and `none` are plain substrings, checked first; `regex` (Rust regex syntax) only after they
/// pass, so most patterns cost no regex at all.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pattern {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub none: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
    #[serde(default)]
    pub confidence: Confidence,
    /// Tactics (TA0003) this command shows for the technique, with the rule's text as reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<String>,
    #[serde(default)]
    pub section: Section,
    pub en: String,
    pub ja: String,
}

/// A registry key (kb/registry/): what writing, reading or saving it means.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryKey {
    pub id: String,
    /// Key paths, matched as prefixes, case-insensitive, after normalising hive names
    /// (HKCU:, HKEY_CURRENT_USER, Registry::), Wow6432Node and ControlSet00n. `*` stands for
    /// one key name.
    pub keys: Vec<String>,
    /// Value names (case-insensitive); empty: any value of the key.
    #[serde(default)]
    pub values: Vec<String>,
    /// Operations the rule is about (default: write).
    #[serde(default = "default_ops")]
    pub ops: Vec<RegistryOp>,
    /// The data written is a command line: explain it too.
    #[serde(default)]
    pub data_is_command: bool,
    /// Parts of the data (case-insensitive) the rule needs: "0" for a disabled setting.
    #[serde(default)]
    pub data: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
    #[serde(default)]
    pub confidence: Confidence,
    /// Tactics (TA0003) this command shows for the technique, with the rule's text as reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<String>,
    pub en: String,
    pub ja: String,
    #[serde(default)]
    pub investigate_en: Vec<String>,
    #[serde(default)]
    pub investigate_ja: Vec<String>,
}

fn default_ops() -> Vec<RegistryOp> {
    vec![RegistryOp::Write]
}

/// A PowerShell cmdlet, function or alias (kb/powershell/).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Cmdlet {
    pub name: String,
    /// Aliases and other names (iwr, wget, curl for Invoke-WebRequest).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// What the cmdlet does to a registry path given in -Path/-LiteralPath.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryOp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
    #[serde(default)]
    pub confidence: Confidence,
    /// Tactics (TA0003) this command shows for the technique, with the rule's text as reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<String>,
    pub en: String,
    pub ja: String,
    /// Parameters, with the same fields as a program's switches; a unique prefix is accepted.
    #[serde(default)]
    pub params: Vec<Switch>,
    /// Value kinds of the positional arguments, in order (`Invoke-WebRequest URL`).
    #[serde(default)]
    pub positional: Vec<ValueKind>,
}

/// A folder class (kb/artefacts/): user-writable places, system folders, shares.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub id: String,
    /// Path prefixes, case-insensitive; `*` stands for one folder name, `%VAR%` for the
    /// variable as written.
    pub paths: Vec<String>,
    /// Anyone (or the user) can write here: a program run from here is the first suspect.
    #[serde(default)]
    pub user_writable: bool,
    /// What a file named in this folder implies, whatever the program (a workbook in XLSTART,
    /// an Outlook data file): one rule for every program that copies, moves or writes there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
    #[serde(default)]
    pub confidence: Confidence,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<String>,
    pub en: String,
    pub ja: String,
}

/// What a structural trait of an artefact means (kb/artefacts/): the engine finds the trait
/// (an alternate data stream, a URL to a bare IP address), the data says what it implies.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Trait {
    pub id: TraitId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
    #[serde(default)]
    pub confidence: Confidence,
    /// Tactics (TA0003) this command shows for the technique, with the rule's text as reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<String>,
    #[serde(default)]
    pub section: Section,
    /// For `known-host`: the hosts (and their subdomains) this trait is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    pub en: String,
    pub ja: String,
}

/// The traits the engine can see in an artefact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraitId {
    /// A file path with a stream name: `readme.txt:evil.exe`.
    AlternateDataStream,
    /// A URL whose host is an IP address.
    UrlToIp,
    /// A remote path (`\\host\share`) or an admin share (`C$`, `ADMIN$`).
    RemoteShare,
    /// An executable file in a user-writable folder.
    ExecutableInUserFolder,
    /// A program given with a path that is not one of its expected paths.
    UnexpectedPath,
    /// A URL or host name whose host is one of the trait's `hosts` (a public IP-lookup
    /// service, say): what is contacted says what the command is for, whichever program asks.
    KnownHost,
}

/// The knowledge `kb explain` needs besides the catalogue: what the index stores beside its
/// documents (explain.json), read once per explain.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ExplainData {
    pub registry: Vec<RegistryKey>,
    pub cmdlets: Vec<Cmdlet>,
    /// PowerShell patterns over a whole script (.NET calls, download cradles).
    pub powershell_patterns: Vec<Pattern>,
    pub locations: Vec<Location>,
    pub traits: Vec<Trait>,
    /// (tell-tale text, catalogue id): names a renamed tool by its arguments.
    pub telltales: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegistryFile {
    pub key: Vec<RegistryKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PowershellFile {
    #[serde(default)]
    pub cmdlet: Vec<Cmdlet>,
    #[serde(default)]
    pub pattern: Vec<Pattern>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArtefactFile {
    #[serde(default)]
    pub location: Vec<Location>,
    #[serde(rename = "trait", default)]
    pub traits: Vec<Trait>,
}
