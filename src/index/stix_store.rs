//! The STIX objects of the indexed bundles, kept as they were written, for serving them again
//! (the TAXII frontend of `kb serve`). `kb index` writes them into the generation, so that a
//! packed index carries them too; a reader maps them lazily: a collection's catalog is read on
//! its first use, an object's bytes only when asked for. Owns the collections (one per
//! domain), our Japanese language-content objects, filtering by id, type, version, spec version
//! and date added, and paging. Knows nothing of HTTP or of TAXII's envelopes.
//!
//! Files in a generation folder:
//!
//! ```text
//! stix-collections.json        the collections: id, domain, title, object counts
//! stix-<domain>.objects        every object's JSON byte for byte as in the bundle, then ours
//! stix-<domain>.catalog.json   per object: id, type, version, date added, where its bytes are
//! ```

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::message::Message;
use crate::model::{Entity, Kb, RawBundle};
use crate::{Error, Result, msg};

const COLLECTIONS_FILE: &str = "stix-collections.json";

/// MITRE's own collection IDs on its TAXII 2.1 server (attack-taxii.mitre.org, its API root
/// /api/v21/), so that a client configured for MITRE's server needs only another host. These
/// are also the IDs of the x-mitre-collection objects in MITRE's STIX 2.1 bundles; the STIX 2.0
/// bundles of mitre/cti carry none, hence the table.
const MITRE_COLLECTIONS: [(&str, &str, &str); 3] = [
    (
        "enterprise-attack",
        "x-mitre-collection--1f5f1533-f617-4ca8-9ab4-6a02367fa019",
        "Enterprise ATT&CK",
    ),
    (
        "mobile-attack",
        "x-mitre-collection--dac0d2d7-8653-445c-9bff-82f934c1e858",
        "Mobile ATT&CK",
    ),
    (
        "ics-attack",
        "x-mitre-collection--90c00720-636b-4485-b342-8751d232bf09",
        "ICS ATT&CK",
    ),
];

/// The namespace of the UUIDs of our language-content objects (a fixed random UUID: the same
/// content gets the same ID on every machine and in every build).
const KB_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6b0c_1d2e_9a57_4f3b_8e21_5c4d_a7f0_3b19);

/// One collection: the objects of one indexed bundle.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Collection {
    /// MITRE's collection ID for the domain, else the bundle's own x-mitre-collection ID.
    pub id: String,
    /// enterprise-attack, mobile-attack or ics-attack.
    pub domain: String,
    pub title: String,
    /// The STIX versions of its objects ("2.0", "2.1").
    pub spec_versions: Vec<String>,
    /// Objects of the bundle.
    pub objects: usize,
    /// Our language-content objects (Japanese names and summaries) beside them.
    pub language_content: usize,
}

/// What the catalog records of one object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The object's `modified` as written, else its `created` (STIX: the version of an object
    /// that has no `modified`, such as a marking definition).
    pub version: String,
    /// When the object was added to the collection; see [`date_added`].
    pub date_added: String,
    /// "2.0" for an object without `spec_version` (STIX 2.0 objects carry none).
    pub spec_version: String,
    /// Ours (a language-content object), not the bundle's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ours: bool,
    at: u64,
    len: u64,
}

/// Which versions of an object a request wants (TAXII's `match[version]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Version {
    First,
    Last,
    All,
    At(SystemTime),
}

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        match s {
            "first" => Some(Version::First),
            "last" => Some(Version::Last),
            "all" => Some(Version::All),
            t => timestamp(t).map(Version::At),
        }
    }
}

/// What to select; empty lists select everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub ids: Vec<String>,
    pub types: Vec<String>,
    /// Empty: the last version of each object.
    pub versions: Vec<Version>,
    pub spec_versions: Vec<String>,
    pub added_after: Option<SystemTime>,
    /// Also our language-content objects (opt-in: a client configured for MITRE's server gets
    /// MITRE's objects only).
    pub language_content: bool,
}

/// One page of a selection, in date-added order.
pub struct Page<'a> {
    pub entries: Vec<&'a Entry>,
    /// Where the next page starts, when there is one.
    pub next: Option<usize>,
}

/// A STIX timestamp (RFC 3339 in UTC, any fraction of a second), or a date alone (midnight
/// UTC), as TAXII filters write them.
pub fn timestamp(s: &str) -> Option<SystemTime> {
    if s.len() == 10 {
        return humantime::parse_rfc3339(&format!("{s}T00:00:00Z")).ok();
    }
    humantime::parse_rfc3339(s).ok()
}

