//! attack-kb: an offline MITRE ATT&CK knowledge base with Japanese and English search.
//!
//! Data flows one way, and the modules follow it:
//!
//! * [`source`] reads the inputs: ATT&CK STIX bundles (`.json` or `.zip`) and our curated `kb/` files;
//! * [`model`] links them into one in-memory knowledge base of [`model::Entity`] values;
//! * [`index`] writes that knowledge base into a tantivy index and opens it again;
//! * [`query`] answers searches and lookups over an opened index: plain functions that any frontend
//!   (the `kb` CLI, an HTTP server, another program) calls;
//! * [`layer`] turns a selection of techniques (a group's, a tactic's, explained command lines'…)
//!   into an ATT&CK Navigator layer.
//! * [`diff`] compares two ATT&CK releases, straight from their bundles.

pub mod cmdline;
pub mod diff;
pub mod error;
pub mod explain;
pub mod index;
pub mod layer;
pub mod memory;
pub mod message;
pub mod model;
pub mod query;
pub mod service;
pub mod source;
pub mod text;

pub use error::{Error, Result};

/// Runs `f`, turning a panic into its message. Library entry points that read an index go
/// through it: an assertion deep in tantivy on a damaged file becomes an error, so one bad index
/// never takes down a server that serves many.
pub fn guard<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into())
    })
}
