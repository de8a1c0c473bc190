//! The on-disk index: schema, build and open. Owns the folder layout and its atomic swap; knows
//! what is stored per entity but not how queries rank (that is [`crate::query`]).
//!
//! Layout of an index folder:
//!
//! ```text
//! index/CURRENT          name of the live generation (replaced by rename: atomic)
//! index/gen-<time>-<pid>/ tantivy files + manifest.json + redirects.json + KB-GENERATION
//!                        + the bundles' STIX objects as written (stix-*, see stix_store.rs)
//! ```
//!
//! A rebuild writes a new generation beside the live one and then points CURRENT at it, so a
//! reader opens either the old or the new index, never half of one. Only folders that carry kb's
//! marker are ever removed, and never one that a reader holds (a shared lock on the marker).
//! Readers write nothing: an index on a read-only mount serves searches.

pub mod analysis;
pub mod pack;
mod readonly;
pub mod stix_store;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{Index, IndexReader, TantivyDocument, doc};

use crate::message::Message;
use crate::model::{Deprecated, Entity, Kb, Kind, Redirect, Ref};
use crate::source::curated::QueryWords;
use crate::source::grammar::ExplainData;
use crate::source::stix::SourceInfo;
use crate::text::{exact_key, first_sentence, normalize, space_scripts};
use crate::{Error, Result, msg};

/// Bumped whenever the schema, the stored records or the normalisation of indexed text change:
/// an older index is rebuilt, not misread.
pub const SCHEMA_VERSION: u32 = 10;

/// The knowledge `kb explain` reads besides the documents (registry keys, cmdlets, folders).
const EXPLAIN_FILE: &str = "explain.json";

/// Deprecated IDs, for `show` and `search` to say so.
const DEPRECATED_FILE: &str = "deprecated.json";
/// The words a query may wrap a concept in (kb/ja/vocabulary.toml `[query]`).
const QUERY_FILE: &str = "query.json";

/// Handles to every field; the schema is defined here and nowhere else.
#[derive(Clone, Copy)]
pub struct Fields {
    pub id: Field,
    pub kind: Field,
    pub domain: Field,
    pub tactic: Field,
    pub exact: Field,
    pub exact_kw: Field,
    pub program: Field,
    pub names_en: Field,
    pub names_ja: Field,
    pub keywords_en: Field,
    pub keywords_ja: Field,
    pub terms_en: Field,
    pub terms_ja: Field,
    pub grams_ja: Field,
    pub text_en: Field,
    pub text_ja: Field,
    pub code: Field,
    pub weight: Field,
    /// A group's countries of origin, as the keys of every word that names them
    /// ([`analysis::phrase_keys`]).
    pub origin: Field,
    pub hit: Field,
    pub record: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // No positions: ranking uses term statistics and whole-string matches, never phrases.
    let text = |analyzer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
    };
    let exact = || text(analysis::EXACT);
    let fields = Fields {
        id: b.add_text_field("id", exact()),
        kind: b.add_text_field("kind", STRING),
        domain: b.add_text_field("domain", STRING),
        tactic: b.add_text_field("tactic", STRING),
        exact: b.add_text_field("exact", exact()),
        exact_kw: b.add_text_field("exact_kw", exact()),
        program: b.add_text_field("program", exact()),
        names_en: b.add_text_field("names_en", text(analysis::EN)),
        names_ja: b.add_text_field("names_ja", text(analysis::JA)),
        keywords_en: b.add_text_field("keywords_en", text(analysis::EN)),
        keywords_ja: b.add_text_field("keywords_ja", text(analysis::JA)),
        terms_en: b.add_text_field("terms_en", text(analysis::EN)),
        terms_ja: b.add_text_field("terms_ja", text(analysis::JA)),
        grams_ja: b.add_text_field("grams_ja", text(analysis::CJK2)),
        text_en: b.add_text_field("text_en", text(analysis::EN)),
        text_ja: b.add_text_field("text_ja", text(analysis::JA)),
        code: b.add_text_field("code", text(analysis::CODE)),
        weight: b.add_u64_field("weight", FAST | INDEXED),
        origin: b.add_text_field("origin", STRING),
        hit: b.add_text_field("hit", STORED),
        record: b.add_text_field("record", STORED),
    };
    (b.build(), fields)
}

