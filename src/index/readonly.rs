//! A read-only view of one generation folder for tantivy. Owns the rule that readers write
//! nothing: tantivy takes a lock file while a reader opens its segments, which fails on a
//! read-only mount or in a folder of another owner. A generation never changes once it has been
//! written, so there is nothing for that lock to protect, and it is skipped. Also owns the check
//! of the segment files' checksums when a generation is opened ([`damaged_file`]).

use crate::msg;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::footer::Footer;
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, FileSlice, Lock, MmapDirectory, WatchCallback,
    WatchHandle, WritePtr,
};
use tantivy::{HasLen, Index};

use crate::{Error, Result};

#[derive(Clone, Debug)]
pub struct ReadOnly(MmapDirectory);

impl ReadOnly {
    pub fn open(dir: &Path) -> Result<ReadOnly> {
        MmapDirectory::open(dir)
            .map(ReadOnly)
            .map_err(|e| Error::Index(msg!("index.cannot_open", path = dir.display(), detail = e)))
    }
}

/// How much of a file the checksum reads at a time.
const CHUNK: usize = 64 * 1024;

/// The first segment file (by name) whose content does not match the CRC in its tantivy footer,
/// or whose footer cannot be read. tantivy's own `Index::validate_checksum` maps each file and
/// reads it whole, which made every `kb search` hold the whole document store in memory (8.8 MB
/// of a 17.7 MB peak on the three 18.1 domains); reading through a small buffer checks the same
/// bytes with the page cache doing the keeping.
pub fn damaged_file(index: &Index, dir: &Path) -> Result<Option<PathBuf>> {
    let segments: Vec<String> = index
        .searchable_segment_metas()?
        .iter()
        .map(|m| format!("{}.", m.id().uuid_string()))
        .collect();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| PathBuf::from(e.file_name()))
        .filter(|name| {
            let name = name.to_string_lossy();
            segments.iter().any(|s| name.starts_with(s.as_str()))
        })
        .collect();
    files.sort();
    for name in files {
        if !crc_matches(&dir.join(&name)).unwrap_or(false) {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

fn crc_matches(path: &Path) -> io::Result<bool> {
    let handle = tantivy_common::file_slice::WrapFile::new(std::fs::File::open(path)?)?;
    let (footer, body) = Footer::extract_footer(FileSlice::new(Arc::new(handle)))?;
    let mut hasher = crc32fast::Hasher::new();
    let mut at = 0;
    while at < body.len() {
        let end = (at + CHUNK).min(body.len());
        hasher.update(body.read_bytes_slice(at..end)?.as_slice());
        at = end;
    }
    Ok(hasher.finalize() == footer.crc)
}

fn refused(path: &Path) -> Arc<io::Error> {
    Arc::new(io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{}: a reader never writes the index", path.display()),
    ))
}

impl Directory for ReadOnly {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.0.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        Err(DeleteError::IoError {
            io_error: refused(path),
            filepath: PathBuf::from(path),
        })
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.0.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        Err(OpenWriteError::IoError {
            io_error: refused(path),
            filepath: PathBuf::from(path),
        })
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.0.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, _data: &[u8]) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{}: a reader never writes the index", path.display()),
        ))
    }

    fn sync_directory(&self) -> io::Result<()> {
        Ok(())
    }

    fn acquire_lock(&self, _lock: &Lock) -> Result<DirectoryLock, LockError> {
        Ok(DirectoryLock::from(Box::new(())))
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.0.watch(watch_callback)
    }
}
