//! Finding the sources and the index, the same way for every frontend (the `kb` command, `kb
//! serve`): which bundles to read (`--attack`, `$KB_ATTACK`, the data folder), which kb/ files,
//! where the index is (a folder or an unpacked `--bundle`), and opening it — building it first
//! on the first use, or again from its own bundles when another kb version wrote it; and the
//! two releases `kb diff` compares. Frontends
//! pass a sink for the notes a person should read and a progress callback; nothing here
//! prints.

use crate::message::Message;
use crate::msg;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::index::{self, KbIndex, Manifest, Progress};
use crate::model::{self, Kb};
use crate::query;
use crate::source::{self, curated::Curated, stix};
use crate::{Error, Result};

/// Where a frontend was told to look.
#[derive(Debug, Clone)]
pub struct Places {
    /// The index folder (`--index`, `$KB_INDEX`).
    pub index: PathBuf,
    /// The folder `kb fetch` fills (`--data`, `$KB_DATA`).
    pub data: PathBuf,
    /// A packed index to read instead of `index` (`--bundle`).
    pub bundle: Option<PathBuf>,
}

/// What to build an index from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Bundles or folders of bundles; empty: `$KB_ATTACK`, else the data folder.
    pub attack: Vec<PathBuf>,
    /// A curator's kb/ folder instead of the one built into kb.
    pub kb_dir: Option<PathBuf>,
}

/// Where notes for a person go (a warning, "building the index first").
pub type Notes<'a> = &'a dyn Fn(&Message);

/// The index folder readers open: the index folder, or the cache folder a bundle unpacks to.
pub fn index_root(places: &Places) -> Result<PathBuf> {
    match &places.bundle {
        Some(b) => index::pack::open(b, &index::pack::default_cache()),
        None => Ok(places.index.clone()),
    }
}

pub fn load_curated(s: &Sources) -> Result<Curated> {
    match &s.kb_dir {
        Some(d) => Curated::from_dir(d),
        None => Curated::embedded(),
    }
}

/// The given bundles, else $KB_ATTACK (paths separated like PATH), else the data folder.
pub fn source_paths(places: &Places, s: &Sources) -> Result<Vec<PathBuf>> {
    if !s.attack.is_empty() {
        return Ok(s.attack.clone());
    }
    if let Some(v) = std::env::var_os("KB_ATTACK").filter(|v| !v.is_empty()) {
        return Ok(std::env::split_paths(&v).collect());
    }
    if places.data.is_dir() {
        return Ok(vec![places.data.clone()]);
    }
    Err(Error::NoSources(msg!(
        "source.none_given",
        data = places.data.display()
    )))
}

/// Reads the bundles and links them with the curated files, noting what was skipped.
pub fn load_kb(places: &Places, s: &Sources, curated: &Curated, notes: Notes) -> Result<Kb> {
    let files = source::bundle_files(&source_paths(places, s)?)?;
    let bundles = files
        .iter()
        .map(|f| stix::read_bundle(f))
        .collect::<Result<Vec<_>>>()?;
    let kb = model::build(bundles, curated);
    // A damaged bundle can skip thousands of objects: the first lines and a count.
    const SHOWN: usize = 20;
    for w in kb.warnings.iter().take(SHOWN) {
        notes(&msg!("note.warning", text = w));
    }
    if kb.warnings.len() > SHOWN {
        notes(&msg!(
            "note.more_warnings",
            count = kb.warnings.len() - SHOWN
        ));
    }
    Ok(kb)
}

/// Builds the index at `out`. Refused, leaving the current index as it is: a curator's kb/
/// folder that lint finds errors in, and (unless `force`) bundles far smaller than those indexed.
pub fn build_index(
    places: &Places,
    s: &Sources,
    out: &Path,
    force: bool,
    progress: Progress,
    notes: Notes,
) -> Result<Manifest> {
    let started = Instant::now();
    let curated = load_curated(s)?;
    let kb = load_kb(places, s, &curated, notes)?;
    if let Some(dir) = &s.kb_dir {
        let problems = model::lint::lint(&curated, &kb).problems;
        if !problems.is_empty() {
            let count = problems.len();
            return Err(Error::Other(
                msg!("index.lint_errors", dir = dir.display(), count = count).with_all(
                    "problems",
                    problems.into_iter().take(10),
                    "\n  ",
                ),
            ));
        }
    }
    if !force && let Some(why) = index::shrinks(out, &kb) {
        return Err(Error::Other(msg!("index.refused_shrink").with("why", why)));
    }
    let m = index::build(&kb, out, progress)?;
    notes(&msg!(
        "note.indexed",
        seconds = format!("{:.2}", started.elapsed().as_secs_f64())
    ));
    Ok(m)
}

/// Opens the index, building it first when none was ever built there (the first search on a
/// machine: from the default sources), or when another kb version wrote it (from the bundles
/// its manifest names, if they are all still readable). A damaged index is reported, never
/// replaced: it may have been built from other sources than the defaults. Concurrent first
/// opens build once: the others wait for it, then open what it built.
/// Also returns the manifest of the index it built, if it built one.
pub fn open_or_build(
    places: &Places,
    progress: Progress,
    notes: Notes,
) -> Result<(KbIndex, Option<Manifest>)> {
    if places.bundle.is_some() {
        return Ok((KbIndex::open(&index_root(places)?)?, None));
    }
    if let Ok(kb) = open_or_plan(places, notes)? {
        return Ok((kb, None));
    }
    let _building = index::lock_first_build(&places.index)?;
    let (attack, why) = match open_or_plan(places, notes)? {
        Ok(kb) => return Ok((kb, None)),
        Err(plan) => plan,
    };
    notes(&msg!("note.building").with("why", why));
    let sources = Sources {
        attack,
        kb_dir: None,
    };
    let m = build_index(places, &sources, &places.index, false, progress, notes)?;
    Ok((KbIndex::open(&places.index)?, Some(m)))
}

