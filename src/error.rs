//! The one error type of the library. Every variant carries enough context (a file, a position, an
//! ID) for the message alone to tell the user what went wrong and what to do next, in English or
//! Japanese ([`Error::render`]; the sentences are in [`crate::message`]'s catalogue).

use std::path::PathBuf;

use crate::message::{Lang, Message};
use crate::msg;

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
    Curated { path: String, message: Message },
    /// No ATT&CK bundle was given or found.
    NoSources(Message),
    /// The index is missing or damaged.
    Index(Message),
    /// The index was written by another kb version: rebuilding it is the fix.
    IndexOutdated(Message),
    /// An ID or name that matches nothing.
    NotFound(Message),
    /// Downloading a bundle failed.
    Fetch(Message),
    /// Anything else: a message meant for the user.
    Other(Message),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl Error {
    /// The message in `lang`.
    pub fn render(&self, lang: Lang) -> String {
        let m = match self {
            Error::Io { path, source } => msg!("error.io", path = path.display())
                .with("why", io_message(source))
                .arg("detail", source),
            Error::Json {
                path,
                line,
                column,
                message,
            } => msg!(
                "error.json",
                path = path.display(),
                line = line,
                column = column,
                detail = message
            ),
            Error::Curated { path, message } => {
                msg!("error.curated", path = path).with("why", message.clone())
            }
            Error::NoSources(why) => msg!("error.no_sources").with("why", why.clone()),
            Error::Index(why) | Error::NotFound(why) | Error::Other(why) => why.clone(),
            Error::IndexOutdated(why) => msg!("error.index_outdated").with("why", why.clone()),
            Error::Fetch(why) => msg!("error.fetch").with("why", why.clone()),
        };
        m.render(lang)
    }
}

/// What went wrong with a file, in words of the message catalogue.
fn io_message(e: &std::io::Error) -> Message {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => msg!("io.not_found"),
        K::PermissionDenied => msg!("io.permission_denied"),
        K::AlreadyExists => msg!("io.already_exists"),
        K::StorageFull => msg!("io.storage_full"),
        K::InvalidData => msg!("io.invalid_data"),
        K::IsADirectory => msg!("io.is_a_directory"),
        K::ReadOnlyFilesystem => msg!("io.read_only"),
        _ => msg!("io.other"),
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(Lang::En))
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
        Error::Index(msg!("error.tantivy", detail = e))
    }
}