/// What a search result shows without opening the full record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredHit {
    pub id: String,
    pub kind: Kind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_ja: Option<String>,
    #[serde(default)]
    pub tactics: Vec<Ref>,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subkind: Option<String>,
    #[serde(default)]
    pub snippet: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet_ja: Option<String>,
    /// For binaries and alerts: the techniques they map to, most characteristic first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub techniques: Vec<Ref>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub kb_version: String,
    pub schema_version: u32,
    pub built_at: String,
    pub build_seconds: f64,
    pub sources: Vec<SourceInfo>,
    pub counts: std::collections::BTreeMap<Kind, usize>,
    pub revoked: usize,
    pub warnings: usize,
    /// Fingerprint of the kb/ files indexed.
    #[serde(default)]
    pub curated: String,
}

/// An opened index: what every query function takes.
pub struct KbIndex {
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
    pub manifest: Manifest,
    redirects: Vec<Redirect>,
    deprecated: Vec<Deprecated>,
    query_words: QueryWords,
    /// A shared lock on the generation's marker: cleanup leaves a generation alone while a reader
    /// holds it. Released when the index is dropped.
    _held: Option<std::fs::File>,
    /// explain.json, read on first use (a search never needs it).
    explain: std::sync::OnceLock<ExplainData>,
    explain_text: String,
    /// The bundles' STIX objects as written (for TAXII), read on first use.
    stix: stix_store::StixStore,
}

impl KbIndex {
    /// Opens the live generation of an index folder. Should a rebuild swap generations while this
    /// reader opens one, it opens the new live one instead. A damaged index is an error that names
    /// the damaged file, never a panic.
    pub fn open(root: &Path) -> Result<KbIndex> {
        let current = || std::fs::read_to_string(root.join("CURRENT")).ok();
        let before = current();
        let open = || {
            crate::guard(|| KbIndex::open_live(root)).map_err(|why| {
                damaged(
                    root,
                    &root.join("CURRENT"),
                    msg!("index.cannot_be_opened", detail = why),
                )
            })?
        };
        match open() {
            Err(_) if current() != before => open(),
            result => result,
        }
    }

