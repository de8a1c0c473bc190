//! The one error type of the library. Every variant carries enough context (a file, a position, an
//! ID) for the message alone to tell the user what went wrong and what to do next.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub enum Error {
    /// A file could not be read or written.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A STIX bundle is not valid JSON (or not a bundle at all).
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A curated file under kb/ is not valid TOML or breaks the schema.
    Curated { path: String, message: String },
    /// No ATT&CK bundle was given or found.
    NoSources(String),
    /// The index is missing or damaged.
    Index(String),
    /// The index was written by another kb version: rebuilding it is the fix.
    IndexOutdated(String),
    /// An ID or name that matches nothing.
    NotFound(String),
    /// Downloading a bundle failed.
    Fetch(String),
    /// Anything else: a message meant for the user.
    Other(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Json {
                path,
                line,
                column,
                message,
            } => write!(
                f,
                "{}: line {line}, column {column}: {message} (is this an ATT&CK STIX bundle? \
                 download a fresh copy with `kb fetch`)",
                path.display()
            ),
            Error::Curated { path, message } => write!(f, "{path}: {message}"),
            Error::NoSources(why) => write!(
                f,
                "no ATT&CK bundle to index: {why}. Run `kb fetch` to download one, or pass \
                 --attack PATH (a .json or .zip bundle, or a folder of them), or set KB_ATTACK"
            ),
            Error::Index(why) => write!(f, "{why}"),
            Error::IndexOutdated(why) => write!(f, "{why}; `kb index` rebuilds it"),
            Error::NotFound(what) => write!(f, "{what}"),
            Error::Fetch(why) => write!(f, "download failed: {why}"),
            Error::Other(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<tantivy::TantivyError> for Error {
    fn from(e: tantivy::TantivyError) -> Self {
        Error::Index(format!("index error: {e} (rebuild it with `kb index`)"))
    }
}