/// The bundles carry no date_added (nor does STIX): an object's date added is its version (its
/// `modified`, else `created`), in milliseconds. The time of `kb index` would make every object
/// new at every rebuild and differ between machines, so a client polling with `added_after`
/// would fetch everything again each time; the version is stable, the same everywhere, and
/// moves exactly when an ATT&CK release changes the object, which is what such a client wants.
fn date_added(version: SystemTime) -> String {
    humantime::format_rfc3339_millis(version).to_string()
}

/// Writes the collections of `kb` into the generation folder `dir`.
pub fn write(kb: &Kb, dir: &Path) -> Result<()> {
    let japanese: HashMap<&str, &Entity> = kb
        .entities
        .iter()
        .filter(|e| e.name_ja.is_some() || e.summary_ja.is_some())
        .filter_map(|e| Some((e.stix_id.as_deref()?, e)))
        .collect();
    let mut collections = Vec::new();
    for raw in &kb.raw {
        let Some((id, title)) = collection_of(raw) else {
            continue;
        };
        collections.push(write_collection(raw, id, title, &japanese, dir)?);
    }
    let p = dir.join(COLLECTIONS_FILE);
    let text =
        serde_json::to_vec_pretty(&collections).map_err(|e| Error::Other(e.to_string().into()))?;
    std::fs::write(&p, text).map_err(|e| Error::io(&p, e))
}

/// The collection ID and title of a bundle: MITRE's for its domain, else its own
/// x-mitre-collection; a bundle with neither is not served.
fn collection_of(raw: &RawBundle) -> Option<(String, String)> {
    match MITRE_COLLECTIONS.iter().find(|(d, _, _)| *d == raw.domain) {
        Some((_, id, title)) => Some((id.to_string(), title.to_string())),
        None => raw.collection.clone().map(|id| (id, raw.domain.clone())),
    }
}

fn objects_file(domain: &str) -> String {
    format!("stix-{domain}.objects")
}

fn catalog_file(domain: &str) -> String {
    format!("stix-{domain}.catalog.json")
}

/// The fields of a raw object the catalog needs.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    spec_version: Option<String>,
}

fn write_collection(
    raw: &RawBundle,
    id: String,
    title: String,
    japanese: &HashMap<&str, &Entity>,
    dir: &Path,
) -> Result<Collection> {
    let data_path = dir.join(objects_file(&raw.domain));
    let file = std::fs::File::create(&data_path).map_err(|e| Error::io(&data_path, e))?;
    let mut out = std::io::BufWriter::new(file);
    let mut at: u64 = 0;
    let mut catalog = Vec::with_capacity(raw.objects.len());
    let mut put = |bytes: &[u8], head: &Head, version: &str, ours: bool| -> Result<Entry> {
        out.write_all(bytes)
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| Error::io(&data_path, e))?;
        let entry = Entry {
            id: head.id.clone(),
            kind: head.kind.clone(),
            version: version.to_string(),
            date_added: date_added(timestamp(version).unwrap_or(SystemTime::UNIX_EPOCH)),
            spec_version: head.spec_version.clone().unwrap_or_else(|| "2.0".into()),
            ours,
            at,
            len: bytes.len() as u64,
        };
        at += bytes.len() as u64 + 1;
        Ok(entry)
    };
    let mut language_content = Vec::new();
    for bytes in raw.objects.iter() {
        // An object without a type or ID is no STIX object: nothing could ask for it.
        let Ok(head) = serde_json::from_slice::<Head>(bytes) else {
            continue;
        };
        let Some(version) = head.modified.as_deref().or(head.created.as_deref()) else {
            continue;
        };
        catalog.push(put(bytes, &head, version, false)?);
        if let Some(e) = japanese.get(head.id.as_str()) {
            language_content.push((head.id.clone(), version.to_string(), *e));
        }
    }
    let objects = catalog.len();
    for (object_ref, version, e) in &language_content {
        let (bytes, head, lc_version) = language_content_object(object_ref, version, e)?;
        catalog.push(put(&bytes, &head, &lc_version, true)?);
    }
    out.flush().map_err(|e| Error::io(&data_path, e))?;
    drop(out);
    catalog.sort_by(|a, b| (&a.date_added, &a.id).cmp(&(&b.date_added, &b.id)));
    let mut spec_versions: Vec<String> = catalog
        .iter()
        .filter(|e| !e.ours)
        .map(|e| e.spec_version.clone())
        .collect();
    spec_versions.sort();
    spec_versions.dedup();
    let cp = dir.join(catalog_file(&raw.domain));
    let text = serde_json::to_vec(&catalog).map_err(|e| Error::Other(e.to_string().into()))?;
    std::fs::write(&cp, text).map_err(|e| Error::io(&cp, e))?;
    Ok(Collection {
        id,
        domain: raw.domain.clone(),
        title,
        spec_versions,
        objects,
        language_content: language_content.len(),
    })
}