    fn open_live(root: &Path) -> Result<KbIndex> {
        let dir = live_generation(root)?;
        let outdated = |what: crate::message::Message| {
            Error::IndexOutdated(msg!("index.outdated", root = root.display()).with("what", what))
        };
        let manifest_path = dir.join("manifest.json");
        let text =
            std::fs::read_to_string(&manifest_path).map_err(|e| Error::io(&manifest_path, e))?;
        // Truncated or garbled is damage; whole JSON of another layout is an older kb's index.
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| damaged(root, &manifest_path, msg!("index.not_json", detail = e)))?;
        let version = value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if version != u64::from(SCHEMA_VERSION) {
            return Err(outdated(msg!(
                "index.other_schema",
                version = version,
                ours = SCHEMA_VERSION
            )));
        }
        let manifest: Manifest = serde_json::from_value(value)
            .map_err(|e| damaged(root, &manifest_path, msg!("index.unreadable", detail = e)))?;
        let held = hold(&dir);
        let index = Index::open(readonly::ReadOnly::open(&dir)?)?;
        if let Some(file) = readonly::damaged_file(&index, &dir)? {
            return Err(damaged(root, &dir.join(file), msg!("index.checksum")));
        }
        let (expected, fields) = schema();
        if index.schema() != expected {
            return Err(outdated(msg!("index.other_layout")));
        }
        analysis::register(&index)?;
        // A generation never changes once written: no reload watcher is needed.
        let reader = index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()?;
        // Read now: a rebuild may remove this generation's folder once no reader holds it.
        let redirects = json_file(root, &dir, "redirects.json")?;
        let deprecated = json_file(root, &dir, DEPRECATED_FILE)?;
        let query_words = json_file(root, &dir, QUERY_FILE)?;
        // Parsed on first use (a search never needs it), but read now too.
        let ep = dir.join(EXPLAIN_FILE);
        let explain_text = std::fs::read_to_string(&ep)
            .map_err(|e| damaged(root, &ep, msg!("index.unreadable", detail = e)))?;
        let stix = stix_store::StixStore::open(&dir)
            .map_err(|e| damaged(root, &dir, msg!("index.no_stix", detail = e)))?;
        Ok(KbIndex {
            index,
            reader,
            fields,
            manifest,
            redirects,
            deprecated,
            query_words,
            _held: held,
            explain: std::sync::OnceLock::new(),
            explain_text,
            stix,
        })
    }

    /// Registry keys, cmdlets, folders and traits for `kb explain`.
    pub fn explain_data(&self) -> Result<&ExplainData> {
        if let Some(d) = self.explain.get() {
            return Ok(d);
        }
        let d: ExplainData = serde_json::from_str(&self.explain_text).map_err(|e| {
            Error::Index(msg!(
                "index.damaged_explain",
                file = EXPLAIN_FILE,
                detail = e
            ))
        })?;
        Ok(self.explain.get_or_init(|| d))
    }

    /// The STIX objects of the indexed bundles, by collection.
    pub fn stix(&self) -> &stix_store::StixStore {
        &self.stix
    }

    /// Revoked IDs and their replacements.
    pub fn redirects(&self) -> &[Redirect] {
        &self.redirects
    }

    /// Deprecated IDs: no longer in ATT&CK, with nothing that replaces them.
    pub fn deprecated(&self) -> &[Deprecated] {
        &self.deprecated
    }

    /// The words a query may wrap a concept in.
    pub fn query_words(&self) -> &QueryWords {
        &self.query_words
    }
}

/// True once an index has been built in `root` (even if it is now damaged or outdated): it has a
/// CURRENT, or a generation folder that kb wrote.
pub fn exists(root: &Path) -> bool {
    root.join("CURRENT").exists() || !generations(root).is_empty()
}

/// The sources recorded in the manifest of the live generation, when it is still readable (even
/// if another kb version wrote it): what a rebuild of that index must read again.
pub fn recorded_sources(root: &Path) -> Option<Vec<PathBuf>> {
    let dir = live_generation(root).ok()?;
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let paths: Vec<PathBuf> = v
        .get("sources")?
        .as_array()?
        .iter()
        .map(|s| {
            s.get("path")
                .and_then(serde_json::Value::as_str)
                .map(PathBuf::from)
        })
        .collect::<Option<_>>()?;
    (!paths.is_empty()).then_some(paths)
}

/// Why replacing the index at `root` with `kb` would lose data: with the same domains indexed,
/// far fewer techniques, groups, software or mitigations than now (a gutted or truncated
/// bundle). Indexing fewer domains on purpose is no loss.
pub fn shrinks(root: &Path, kb: &Kb) -> Option<Message> {
    let dir = live_generation(root).ok()?;
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    let old: Manifest = serde_json::from_str(&text).ok()?;
    let same_domains = old
        .sources
        .iter()
        .all(|o| kb.sources.iter().any(|n| n.domain == o.domain));
    if !same_domains {
        return None;
    }
    let new = kb.counts();
    [
        Kind::Technique,
        Kind::Tactic,
        Kind::Group,
        Kind::Software,
        Kind::Mitigation,
    ]
    .into_iter()
    .find_map(|k| {
        let (was, now) = (
            old.counts.get(&k).copied()?,
            new.get(&k).copied().unwrap_or(0),
        );
        (now * 2 < was).then(|| {
            msg!(
                "index.shrinks",
                now = now,
                kind = k,
                was = was,
                root = root.display()
            )
        })
    })
}

