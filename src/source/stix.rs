//! Reading ATT&CK STIX bundles (STIX 2.0 as in mitre/cti, STIX 2.1 as in attack-stix-data), plain
//! or zipped. Owns the raw object shape and per-bundle facts (domain, version); knows nothing of
//! how objects relate — [`crate::model`] links them.

use crate::msg;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{Error, Result};

/// One STIX object, with only the fields kb uses. Unknown fields are ignored, so new ATT&CK
/// releases keep loading.
#[derive(Debug, Clone, Deserialize)]
pub struct StixObject {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub external_references: Vec<ExternalReference>,
    #[serde(default)]
    pub revoked: bool,
    #[serde(default)]
    pub x_mitre_deprecated: bool,
    #[serde(default)]
    pub modified: Option<String>,
    #[serde(default)]
    pub x_mitre_version: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub x_mitre_aliases: Vec<String>,
    #[serde(default)]
    pub kill_chain_phases: Vec<KillChainPhase>,
    #[serde(default)]
    pub x_mitre_platforms: Vec<String>,
    #[serde(default)]
    pub x_mitre_domains: Vec<String>,
    #[serde(default)]
    pub x_mitre_shortname: Option<String>,
    #[serde(default)]
    pub x_mitre_is_subtechnique: bool,
    #[serde(default)]
    pub relationship_type: Option<String>,
    #[serde(default)]
    pub source_ref: Option<String>,
    #[serde(default)]
    pub target_ref: Option<String>,
    #[serde(default)]
    pub tactic_refs: Vec<String>,
    #[serde(default)]
    pub x_mitre_analytic_refs: Vec<String>,
    #[serde(default)]
    pub x_mitre_data_source_ref: Option<String>,
    #[serde(default)]
    pub x_mitre_detection: Option<String>,
    /// v18 analytics: the logs they read (`WinEventLog:Security`, `EventCode=4769`).
    #[serde(default)]
    pub x_mitre_log_source_references: Vec<LogSource>,
    /// v18 analytics: what a defender tunes (thresholds, allow lists).
    #[serde(default)]
    pub x_mitre_mutable_elements: Vec<MutableElement>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct LogSource {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub channel: String,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct MutableElement {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ExternalReference {
    #[serde(default)]
    pub source_name: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct KillChainPhase {
    pub kill_chain_name: String,
    pub phase_name: String,
}

impl StixObject {
    /// The ATT&CK ID (T1053.005, TA0003, S0002, ...) from the `mitre-attack` external reference.
    /// Data components had no IDs before ATT&CK v18; they get one from their name
    /// (`dc-process-creation`) so that older releases still show their detections.
    pub fn attack_id(&self) -> Option<String> {
        match self.mitre_ref().and_then(|r| r.external_id.as_deref()) {
            Some(id) => Some(id.to_string()),
            None if self.kind == "x-mitre-data-component" => {
                let name = self.name.as_deref()?;
                let slug: Vec<String> = name
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .map(str::to_lowercase)
                    .collect();
                Some(format!("dc-{}", slug.join("-")))
            }
            None => None,
        }
    }

    /// Whether the bundle gives its ATT&CK ID (a made-up `dc-…` one does not count).
    pub fn has_attack_id(&self) -> bool {
        self.mitre_ref()
            .and_then(|r| r.external_id.as_ref())
            .is_some()
    }

    pub fn url(&self) -> Option<&str> {
        self.mitre_ref().and_then(|r| r.url.as_deref())
    }

    fn mitre_ref(&self) -> Option<&ExternalReference> {
        self.external_references
            .iter()
            .find(|r| r.source_name.starts_with("mitre-"))
    }

    pub fn is_live(&self) -> bool {
        !self.revoked && !self.x_mitre_deprecated
    }
}

/// What a bundle is: recorded in the index manifest.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct SourceInfo {
    pub path: String,
    /// enterprise-attack, mobile-attack or ics-attack.
    pub domain: String,
    /// ATT&CK release, e.g. "18.1", or "unknown".
    pub version: String,
    pub spec_version: String,
    pub objects: usize,
    /// The newest `modified` date of its objects: which of two releases is newer when neither
    /// names its version (a 2.0 bundle has no collection object, a fetched file no version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<String>,
}

pub struct Bundle {
    pub info: SourceInfo,
    pub objects: Vec<StixObject>,
    /// Objects that could not be read, one line each: skipped, the rest still loads.
    pub warnings: Vec<String>,
    /// Every object of the bundle exactly as written, for serving them again (TAXII).
    pub raw: RawObjects,
}

/// The bytes of a bundle and where each of its objects lies in them: an object's JSON as the
/// bundle wrote it (key order, spacing, escapes), without copying it out object by object.
#[derive(Default)]
pub struct RawObjects {
    bytes: Vec<u8>,
    spans: Vec<std::ops::Range<usize>>,
}

impl RawObjects {
    /// The JSON text of each object, in bundle order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.spans.iter().map(|s| &self.bytes[s.clone()])
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

impl std::fmt::Debug for RawObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RawObjects({} objects, {} bytes)",
            self.len(),
            self.bytes.len()
        )
    }
}

#[derive(Deserialize)]
struct RawBundle<'a> {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    spec_version: Option<String>,
    #[serde(borrow)]
    objects: Vec<&'a RawValue>,
}