/// The opened index, or what to build it from (no paths: the default sources) and why.
type Plan = std::result::Result<KbIndex, (Vec<PathBuf>, Message)>;

fn open_or_plan(places: &Places, notes: Notes) -> Result<Plan> {
    let dir = &places.index;
    match KbIndex::open(dir) {
        Ok(kb) => {
            if kb.manifest.curated != Curated::embedded_fingerprint() {
                notes(&msg!("note.other_curated", dir = dir.display()));
            }
            Ok(Ok(kb))
        }
        Err(Error::IndexOutdated(why)) => match index::recorded_sources(dir) {
            Some(paths) if paths.iter().all(|p| p.is_file()) => {
                Ok(Err((paths, msg!("note.rebuilding").with("why", why))))
            }
            _ => Err(Error::Index(
                msg!("index.outdated_no_bundles").with("why", why),
            )),
        },
        Err(_) if !index::exists(dir) => Ok(Err((
            Vec::new(),
            msg!("note.first_build", dir = dir.display()),
        ))),
        Err(e) => Err(e),
    }
}

/// The bundle of one side of `kb diff`: a path as given, or the release `spec` (`17.1`) of
/// `domain` among the bundles kb knows (`--attack`, `$KB_ATTACK`, the data folder). Without a
/// domain, the one both sides have (`kb diff 17.1 18.1` finds Enterprise where 17.1 is only
/// Enterprise); where several are, the user chooses with `--domain`.
pub fn find_releases(
    places: &Places,
    s: &Sources,
    specs: [&str; 2],
    domain: Option<&str>,
) -> Result<[PathBuf; 2]> {
    let wanted = domain.map(query::domain).transpose()?;
    let domain = wanted.as_deref();
    // A version is `18.1` or `v18.1`; anything that names a file is a path.
    let is_path = |spec: &str| {
        let lower = spec.to_ascii_lowercase();
        Path::new(spec).is_file()
            || spec.contains(std::path::is_separator)
            || lower.ends_with(".json")
            || lower.ends_with(".zip")
    };
    // (domain, version, path) of every known bundle, read only when its name does not say.
    let mut known: Vec<(String, String, PathBuf)> = Vec::new();
    if !specs.iter().all(|s| is_path(s)) {
        let files = source_paths(places, s)
            .and_then(|paths| source::bundle_files(&paths))
            .map_err(|e| match e {
                Error::NoSources(why) => {
                    Error::Other(msg!("diff.no_known_bundles").with("why", why))
                }
                e => e,
            })?;
        for f in files {
            let named = stix::domain_in_name(&f).zip(stix::version_in_name(&f));
            let (d, v) = match named {
                Some((d, v)) => (d.to_string(), v),
                None => {
                    let info = stix::read_bundle(&f)?.info;
                    (info.domain, info.version)
                }
            };
            known.push((d, v, f));
        }
    }
    let matches = |spec: &str| -> Vec<&(String, String, PathBuf)> {
        let spec = spec.trim_start_matches(['v', 'V']);
        known
            .iter()
            .filter(|(d, v, _)| v == spec && domain.is_none_or(|want| d == want))
            .collect()
    };
    // Without --domain: the one domain every side can be (a version's bundles, a path's name).
    let chosen: Option<String> = match domain {
        Some(d) => Some(d.to_string()),
        None => {
            let mut common: Option<BTreeSet<String>> = None;
            for spec in specs {
                let can_be: BTreeSet<String> = if is_path(spec) {
                    match stix::domain_in_name(Path::new(spec)) {
                        Some(d) => [d.to_string()].into(),
                        None => continue,
                    }
                } else {
                    matches(spec)
                        .into_iter()
                        .map(|(d, _, _)| d.clone())
                        .collect()
                };
                common = Some(match common {
                    None => can_be,
                    Some(c) => c.intersection(&can_be).cloned().collect(),
                });
            }
            let common: Vec<String> = common.unwrap_or_default().into_iter().collect();
            match common.as_slice() {
                [one] => Some(one.clone()),
                [] => None,
                several => {
                    return Err(Error::Other(msg!(
                        "diff.several_domains",
                        domains = several.join(", ")
                    )));
                }
            }
        }
    };
    let one = |spec: &str| -> Result<PathBuf> {
        if is_path(spec) {
            return Ok(PathBuf::from(spec));
        }
        let found: Vec<_> = matches(spec)
            .into_iter()
            .filter(|(d, _, _)| chosen.as_deref().is_none_or(|c| c == d))
            .collect();
        match found.as_slice() {
            [one] => Ok(one.2.clone()),
            [] => {
                let have: Vec<String> = known
                    .iter()
                    .map(|(d, v, _)| format!("{d} {v}"))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let have = if have.is_empty() {
                    msg!("diff.no_bundles_known")
                } else {
                    Message::from(have.join(", "))
                };
                let release = match chosen.as_deref() {
                    Some(d) => format!("{spec} ({d})"),
                    None => spec.to_string(),
                };
                Err(Error::NotFound(
                    msg!("diff.release_missing", release = release, spec = spec).with("have", have),
                ))
            }
            several => Err(Error::Other(msg!(
                "diff.ambiguous_release",
                spec = spec,
                paths = several
                    .iter()
                    .map(|(_, _, p)| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    };
    Ok([one(specs[0])?, one(specs[1])?])
}