/// A STIX 2.1 language-content object holding our Japanese name and summary of the object
/// `object_ref` at version `object_modified`. Its `created` and `modified` are that version (we
/// keep no date of our own texts, and a build time would differ between machines); its ID
/// comes from the object and the texts, so one ID never stands for two contents.
fn language_content_object(
    object_ref: &str,
    object_modified: &str,
    e: &Entity,
) -> Result<(Vec<u8>, Head, String)> {
    let mut ja = BTreeMap::new();
    if let Some(n) = &e.name_ja {
        ja.insert("name", n.as_str());
    }
    // Our summary in our own words, not a translation of MITRE's description.
    if let Some(s) = &e.summary_ja {
        ja.insert("description", s.as_str());
    }
    let seed = format!(
        "{object_ref}\n{}\n{}",
        ja.get("name").unwrap_or(&""),
        ja.get("description").unwrap_or(&"")
    );
    let id = format!(
        "language-content--{}",
        uuid::Uuid::new_v5(&KB_NAMESPACE, seed.as_bytes())
    );
    let stamp = date_added(timestamp(object_modified).unwrap_or(SystemTime::UNIX_EPOCH));
    let value = serde_json::json!({
        "type": "language-content",
        "spec_version": "2.1",
        "id": id,
        "created": stamp,
        "modified": stamp,
        "object_ref": object_ref,
        "object_modified": object_modified,
        "contents": { "ja": ja },
    });
    let bytes = serde_json::to_vec(&value).map_err(|e| Error::Other(e.to_string().into()))?;
    let head = Head {
        kind: "language-content".into(),
        id,
        created: None,
        modified: None,
        spec_version: Some("2.1".into()),
    };
    Ok((bytes, head, stamp))
}

/// The collections of one generation, opened: their files are held open (a rebuild may remove
/// the folder once this reader lets go of it), and read on first use.
pub struct StixStore {
    collections: Vec<Opened>,
}

struct Opened {
    info: Collection,
    objects: std::fs::File,
    catalog: std::fs::File,
    loaded: OnceLock<std::result::Result<Loaded, Message>>,
}

/// A collection's catalog in memory, with what filters compare, and its objects mapped.
struct Loaded {
    entries: Vec<Entry>,
    /// Per entry: its version and date added as times, and whether it is the first and the
    /// last version of its object in the collection.
    facts: Vec<Facts>,
    /// Entry positions sorted by object ID (then position): the versions of one object lie
    /// together. Smaller than a map of ID copies, for 25,000 entries just as quick.
    by_id: Vec<u32>,
    bytes: memmap2::Mmap,
}

struct Facts {
    version: SystemTime,
    added: SystemTime,
    first: bool,
    last: bool,
}