/// Held while a first search builds the index, so that concurrent first searches build it once:
/// the others wait here, then open what the first one built.
pub fn lock_first_build(root: &Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
    let p = root.join("BUILD-LOCK");
    let f = std::fs::File::create(&p).map_err(|e| Error::io(&p, e))?;
    f.lock().map_err(|e| Error::io(&p, e))?;
    Ok(f)
}

/// The error for a damaged index: which file, and how to rebuild it from the same bundles.
/// A JSON file of an opened generation, parsed; an unreadable or malformed one is damage.
fn json_file<T: serde::de::DeserializeOwned>(root: &Path, dir: &Path, name: &str) -> Result<T> {
    let p = dir.join(name);
    let text = std::fs::read_to_string(&p)
        .map_err(|e| damaged(root, &p, msg!("index.unreadable", detail = e)))?;
    serde_json::from_str(&text).map_err(|e| damaged(root, &p, msg!("index.not_json", detail = e)))
}

fn damaged(root: &Path, file: &Path, why: Message) -> Error {
    damaged_built_from(root, file, why, recorded_sources(root))
}

/// [`damaged`] where the manifest cannot be reached (CURRENT itself is damaged).
fn damaged_built_from(
    root: &Path,
    file: &Path,
    why: Message,
    sources: Option<Vec<PathBuf>>,
) -> Error {
    let fix = match sources {
        Some(paths) => {
            let args: Vec<String> = paths
                .iter()
                .map(|p| format!("--attack {}", p.display()))
                .collect();
            msg!("index.fix_same_bundles", args = args.join(" "))
        }
        None => msg!("index.fix_any_bundles"),
    };
    Error::Index(
        msg!(
            "index.damaged",
            root = root.display(),
            file = file.display()
        )
        .with("why", why)
        .with("fix", fix),
    )
}

/// Written first into every generation folder kb creates: only folders that hold it are ever
/// removed. Readers hold a shared lock on it.
const MARKER: &str = "KB-GENERATION";

/// A generation name as kb writes it; anything else in CURRENT (`../elsewhere`, `/`) is refused.
fn is_generation_name(name: &str) -> bool {
    name.starts_with("gen-") && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The generation folders kb wrote in `root` (real folders holding the marker, not symlinks).
fn generations(root: &Path) -> Vec<(String, PathBuf)> {
    let Ok(rd) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    rd.flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| (e.file_name().to_string_lossy().to_string(), e.path()))
        .filter(|(name, path)| is_generation_name(name) && path.join(MARKER).is_file())
        .collect()
}

/// A shared lock on a generation's marker, for as long as a reader uses it. Opened read-only, so
/// that it works where the reader cannot write.
fn hold(dir: &Path) -> Option<std::fs::File> {
    let f = std::fs::File::open(dir.join(MARKER)).ok()?;
    f.try_lock_shared().ok()?;
    Some(f)
}

fn live_generation(root: &Path) -> Result<PathBuf> {
    let current = root.join("CURRENT");
    let name = match std::fs::read_to_string(&current) {
        Ok(name) => name,
        Err(e) if exists(root) => {
            let why = msg!("index.unreadable", detail = e);
            return Err(damaged_built_from(root, &current, why, None));
        }
        Err(_) => {
            return Err(Error::Index(msg!("index.missing", root = root.display())));
        }
    };
    let name = name.trim();
    if !is_generation_name(name) {
        let why = msg!("index.bad_current", name = format!("{name:?}"));
        return Err(damaged_built_from(root, &current, why, None));
    }
    let dir = root.join(name);
    if !dir.join("manifest.json").is_file() {
        let manifest = dir.join("manifest.json");
        return Err(damaged_built_from(
            root,
            &manifest,
            msg!("index.file_missing"),
            None,
        ));
    }
    Ok(dir)
}

/// Progress reporting for a build; the CLI shows a bar, tests pass `|_, _| {}`.
pub type Progress<'a> = &'a dyn Fn(usize, usize);