/// The largest bundle kb reads (a file, a zip entry or a download): Enterprise is ~45 MB, and
/// what is read is held in memory while it is parsed.
pub const MAX_BUNDLE_BYTES: u64 = 256 << 20;

/// Reads a `.json` bundle, or the one `.json` inside a `.zip`.
pub fn read_bundle(path: &Path) -> Result<Bundle> {
    parse_owned(path, read_bytes(path)?)
}

/// A regular file of at most [`MAX_BUNDLE_BYTES`].
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    read_capped(open_file(path)?, &path.display().to_string())
}

fn open_file(path: &Path) -> Result<std::fs::File> {
    // Checked before opening: opening a FIFO waits for a writer, /dev/zero never ends.
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(crate::source::not_a_file(path));
    }
    std::fs::File::open(path).map_err(|e| Error::io(path, e))
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let is_zip = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    if !is_zip {
        return read_file(path);
    }
    let file = open_file(path)?;
    let bad = |m: crate::message::Message| {
        Error::Other(msg!("bundle.bad_zip", path = path.display()).with("why", m))
    };
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string().into()))?;
    let names: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.to_string()))
        .filter(|n| n.to_ascii_lowercase().ends_with(".json"))
        .collect();
    let name = match names.as_slice() {
        [] => return Err(bad(msg!("bundle.zip_without_json"))),
        [one] => one.clone(),
        several => {
            return Err(Error::Other(msg!(
                "bundle.zip_several_json",
                path = path.display(),
                files = several.join(", ")
            )));
        }
    };
    let entry = zip.by_name(&name).map_err(|e| bad(e.to_string().into()))?;
    let what = format!("{}: {name}", path.display());
    if entry.size() > MAX_BUNDLE_BYTES {
        return Err(too_large(&what));
    }
    read_capped(entry, &what)
}

/// Reads at most [`MAX_BUNDLE_BYTES`], streaming: the declared size of a zip entry may lie.
fn read_capped(r: impl Read, what: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    r.take(MAX_BUNDLE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Other(format!("{what}: {e}").into()))?;
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(too_large(what));
    }
    Ok(bytes)
}

fn too_large(what: &str) -> Error {
    Error::Other(msg!(
        "bundle.too_large",
        what = what,
        mib = MAX_BUNDLE_BYTES >> 20
    ))
}

/// Parses bundle bytes. Malformed JSON fails with its line and column; an object that lacks a
/// field kb needs is skipped with a warning.
pub fn parse_bundle(path: &Path, bytes: &[u8]) -> Result<Bundle> {
    parse_owned(path, bytes.to_vec())
}

/// [`parse_bundle`] keeping `bytes` as the bundle's [`RawObjects`] (no copy of a 40 MB file).
fn parse_owned(path: &Path, bytes: Vec<u8>) -> Result<Bundle> {
    let (mut bundle, spans) = parse_spans(path, &bytes)?;
    bundle.raw = RawObjects { bytes, spans };
    Ok(bundle)
}