impl StixStore {
    /// Opens the collections of the generation folder `dir`.
    pub fn open(dir: &Path) -> Result<StixStore> {
        let p = dir.join(COLLECTIONS_FILE);
        let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
        let infos: Vec<Collection> = serde_json::from_str(&text).map_err(|e| {
            Error::Index(msg!(
                "index.damaged_explain",
                file = p.display(),
                detail = e
            ))
        })?;
        let open = |name: String| {
            let p = dir.join(name);
            std::fs::File::open(&p).map_err(|e| Error::io(&p, e))
        };
        let collections = infos
            .into_iter()
            .map(|info| {
                Ok(Opened {
                    objects: open(objects_file(&info.domain))?,
                    catalog: open(catalog_file(&info.domain))?,
                    info,
                    loaded: OnceLock::new(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(StixStore { collections })
    }

    pub fn collections(&self) -> impl Iterator<Item = &Collection> {
        self.collections.iter().map(|c| &c.info)
    }

    pub fn collection(&self, id: &str) -> Option<&Collection> {
        self.collections().find(|c| c.id == id)
    }

    fn loaded(&self, id: &str) -> Result<&Loaded> {
        let c = self
            .collections
            .iter()
            .find(|c| c.info.id == id)
            .ok_or_else(|| Error::NotFound(msg!("stix.no_collection", id = id)))?;
        c.loaded
            .get_or_init(|| load(c))
            .as_ref()
            .map_err(|why| Error::Index(why.clone()))
    }

    /// True when the collection holds an object with this ID (ours only when asked for).
    pub fn contains(&self, collection: &str, id: &str, ours: bool) -> Result<bool> {
        let l = self.loaded(collection)?;
        Ok(l.versions(id).any(|i| ours || !l.entries[i].ours))
    }

    /// The entries `filter` selects, `limit` of them from position `start` of the selection.
    pub fn page(
        &self,
        collection: &str,
        filter: &Filter,
        start: usize,
        limit: usize,
    ) -> Result<Page<'_>> {
        let l = self.loaded(collection)?;
        let candidates: Box<dyn Iterator<Item = usize>> = if filter.ids.is_empty() {
            Box::new(0..l.entries.len())
        } else {
            let mut at: Vec<usize> = filter.ids.iter().flat_map(|id| l.versions(id)).collect();
            at.sort_unstable();
            at.dedup();
            Box::new(at.into_iter())
        };
        let mut selected = candidates.filter(|&i| selects(filter, &l.entries[i], &l.facts[i]));
        let entries: Vec<&Entry> = selected
            .by_ref()
            .skip(start)
            .take(limit)
            .map(|i| &l.entries[i])
            .collect();
        let more = selected.next().is_some();
        let next = more.then_some(start + entries.len());
        Ok(Page { entries, next })
    }

    /// The JSON of the entries' objects as a JSON array, each object's bytes as written.
    pub fn objects_json(&self, collection: &str, entries: &[&Entry]) -> Result<Vec<u8>> {
        let l = self.loaded(collection)?;
        let size: u64 = entries.iter().map(|e| e.len + 1).sum();
        let mut out = Vec::with_capacity(size as usize + 2);
        out.push(b'[');
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let bytes = usize::try_from(e.at)
                .ok()
                .and_then(|at| l.bytes.get(at..at + usize::try_from(e.len).ok()?))
                .ok_or_else(|| {
                    Error::Index(msg!("index.damaged_record").with(
                        "why",
                        msg!("stix.objects_truncated", collection = collection),
                    ))
                })?;
            out.extend_from_slice(bytes);
        }
        out.push(b']');
        Ok(out)
    }
}

fn load(c: &Opened) -> std::result::Result<Loaded, Message> {
    let damaged = |detail: String| {
        msg!("index.damaged_record").with(
            "why",
            msg!(
                "stix.catalog_unreadable",
                domain = &c.info.domain,
                detail = detail
            ),
        )
    };
    let entries: Vec<Entry> = serde_json::from_reader(std::io::BufReader::new(&c.catalog))
        .map_err(|e| damaged(e.to_string()))?;
    // SAFETY: a generation's files are never written again once built (a rebuild writes a new
    // generation beside it), so the mapping does not change under the reader.
    let bytes = unsafe { memmap2::Mmap::map(&c.objects) }.map_err(|e| damaged(e.to_string()))?;
    let mut by_id: Vec<u32> = (0..entries.len() as u32).collect();
    by_id.sort_by(|&a, &b| entries[a as usize].id.cmp(&entries[b as usize].id));
    let epoch = SystemTime::UNIX_EPOCH;
    let mut facts: Vec<Facts> = entries
        .iter()
        .map(|e| Facts {
            version: timestamp(&e.version).unwrap_or(epoch),
            added: timestamp(&e.date_added).unwrap_or(epoch),
            first: false,
            last: false,
        })
        .collect();
    for same in by_id.chunk_by(|&a, &b| entries[a as usize].id == entries[b as usize].id) {
        let at = same.iter().map(|&i| i as usize);
        let newest = at.clone().max_by_key(|&i| facts[i].version);
        let oldest = at.min_by_key(|&i| facts[i].version);
        if let (Some(n), Some(o)) = (newest, oldest) {
            facts[n].last = true;
            facts[o].first = true;
        }
    }
    Ok(Loaded {
        entries,
        facts,
        by_id,
        bytes,
    })
}

impl Loaded {
    /// The positions of the versions of object `id`.
    fn versions<'a>(&'a self, id: &'a str) -> impl Iterator<Item = usize> + 'a {
        let from = self
            .by_id
            .partition_point(|&i| self.entries[i as usize].id.as_str() < id);
        self.by_id[from..]
            .iter()
            .map(|&i| i as usize)
            .take_while(move |&i| self.entries[i].id == id)
    }
}

fn selects(f: &Filter, e: &Entry, facts: &Facts) -> bool {
    (f.language_content || !e.ours)
        && (f.types.is_empty() || f.types.contains(&e.kind))
        && (f.spec_versions.is_empty() || f.spec_versions.contains(&e.spec_version))
        && f.added_after.is_none_or(|t| facts.added > t)
        && if f.versions.is_empty() {
            facts.last
        } else {
            f.versions.iter().any(|v| match v {
                Version::All => true,
                Version::First => facts.first,
                Version::Last => facts.last,
                Version::At(t) => facts.version == *t,
            })
        }
}