/// Writes `kb` as a new generation under `root`, then makes it the live one.
pub fn build(kb: &Kb, root: &Path, progress: Progress) -> Result<Manifest> {
    let started = Instant::now();
    std::fs::create_dir_all(root).map_err(|e| written(root, e))?;
    // Unique across processes (pid) and across builds within one process (counter).
    static BUILDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let gen_name = format!(
        "gen-{}-{}-{}",
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis(),
        std::process::id(),
        BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let dir = root.join(&gen_name);
    std::fs::create_dir(&dir).map_err(|e| written(&dir, e))?;
    let result = std::fs::write(dir.join(MARKER), "")
        .map_err(|e| written(&dir, e))
        .and_then(|()| write_generation(kb, &dir, started, progress));
    let manifest = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    };
    swap_in(root, &gen_name)?;
    Ok(manifest)
}

/// Makes `gen_name` the live generation and removes the ones no reader needs any more. Runs
/// under a lock on `root/LOCK`, so that concurrent builds swap one after the other.
fn swap_in(root: &Path, gen_name: &str) -> Result<()> {
    let lock_path = root.join("LOCK");
    let lock = std::fs::File::create(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
    lock.lock().map_err(|e| Error::io(&lock_path, e))?;
    let previous = std::fs::read_to_string(root.join("CURRENT"))
        .ok()
        .map(|s| s.trim().to_string());
    // Marks the generation as one that has been live: only such ones are ever removed, never
    // one that another build has finished but not yet swapped in.
    let marker = root.join(gen_name).join(SWAPPED);
    std::fs::write(&marker, "").map_err(|e| written(&marker, e))?;
    // The swap: write CURRENT beside, then rename over (atomic on the same file system).
    let tmp = root.join(format!("CURRENT.{}", std::process::id()));
    std::fs::write(&tmp, gen_name).map_err(|e| written(&tmp, e))?;
    std::fs::rename(&tmp, root.join("CURRENT")).map_err(|e| Error::io(root.join("CURRENT"), e))?;
    remove_old_generations(root, gen_name, previous.as_deref());
    // Dropping the file releases the lock.
    drop(lock);
    Ok(())
}

/// Written into a generation folder when it becomes live.
const SWAPPED: &str = "SWAPPED";

/// A build that died leaves a folder that never went live; after this long it is garbage.
const ABANDONED_AFTER: Duration = Duration::from_secs(3600);

/// Generations that kb wrote and that have been live (or were abandoned by a build that died),
/// other than the live one and the one it replaced: a reader that read CURRENT just before the
/// swap may still be opening the previous one, so that one stays until the next build. A
/// generation a reader holds stays until it is let go. Where deletion fails (open files on
/// Windows), the next build retries.
fn remove_old_generations(root: &Path, live: &str, previous: Option<&str>) {
    for (name, path) in generations(root) {
        if name == live || Some(name.as_str()) == previous {
            continue;
        }
        let abandoned = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > ABANDONED_AFTER);
        if !(path.join(SWAPPED).is_file() || abandoned) {
            continue;
        }
        let Ok(marker) = std::fs::File::open(path.join(MARKER)) else {
            continue;
        };
        // Held while deleting, so that no reader starts on a half-deleted folder.
        if marker.try_lock().is_ok() {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

fn write_generation(kb: &Kb, dir: &Path, started: Instant, progress: Progress) -> Result<Manifest> {
    write_tantivy(kb, dir, progress).map_err(|e| match e {
        // tantivy's writer threads report a full disk only as "killed": look for ourselves.
        Error::Index(_) if disk_full(dir) => {
            written(dir, std::io::Error::from(std::io::ErrorKind::StorageFull))
        }
        Error::Index(why) => {
            Error::Index(msg!("index.cannot_write_in", path = dir.display()).with("why", why))
        }
        e => e,
    })?;
    let redirects = to_json(&kb.redirects)?;
    let rp = dir.join("redirects.json");
    std::fs::write(&rp, redirects).map_err(|e| written(&rp, e))?;
    let dp = dir.join(DEPRECATED_FILE);
    std::fs::write(&dp, to_json(&kb.deprecated)?).map_err(|e| written(&dp, e))?;
    let qp = dir.join(QUERY_FILE);
    std::fs::write(&qp, to_json(&kb.query_words)?).map_err(|e| written(&qp, e))?;
    let ep = dir.join(EXPLAIN_FILE);
    std::fs::write(&ep, to_json(&kb.explain)?).map_err(|e| written(&ep, e))?;
    stix_store::write(kb, dir).map_err(|e| match e {
        Error::Io { path, source } => written(&path, source),
        e => e,
    })?;
    let manifest = Manifest {
        kb_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version: SCHEMA_VERSION,
        built_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        build_seconds: started.elapsed().as_secs_f64(),
        sources: kb.sources.clone(),
        counts: kb.counts(),
        revoked: kb.redirects.len(),
        warnings: kb.warnings.len(),
        curated: kb.curated.clone(),
    };
    let mp = dir.join("manifest.json");
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| Error::Other(e.to_string().into()))?;
    std::fs::write(&mp, text).map_err(|e| written(&mp, e))?;
    Ok(manifest)
}

/// A write that failed while building: the live index is untouched, and a full disk says so.
fn written(path: &Path, e: std::io::Error) -> Error {
    let advice = if e.kind() == std::io::ErrorKind::StorageFull {
        msg!("index.advice_disk_full")
    } else {
        msg!("index.advice_writable")
    };
    Error::Index(
        msg!("index.cannot_write", path = path.display(), detail = e).with("advice", advice),
    )
}

/// True when 1 MiB more does not fit where `dir` is.
fn disk_full(dir: &Path) -> bool {
    let probe = dir.join("space-probe");
    let full = std::fs::write(&probe, vec![0u8; 1 << 20])
        .is_err_and(|e| e.kind() == std::io::ErrorKind::StorageFull);
    let _ = std::fs::remove_file(&probe);
    full
}

/// The tantivy part of a generation. Its errors are about writing, never advice to rebuild.
fn write_tantivy(kb: &Kb, dir: &Path, progress: Progress) -> Result<()> {
    let full = |e: tantivy::TantivyError| Error::Index(e.to_string().into());
    let (schema, f) = schema();
    let index = Index::create_in_dir(dir, schema).map_err(full)?;
    analysis::register(&index)?;
    // One thread, one segment: the same input gives the same documents in the same order.
    let mut writer = index
        .writer_with_num_threads::<TantivyDocument>(1, 200_000_000)
        .map_err(full)?;
    let total = kb.entities.len();
    for (i, e) in kb.entities.iter().enumerate() {
        let mut d = document(&f, e)?;
        for o in kb.origins_of(e) {
            for w in &o.words {
                let key = analysis::phrase_key(&index, &normalize(w));
                d.add_text(f.origin, key);
            }
        }
        writer.add_document(d).map_err(full)?;
        if i % 256 == 0 || i + 1 == total {
            progress(i + 1, total);
        }
    }
    writer.commit().map_err(full)?;
    writer.wait_merging_threads().map_err(full)?;
    Ok(())
}

/// Most tokens in a word that names a country (Ministry of Intelligence and Security).
pub const ORIGIN_WORDS: usize = 6;

/// Per-kind prior, in thousandths, so that equal text matches rank the kinds analysts look for
/// first; well-connected entities (much-used techniques) get up to 8% more, Mobile- and ICS-only
/// ones less.
fn weight(e: &Entity) -> u64 {
    let base: f64 = match e.kind {
        Kind::Tactic => 1100.0,
        Kind::Technique | Kind::Group => 1000.0,
        // A program is the answer when named; for a concept the technique comes first.
        Kind::Binary => 920.0,
        Kind::Alert => 950.0,
        // An event answers its number (an exact match); for a concept, the technique and the
        // program come first.
        Kind::Event => 800.0,
        // Below the catalogue entry of the same program (schtasks.exe before S0111 schtasks).
        Kind::Software => 880.0,
        Kind::Campaign => 900.0,
        Kind::Mitigation => 850.0,
        Kind::Asset => 800.0,
        Kind::DataSource | Kind::DataComponent => 700.0,
        Kind::DetectionStrategy => 600.0,
        Kind::Analytic => 500.0,
    };
    let links: usize = e.relations.values().map(Vec::len).sum();
    let popularity = (1.0 + links as f64).ln().min(8.0) / 100.0;
    // kb serves enterprise SOCs first: where a Mobile or ICS object matches as well as an
    // Enterprise one (Phishing, Data Encrypted for Impact), the Enterprise one leads. --domain
    // picks Mobile or ICS explicitly.
    let domain = if e.domains.iter().any(|d| d == "enterprise-attack") {
        1.0
    } else {
        0.75
    };
    (base * domain * (1.0 + popularity)) as u64
}

fn document(f: &Fields, e: &Entity) -> Result<TantivyDocument> {
    let mut d = doc!(
        f.id => exact_key(&e.id),
        f.kind => e.kind.as_str(),
        f.weight => weight(e),
    );
    for dm in &e.domains {
        d.add_text(f.domain, dm);
    }
    for t in &e.tactics {
        d.add_text(f.tactic, t.id.to_lowercase());
    }
    let names = std::iter::once(&e.id)
        .chain(std::iter::once(&e.name))
        .chain(&e.aliases)
        .chain(e.name_ja.iter())
        .chain(&e.aliases_ja);
    for n in names {
        d.add_text(f.exact, exact_key(n));
    }
    // A technique's Japanese name without its gloss (偽装 for 偽装(マスカレーディング)) is the same
    // name: see `without_gloss`. Other kinds keep theirs whole: their parentheses qualify
    // (`横移動 (モバイル)`, `... の検知(Windows)`) rather than gloss.
    if e.kind == Kind::Technique {
        for n in e.name_ja.iter().chain(&e.aliases_ja) {
            if let Some(head) = crate::text::without_gloss(n) {
                d.add_text(f.exact, exact_key(&head));
            }
        }
    }
    // Names that can start a command line. A system process's bare name ("lsass") is left out:
    // "lsass memory dump" is about the technique, not a command line of lsass.exe.
    if let Some(b) = &e.binary {
        d.add_text(f.program, exact_key(&e.id));
        if b.kind != crate::source::curated::BinaryKind::SystemProcess {
            for a in &e.aliases {
                d.add_text(f.program, exact_key(a));
            }
        }
    }
    // Keywords of techniques and tactics are synonyms of a concept ("schtasks", "常設"): a query
    // that is exactly one of them means that entity. Elsewhere they only describe: what a
    // program does ("remote desktop" for mstsc.exe), or a group's country and a malware's family
    // (北朝鮮, ランサムウェア). As whole-query matches those would outrank the technique that the
    // concept names, so they count as description text.
    let synonyms = matches!(
        e.kind,
        Kind::Tactic | Kind::Technique | Kind::Mitigation | Kind::DataComponent
    );
    let attributes = matches!(e.kind, Kind::Group | Kind::Software | Kind::Campaign);
    if synonyms {
        for k in e.keywords_en.iter().chain(&e.keywords_ja) {
            d.add_text(f.exact_kw, exact_key(k));
        }
    }
    for n in std::iter::once(&e.name).chain(&e.aliases) {
        d.add_text(f.names_en, space_scripts(&normalize(n)));
    }
    // A binary's Japanese name describes what it does (ボリューム シャドウ コピー ツール), like its
    // English summary: it counts as a keyword, or concept queries would rank programs above the
    // technique the concept names. Its English name is the file name.
    let names_ja = if e.kind == Kind::Binary {
        f.keywords_ja
    } else {
        f.names_ja
    };
    for n in e.name_ja.iter().chain(&e.aliases_ja) {
        d.add_text(names_ja, normalize(n));
    }
    let (kw_en, kw_ja) = if attributes {
        (f.text_en, f.text_ja)
    } else {
        (f.keywords_en, f.keywords_ja)
    };
    for k in &e.keywords_en {
        d.add_text(kw_en, normalize(k));
    }
    for k in &e.keywords_ja {
        d.add_text(kw_ja, normalize(k));
    }
    // Names, aliases and keywords together: "all query words present" is judged on these.
    let (terms_kw_en, terms_kw_ja): (&[String], &[String]) = if attributes {
        (&[], &[])
    } else {
        (&e.keywords_en, &e.keywords_ja)
    };
    for t in std::iter::once(&e.name)
        .chain(&e.aliases)
        .chain(terms_kw_en)
    {
        d.add_text(f.terms_en, normalize(t));
    }
    for t in e.name_ja.iter().chain(&e.aliases_ja).chain(terms_kw_ja) {
        d.add_text(f.terms_ja, normalize(t));
        d.add_text(f.grams_ja, normalize(t));
    }
    d.add_text(f.text_en, normalize(&e.description));
    if let Some(s) = &e.summary_ja {
        d.add_text(f.text_ja, normalize(s));
    }
    for c in std::iter::once(&e.id)
        .chain(std::iter::once(&e.name))
        .chain(&e.aliases)
    {
        d.add_text(f.code, c);
    }
    // An analytic's logs and event codes (`EventCode=4769`) are what analysts search by.
    for l in &e.log_sources {
        d.add_text(f.text_en, normalize(&format!("{} {}", l.name, l.channel)));
    }
    for m in &e.mutable_elements {
        d.add_text(
            f.text_en,
            normalize(&format!("{} {}", m.field, m.description)),
        );
    }
    if let Some(b) = &e.binary {
        // Switch names only, and among the description words: their explanations (hundreds
        // per program since the explain grammars) would drown the program's own words, and in
        // the program-name field they would outweigh the name itself.
        for s in &b.switches {
            d.add_text(f.text_en, &s.name);
        }
        for t in &b.techniques {
            d.add_text(f.text_en, normalize(&t.why_en));
            d.add_text(f.text_ja, normalize(&t.why_ja));
        }
    }
    let techniques = match e.kind {
        Kind::Binary | Kind::Alert | Kind::Event => e
            .related(crate::model::Rel::Techniques)
            .iter()
            .chain(e.related(crate::model::Rel::Software))
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    let techniques = order_like_source(e, techniques);
    let hit = StoredHit {
        id: e.id.clone(),
        kind: e.kind,
        name: e.name.clone(),
        name_ja: e.name_ja.clone(),
        tactics: e.tactics.clone(),
        domains: e.domains.clone(),
        subkind: e.subkind.clone(),
        snippet: first_sentence(&e.description, 160),
        snippet_ja: e.summary_ja.as_deref().map(|s| first_sentence(s, 100)),
        techniques,
        url: e.url.clone(),
    };
    d.add_text(f.hit, to_json(&hit)?);
    d.add_text(f.record, to_json(e)?);
    Ok(d)
}

/// Relations are sorted by ID; for a binary or alert the curated order (most characteristic
/// technique first) is what the user should see.
fn order_like_source(e: &Entity, mut refs: Vec<Ref>) -> Vec<Ref> {
    let order: Vec<&str> = match (&e.binary, &e.alert) {
        (Some(b), _) => b
            .techniques
            .iter()
            .map(|t| t.id.as_str())
            .chain(b.attack_software.iter().map(String::as_str))
            .collect(),
        (None, Some(a)) => a.techniques.iter().map(String::as_str).collect(),
        (None, None) => e
            .event
            .as_ref()
            .map(|v| v.techniques.iter().map(String::as_str).collect())
            .unwrap_or_default(),
    };
    if !order.is_empty() {
        refs.sort_by_key(|r| order.iter().position(|o| *o == r.id).unwrap_or(usize::MAX));
    }
    refs
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Other(e.to_string().into()))
}
