//! An index as one file: `kb pack` writes the live generation into a zip with its manifest and
//! a SHA-256 list of every file; readers given `--bundle` unpack it once into a cache folder
//! keyed by the zip's own checksum, verifying every file first. A corrupt, truncated or
//! tampered bundle is refused before anything is opened, and a half-unpacked one is never
//! visible: it is unpacked beside, then renamed into place.
//!
//! Layout of a bundle:
//!
//! ```text
//! attack-kb/manifest.json     the index manifest (versions, counts, kb/ fingerprint, kb version)
//! attack-kb/SHA256SUMS        "<sha256>  <path>" for every file under attack-kb/index/
//! attack-kb/index/...         the generation's files
//! ```

use crate::msg;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Manifest, SCHEMA_VERSION};
use crate::{Error, Result};

const ROOT: &str = "attack-kb";
/// Refused beyond this: an index is ~70 MB with the bundles' STIX objects, so a bundle that
/// unpacks to more is not one of ours.
const MAX_UNPACKED: u64 = 2 << 30;
/// Files tantivy or kb write for their own bookkeeping, not part of the index.
const SKIPPED: [&str; 3] = [".tantivy-meta.lock", ".tantivy-writer.lock", "SWAPPED"];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn bad(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Index(msg!("pack.unusable", path = path.display(), why = why))
}

/// Writes the live generation of the index at `root` to `out`. The same index gives the same
/// bytes: entries sorted, fixed times and permissions.
pub fn write(root: &Path, out: &Path) -> Result<Manifest> {
    let kb = super::KbIndex::open(root)?;
    let dir = super::live_generation(root)?;
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| Error::io(&dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !SKIPPED.contains(&n.as_str()))
        .collect();
    names.sort();
    // Written beside, renamed over: a reader of `out` never sees half a bundle.
    let tmp = out.with_extension(format!("tmp-{}", std::process::id()));
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let zerr = |e: zip::result::ZipError| {
        Error::Other(msg!("pack.cannot_write", path = out.display(), detail = e))
    };
    let mut sums = String::new();
    for n in &names {
        let p = dir.join(n);
        let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        sums.push_str(&format!("{}  index/{n}\n", hex(&Sha256::digest(&bytes))));
        zip.start_file(format!("{ROOT}/index/{n}"), options)
            .map_err(zerr)?;
        zip.write_all(&bytes).map_err(|e| Error::io(&tmp, e))?;
    }
    let manifest = serde_json::to_string_pretty(&kb.manifest)
        .map_err(|e| Error::Other(e.to_string().into()))?;
    zip.start_file(format!("{ROOT}/manifest.json"), options)
        .map_err(zerr)?;
    zip.write_all(manifest.as_bytes())
        .map_err(|e| Error::io(&tmp, e))?;
    zip.start_file(format!("{ROOT}/SHA256SUMS"), options)
        .map_err(zerr)?;
    zip.write_all(sums.as_bytes())
        .map_err(|e| Error::io(&tmp, e))?;
    let mut w = zip.finish().map_err(zerr)?;
    w.flush().map_err(|e| Error::io(&tmp, e))?;
    drop(w);
    std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
    Ok(kb.manifest)
}

/// The index root a bundle unpacks to under `cache`, unpacking and verifying it first when
/// it is not there yet.
pub fn open(bundle: &Path, cache: &Path) -> Result<PathBuf> {
    let bytes = std::fs::read(bundle).map_err(|e| Error::io(bundle, e))?;
    let sum = hex(&Sha256::digest(&bytes));
    let dest = cache.join(&sum);
    if dest.join("CURRENT").is_file() {
        return Ok(dest);
    }
    std::fs::create_dir_all(cache).map_err(|e| Error::io(cache, e))?;
    let tmp = cache.join(format!("{sum}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = unpack(bundle, &bytes, &tmp);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    match std::fs::rename(&tmp, &dest) {
        Ok(()) => Ok(dest),
        // Another reader unpacked the same bundle first: theirs is as good as ours.
        Err(_) if dest.join("CURRENT").is_file() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(dest)
        }
        Err(e) => Err(Error::io(&dest, e)),
    }
}