/// The parse itself; the bundle it returns has no raw objects yet, only their spans in `bytes`.
fn parse_spans(path: &Path, bytes: &[u8]) -> Result<(Bundle, Vec<std::ops::Range<usize>>)> {
    let base = bytes.as_ptr() as usize;
    let json_err = |e: serde_json::Error| {
        // serde_json's message ends with the position, which Error::Json prints already.
        let message = e.to_string();
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_string(),
            None => message,
        };
        Error::Json {
            path: PathBuf::from(path),
            line: e.line(),
            column: e.column(),
            message,
        }
    };
    let not_a_bundle = |why: crate::message::Message| {
        Error::Other(msg!("bundle.not_stix", path = path.display()).with("why", why))
    };
    // Editors on Windows save UTF-8 with a byte order mark.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(not_a_bundle(msg!("bundle.not_json_object")));
    }
    let raw: RawBundle = serde_json::from_slice(bytes).map_err(json_err)?;
    if let Some(kind) = raw.kind.as_deref().filter(|k| *k != "bundle") {
        return Err(not_a_bundle(msg!(
            "bundle.single_object",
            kind = format!("{kind:?}")
        )));
    }
    let mut objects = Vec::with_capacity(raw.objects.len());
    let mut warnings = Vec::new();
    // Per STIX type: objects read, objects skipped.
    let mut tally: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for (i, o) in raw.objects.iter().enumerate() {
        match serde_json::from_str::<StixObject>(o.get()) {
            Ok(obj) => match missing_field(&obj) {
                None => {
                    tally.entry(obj.kind.clone()).or_default().0 += 1;
                    objects.push(obj);
                }
                Some(field) => {
                    tally.entry(obj.kind.clone()).or_default().1 += 1;
                    warnings.push(format!(
                        "{}: object #{i} ({}) has no {field}; skipped",
                        path.display(),
                        obj.id
                    ));
                }
            },
            Err(e) => {
                #[derive(Deserialize)]
                struct Typed {
                    #[serde(rename = "type")]
                    kind: String,
                }
                let kind = serde_json::from_str::<Typed>(o.get())
                    .map_or_else(|_| "untyped".into(), |t| t.kind);
                tally.entry(kind.clone()).or_default().1 += 1;
                warnings.push(format!(
                    "{}: object #{i} ({kind}) skipped: {e}",
                    path.display()
                ));
            }
        }
    }
    // A gutted bundle (wrong field types everywhere) must not replace a good index: refused
    // where no object of an ATT&CK type reads, or too many of a type large enough to judge.
    let gutted: Vec<String> = tally
        .iter()
        .filter(|(kind, _)| {
            kind.as_str() == "relationship" || ATTACK_TYPES.contains(&kind.as_str())
        })
        .filter(|(_, (ok, bad))| {
            let n = ok + bad;
            *bad > 0 && (*ok == 0 || (n >= MIN_JUDGED && bad * 100 > n * MAX_SKIPPED_PERCENT))
        })
        .map(|(kind, (ok, bad))| format!("{bad} of {} {kind} objects", ok + bad))
        .collect();
    let first_errors = || -> String {
        let shown: Vec<&str> = warnings.iter().take(5).map(String::as_str).collect();
        let more = warnings.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!("\n  … and {more} more")
        } else {
            String::new()
        };
        format!("\n  {}{more}", shown.join("\n  "))
    };
    if !gutted.is_empty() {
        return Err(Error::Other(msg!(
            "bundle.gutted",
            path = path.display(),
            types = gutted.join(", "),
            percent = MAX_SKIPPED_PERCENT,
            errors = first_errors()
        )));
    }
    // An empty or foreign bundle must not replace a good index.
    if !objects
        .iter()
        .any(|o| ATTACK_TYPES.contains(&o.kind.as_str()))
    {
        let why = if warnings.is_empty() {
            msg!("bundle.no_objects")
        } else {
            msg!("bundle.no_readable_object", errors = first_errors())
        };
        return Err(not_a_bundle(why));
    }
    let spec_version = raw
        .spec_version
        .or_else(|| {
            // STIX 2.1 puts spec_version on each object instead of the bundle.
            raw.objects.iter().take(8).find_map(|o| {
                serde_json::from_str::<serde_json::Value>(o.get())
                    .ok()?
                    .get("spec_version")?
                    .as_str()
                    .map(str::to_owned)
            })
        })
        .unwrap_or_else(|| "unknown".into());
    let info = SourceInfo {
        path: path.display().to_string(),
        domain: domain_of(path, &objects),
        version: version_of(path, &objects),
        spec_version,
        objects: objects.len(),
        newest: objects.iter().filter_map(|o| o.modified.clone()).max(),
    };
    // RawValue borrows from `bytes`: its position there is the object's span.
    let spans = raw
        .objects
        .iter()
        .map(|o| {
            let start = o.get().as_ptr() as usize - base;
            start..start + o.get().len()
        })
        .collect();
    let bundle = Bundle {
        info,
        objects,
        warnings,
        raw: RawObjects::default(),
    };
    Ok((bundle, spans))
}

