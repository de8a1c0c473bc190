//! Inputs: where ATT&CK bundles come from (files, zips, folders, downloads) and our curated `kb/`
//! files. This module reads and checks; it does not link objects together (that is [`crate::model`]).

pub mod curated;
pub mod fetch;
pub mod grammar;
pub mod stix;

use crate::msg;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The bundle files behind a list of user-given paths: a file stands for itself, a folder for the
/// `.json` and `.zip` files directly inside it (sorted, so builds are deterministic).
pub fn bundle_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| Error::io(p, e))?;
            let mut found: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && is_bundle_name(f))
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(Error::NoSources(msg!(
                    "source.no_bundle_in_folder",
                    path = p.display()
                )));
            }
            files.extend(found);
        } else if p.is_file() {
            files.push(p.clone());
        } else if p.exists() {
            return Err(not_a_file(p));
        } else {
            return Err(Error::NoSources(msg!("source.missing", path = p.display())));
        }
    }
    Ok(files)
}

/// A path that exists but is no regular file: reading a FIFO would wait forever, /dev/zero never
/// end.
pub(crate) fn not_a_file(p: &Path) -> Error {
    Error::NoSources(msg!("source.not_a_file", path = p.display()))
}

fn is_bundle_name(p: &Path) -> bool {
    matches!(
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("json" | "zip")
    )
}