fn unpack(bundle: &Path, bytes: &[u8], tmp: &Path) -> Result<()> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| bad(bundle, e))?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| bad(bundle, e))?;
        let Some(name) = entry
            .enclosed_name()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
        else {
            return Err(bad(
                bundle,
                format!("entry {:?} escapes the bundle", entry.name()),
            ));
        };
        if entry.is_dir() {
            continue;
        }
        let Some(rel) = name.strip_prefix(&format!("{ROOT}/")) else {
            return Err(bad(bundle, format!("unexpected entry {name}")));
        };
        let mut data = Vec::new();
        let room = MAX_UNPACKED.saturating_sub(total);
        (&mut entry)
            .take(room + 1)
            .read_to_end(&mut data)
            .map_err(|e| bad(bundle, format!("{name}: {e}")))?;
        total += data.len() as u64;
        if total > MAX_UNPACKED {
            return Err(bad(bundle, "it unpacks to more than 2 GiB"));
        }
        files.push((rel.to_string(), data));
    }
    let get = |n: &str| files.iter().find(|(p, _)| p == n).map(|(_, d)| d);
    let manifest_bytes = get("manifest.json").ok_or_else(|| bad(bundle, "no manifest.json"))?;
    #[derive(serde::Deserialize)]
    struct Version {
        #[serde(default)]
        schema_version: u32,
        #[serde(default)]
        kb_version: String,
    }
    let v: Version = serde_json::from_slice(manifest_bytes)
        .map_err(|e| bad(bundle, format!("manifest.json: {e}")))?;
    if v.schema_version != SCHEMA_VERSION {
        return Err(Error::Index(msg!(
            "pack.other_schema",
            path = bundle.display(),
            version = if v.kb_version.is_empty() {
                "?"
            } else {
                &v.kb_version
            },
            schema = v.schema_version,
            ours = SCHEMA_VERSION
        )));
    }
    let sums = get("SHA256SUMS").ok_or_else(|| bad(bundle, "no SHA256SUMS"))?;
    let sums = String::from_utf8_lossy(sums);
    let mut listed = Vec::new();
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let (sum, path) = line
            .split_once("  ")
            .ok_or_else(|| bad(bundle, format!("bad SHA256SUMS line {line:?}")))?;
        let data = get(path).ok_or_else(|| bad(bundle, format!("{path} is listed but missing")))?;
        if hex(&Sha256::digest(data)) != sum {
            return Err(bad(
                bundle,
                format!("{path} does not match its checksum (damaged or altered)"),
            ));
        }
        listed.push(path.to_string());
    }
    for (p, _) in &files {
        if p != "manifest.json" && p != "SHA256SUMS" && !listed.contains(p) {
            return Err(bad(bundle, format!("{p} is not in SHA256SUMS")));
        }
    }
    if !listed.iter().any(|p| p == "index/meta.json") {
        return Err(bad(bundle, "it holds no index"));
    }
    let gen_dir = tmp.join("gen-bundle");
    std::fs::create_dir_all(&gen_dir).map_err(|e| Error::io(&gen_dir, e))?;
    for (p, data) in &files {
        if let Some(name) = p.strip_prefix("index/") {
            if name.contains('/') {
                return Err(bad(bundle, format!("unexpected entry {p}")));
            }
            let f = gen_dir.join(name);
            std::fs::write(&f, data).map_err(|e| Error::io(&f, e))?;
        }
    }
    std::fs::write(gen_dir.join("SWAPPED"), "").map_err(|e| Error::io(&gen_dir, e))?;
    let current = tmp.join("CURRENT");
    std::fs::write(&current, "gen-bundle").map_err(|e| Error::io(&current, e))?;
    Ok(())
}

/// Where bundles unpack: $KB_CACHE, else $XDG_CACHE_HOME/attack-kb, else ~/.cache/attack-kb,
/// else a folder under the system's temporary folder.
pub fn default_cache() -> PathBuf {
    if let Some(d) = std::env::var_os("KB_CACHE").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(d).join("attack-kb");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(".cache").join("attack-kb");
    }
    std::env::temp_dir().join("attack-kb-cache")
}