/// Above this share of unreadable objects of one type, a bundle is refused rather than indexed
/// with holes.
const MAX_SKIPPED_PERCENT: usize = 10;
/// The share is judged from this many objects of a type on; below, only "none reads" refuses.
const MIN_JUDGED: usize = 20;

/// STIX types that carry ATT&CK content (and an ATT&CK ID).
const ATTACK_TYPES: [&str; 12] = [
    "attack-pattern",
    "x-mitre-tactic",
    "intrusion-set",
    "malware",
    "tool",
    "course-of-action",
    "campaign",
    "x-mitre-data-source",
    "x-mitre-data-component",
    "x-mitre-detection-strategy",
    "x-mitre-analytic",
    "x-mitre-asset",
];

/// The field kb cannot do without, if the object lacks it.
fn missing_field(o: &StixObject) -> Option<&'static str> {
    match o.kind.as_str() {
        "relationship" => {
            if o.relationship_type.is_none() {
                Some("relationship_type")
            } else if o.source_ref.is_none() || o.target_ref.is_none() {
                Some("source_ref/target_ref")
            } else {
                None
            }
        }
        t if ATTACK_TYPES.contains(&t) => {
            if o.name.as_deref().is_none_or(str::is_empty) {
                Some("name")
            } else if o.attack_id().is_none() {
                Some("ATT&CK ID (external_references)")
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The domain: what the collection object declares (attack-stix-data), else what most techniques
/// say they belong to, else the file name.
fn domain_of(path: &Path, objects: &[StixObject]) -> String {
    let declared = objects
        .iter()
        .find(|o| o.kind == "x-mitre-collection")
        .and_then(|o| o.name.as_deref())
        .map(str::to_ascii_lowercase);
    if let Some(d) = declared.and_then(|n| {
        [
            ("enterprise", "enterprise-attack"),
            ("mobile", "mobile-attack"),
            ("ics", "ics-attack"),
        ]
        .into_iter()
        .find(|(word, _)| n.contains(word))
    }) {
        return d.1.to_string();
    }
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for o in objects.iter().filter(|o| o.kind == "attack-pattern") {
        for d in &o.x_mitre_domains {
            *counts.entry(d.as_str()).or_default() += 1;
        }
    }
    if let Some((d, _)) = counts.into_iter().max_by_key(|(_, n)| *n) {
        return d.to_string();
    }
    domain_in_name(path).unwrap_or("unknown").to_string()
}

/// The three ATT&CK domains, as bundles name them.
pub const DOMAINS: [&str; 3] = ["enterprise-attack", "mobile-attack", "ics-attack"];

/// A domain as a user types it (`enterprise`, `Mobile-ATTACK`), as bundles name it; None for
/// anything else.
pub fn parse_domain(s: &str) -> Option<&'static str> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix("-attack").unwrap_or(&s);
    DOMAINS
        .into_iter()
        .find(|d| d.strip_suffix("-attack") == Some(s))
}

/// The domain a file name such as `enterprise-attack-18.1.json` declares.
pub fn domain_in_name(path: &Path) -> Option<&'static str> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    DOMAINS.into_iter().find(|d| name.contains(d))
}

/// The release a file name such as `enterprise-attack-18.1.json` declares.
pub fn version_in_name(path: &Path) -> Option<String> {
    let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or("");
    name.rsplit('-')
        .next()
        .filter(|v| v.contains('.') && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .map(str::to_string)
}

/// The ATT&CK release: from the x-mitre-collection object (attack-stix-data), else from a file
/// name such as `enterprise-attack-18.1.json`. Which of two releases is newer is decided from
/// their content ([`SourceInfo::newest`]), never from this name alone.
fn version_of(path: &Path, objects: &[StixObject]) -> String {
    if let Some(v) = objects
        .iter()
        .find(|o| o.kind == "x-mitre-collection")
        .and_then(|o| o.x_mitre_version.clone())
    {
        return v;
    }
    version_in_name(path).unwrap_or_else(|| "unknown".into())
}
