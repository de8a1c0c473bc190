//! What changed between two ATT&CK releases of one domain (`kb diff 17.1 18.1`): objects added,
//! removed from the bundle, revoked (with their replacement), deprecated, renamed and otherwise
//! changed, per kind; sub-techniques that moved to another parent; techniques whose tactics or
//! platforms changed; how descriptions changed (a word diff, summarised); and the relationships
//! of chosen groups or software that came or went.
//!
//! Objects are matched by STIX ID, as MITRE's own changelog tool (mitreattack-python's
//! `diff_stix`) does, so that the counts of both can be set side by side; the change levels
//! (major, minor, other, patch) follow its definitions too. This module compares two read
//! bundles ([`crate::source::stix`]); finding the bundles and printing are the frontends'.

pub mod words;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::Serialize;

use crate::model::{Kind, Ref, id_order};
use crate::source::curated::Curated;
use crate::source::stix::{self, Bundle, SourceInfo, StixObject};
use crate::{Error, Result, msg};

pub use words::WordDiff;

/// The kinds compared, in the order a change log lists them.
pub const KINDS: [Kind; 11] = [
    Kind::Technique,
    Kind::Tactic,
    Kind::Software,
    Kind::Group,
    Kind::Campaign,
    Kind::Asset,
    Kind::Mitigation,
    Kind::DataSource,
    Kind::DataComponent,
    Kind::DetectionStrategy,
    Kind::Analytic,
];

/// What to look at besides the changes of every object.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Objects (a group G0016, software S0002) whose relationships are compared one by one.
    pub focus: Vec<(Kind, String)>,
}

impl Options {
    /// The relationships of these groups and software, as the CLI and the MCP tool name them.
    pub fn focusing(groups: Vec<String>, software: Vec<String>) -> Options {
        let groups = groups.into_iter().map(|g| (Kind::Group, g));
        let software = software.into_iter().map(|s| (Kind::Software, s));
        Options {
            focus: groups.chain(software).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub domain: String,
    pub old: SourceInfo,
    pub new: SourceInfo,
    /// One entry per kind of [`KINDS`].
    pub kinds: Vec<KindDiff>,
    /// Sub-techniques under another parent than before.
    pub moved: Vec<Moved>,
    /// Techniques whose tactics changed.
    pub tactics: Vec<SetChange<Ref>>,
    /// Techniques whose platforms changed.
    pub platforms: Vec<SetChange<String>>,
    /// The relationships of each `--group` / `--software`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub focus: Vec<Focus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KindDiff {
    pub kind: Kind,
    pub counts: Counts,
    /// Only in the new release.
    pub added: Vec<Ref>,
    /// Gone from the new bundle altogether (neither revoked nor deprecated there).
    pub removed: Vec<Ref>,
    /// Revoked in the new release, with what replaces them.
    pub revoked: Vec<Revoked>,
    /// Deprecated in the new release: gone with nothing replacing them.
    pub deprecated: Vec<Ref>,
    /// Live in both, under another name.
    pub renamed: Vec<Renamed>,
    /// Live in both and changed: a new version, or a new date or text under the same version.
    pub changed: Vec<Changed>,
}

/// How many objects of a kind fall in each category.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub added: usize,
    pub removed: usize,
    pub revoked: usize,
    pub deprecated: usize,
    pub renamed: usize,
    /// Version X.Y → (X+1).0.
    pub major: usize,
    /// Version X.Y → X.(Y+1).
    pub minor: usize,
    /// Any other version change (a jump, or backwards).
    pub other: usize,
    /// Same version, another modified date or description.
    pub patch: usize,
    /// Live in both with other words in their description.
    pub description: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Revoked {
    #[serde(flatten)]
    pub item: Ref,
    /// None when the bundle revokes it without saying by what.
    pub replaced_by: Option<Ref>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Renamed {
    #[serde(flatten)]
    pub item: Ref,
    pub old_name: String,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Major,
    Minor,
    Other,
    Patch,
}

#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    #[serde(flatten)]
    pub item: Ref,
    pub level: Level,
    pub old_version: String,
    pub new_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<WordDiff>,
}

/// A sub-technique under another parent: the same object renumbered, or a revoked one whose
/// replacement sits under another technique.
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    /// As it is now.
    #[serde(flatten)]
    pub item: Ref,
    /// Its ID before (T1562.005 when it is T1562.013 now).
    pub old_id: String,
    pub old_parent: Option<Ref>,
    pub new_parent: Option<Ref>,
    /// Moved by revoking the old object in favour of this one.
    pub by_revocation: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SetChange<T> {
    #[serde(flatten)]
    pub item: Ref,
    pub added: Vec<T>,
    pub removed: Vec<T>,
}

/// The relationships of one object that came or went.
#[derive(Debug, Clone, Serialize)]
pub struct Focus {
    #[serde(flatten)]
    pub item: Ref,
    pub added: Vec<Link>,
    pub dropped: Vec<Link>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Link {
    /// The STIX relationship type: `uses`, `attributed-to`, …
    pub relationship: String,
    /// The focused object is the relationship's target (a software *used by* a group).
    pub reverse: bool,
    #[serde(flatten)]
    pub target: Ref,
}

/// Reads both bundles (at once, on two threads: each is tens of megabytes of JSON) and
/// compares them.
pub fn compare_files(old: &Path, new: &Path, curated: &Curated, opts: &Options) -> Result<Diff> {
    let (o, n) = std::thread::scope(|s| {
        let o = s.spawn(|| stix::read_bundle(old));
        let n = stix::read_bundle(new);
        let o = o
            .join()
            .unwrap_or_else(|_| Err(Error::Other(msg!("diff.read_failed", path = old.display()))));
        (o, n)
    });
    compare(&o?, &n?, curated, opts)
}

/// Compares two releases of one domain. Japanese names come from `curated`.
pub fn compare(old: &Bundle, new: &Bundle, curated: &Curated, opts: &Options) -> Result<Diff> {
    if old.info.domain != new.info.domain {
        return Err(Error::Other(msg!(
            "diff.other_domains",
            old = &old.info.path,
            old_domain = &old.info.domain,
            new = &new.info.path,
            new_domain = &new.info.domain
        )));
    }
    let names = Names::new(curated);
    let (o, n) = (Release::new(old), Release::new(new));
    let kinds = KINDS
        .iter()
        .map(|&k| compare_kind(k, &o, &n, &names))
        .collect();
    let focus = opts
        .focus
        .iter()
        .map(|(kind, id)| focus(*kind, id, &o, &n, &names))
        .collect::<Result<Vec<_>>>()?;
    Ok(Diff {
        domain: new.info.domain.clone(),
        old: old.info.clone(),
        new: new.info.clone(),
        kinds,
        moved: moved(&o, &n, &names),
        tactics: tactic_changes(&o, &n, &names),
        platforms: platform_changes(&o, &n, &names),
        focus,
    })
}

/// Japanese names of ATT&CK IDs, from kb/ja.
struct Names<'a>(BTreeMap<&'a str, &'a str>);

impl<'a> Names<'a> {
    fn new(c: &'a Curated) -> Self {
        Names(
            c.translation_map()
                .into_iter()
                .filter_map(|(id, t)| Some((id, t.name.as_deref()?)))
                .collect(),
        )
    }

    fn to_ref(&self, o: &StixObject) -> Ref {
        let id = o.attack_id().unwrap_or_else(|| o.id.clone());
        Ref {
            name_ja: self.0.get(id.as_str()).map(|s| s.to_string()),
            kind: Kind::of_stix(&o.kind).unwrap_or(Kind::Technique),
            name: o.name.clone().unwrap_or_default(),
            id,
            note: None,
        }
    }

    /// An object present in both releases, as the new one has it, under the ID one of them
    /// gives: data components had none before v18, whichever way the releases are compared.
    fn to_ref_pair(&self, old: &StixObject, new: &StixObject) -> Ref {
        let mut r = self.to_ref(new);
        if !new.has_attack_id()
            && let Some(id) = old.attack_id().filter(|_| old.has_attack_id())
        {
            r.name_ja = self.0.get(id.as_str()).map(|s| s.to_string());
            r.id = id;
        }
        r
    }
}

/// One release, indexed for the comparison.
struct Release<'a> {
    /// ATT&CK objects by STIX ID.
    objects: HashMap<&'a str, &'a StixObject>,
    /// Revoked STIX ID → the STIX ID replacing it.
    revoked_by: HashMap<&'a str, &'a str>,
    /// Sub-technique STIX ID → parent STIX ID (live relationships).
    parent: HashMap<&'a str, &'a str>,
    /// Tactic shortname (`persistence`) → tactic.
    tactics: HashMap<&'a str, &'a StixObject>,
    relationships: Vec<&'a StixObject>,
}

impl<'a> Release<'a> {
    fn new(b: &'a Bundle) -> Self {
        let mut r = Release {
            objects: HashMap::new(),
            revoked_by: HashMap::new(),
            parent: HashMap::new(),
            tactics: HashMap::new(),
            relationships: Vec::new(),
        };
        for o in &b.objects {
            if o.kind == "relationship" {
                let (Some(rt), Some(s), Some(t)) = (
                    o.relationship_type.as_deref(),
                    o.source_ref.as_deref(),
                    o.target_ref.as_deref(),
                ) else {
                    continue;
                };
                match rt {
                    "revoked-by" => {
                        r.revoked_by.insert(s, t);
                    }
                    "subtechnique-of" if o.is_live() => {
                        r.parent.insert(s, t);
                    }
                    _ if o.is_live() => r.relationships.push(o),
                    _ => {}
                }
            } else if Kind::of_stix(&o.kind).is_some() {
                r.objects.insert(&o.id, o);
                if let Some(short) = o.x_mitre_shortname.as_deref().filter(|_| o.is_live()) {
                    r.tactics.insert(short, o);
                }
            }
        }
        r
    }

    fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &'a StixObject> + '_ {
        self.objects
            .values()
            .copied()
            .filter(move |o| Kind::of_stix(&o.kind) == Some(kind))
    }

    fn parent_of(&self, o: &StixObject) -> Option<&'a StixObject> {
        self.parent
            .get(o.id.as_str())
            .and_then(|p| self.objects.get(p).copied())
    }

    /// The live object of a kind holding an ATT&CK ID, else any object that held it.
    fn by_attack_id(&self, kind: Kind, id: &str) -> Option<&'a StixObject> {
        let mut found: Vec<&StixObject> = self
            .of_kind(kind)
            .filter(|o| {
                o.attack_id()
                    .is_some_and(|a| a.eq_ignore_ascii_case(id.trim()))
            })
            .collect();
        found.sort_by_key(|o| (!o.is_live(), std::cmp::Reverse(o.modified.clone())));
        found.first().copied()
    }

    fn tactic_refs(&self, o: &StixObject, names: &Names) -> BTreeSet<Ref> {
        o.kill_chain_phases
            .iter()
            .filter_map(|p| self.tactics.get(p.phase_name.as_str()))
            .map(|t| names.to_ref(t))
            .collect()
    }
}

/// (major, minor) of `x_mitre_version`; objects without one count as 0.0, as in `diff_stix`.
fn version(o: &StixObject) -> (u32, u32) {
    let v = o.x_mitre_version.as_deref().unwrap_or("0.0");
    let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
    (major.parse().unwrap_or(0), minor.parse().unwrap_or(0))
}

fn version_text(o: &StixObject) -> String {
    o.x_mitre_version.clone().unwrap_or_else(|| "0.0".into())
}

fn level(old: &StixObject, new: &StixObject) -> Option<Level> {
    let (a, b) = (version(old), version(new));
    if b == (a.0 + 1, 0) {
        Some(Level::Major)
    } else if b == (a.0, a.1 + 1) {
        Some(Level::Minor)
    } else if a != b {
        Some(Level::Other)
    } else if old.modified != new.modified || description_lines_differ(old, new) {
        Some(Level::Patch)
    } else {
        None
    }
}

/// Whether the raw descriptions differ: `diff_stix` calls that a patch even under the same date.
fn description_lines_differ(old: &StixObject, new: &StixObject) -> bool {
    matches!((&old.description, &new.description), (Some(a), Some(b)) if a != b)
}

fn compare_kind(kind: Kind, old: &Release, new: &Release, names: &Names) -> KindDiff {
    let mut d = KindDiff {
        kind,
        counts: Counts::default(),
        added: Vec::new(),
        removed: Vec::new(),
        revoked: Vec::new(),
        deprecated: Vec::new(),
        renamed: Vec::new(),
        changed: Vec::new(),
    };
    for n in new.of_kind(kind) {
        let Some(o) = old.objects.get(n.id.as_str()) else {
            d.added.push(names.to_ref(n));
            continue;
        };
        if n.revoked {
            if !o.revoked {
                let replaced_by = new
                    .revoked_by
                    .get(n.id.as_str())
                    .and_then(|t| new.objects.get(t))
                    .map(|t| names.to_ref(t));
                d.revoked.push(Revoked {
                    item: names.to_ref_pair(o, n),
                    replaced_by,
                });
            }
            continue;
        }
        if n.x_mitre_deprecated {
            if !o.x_mitre_deprecated {
                d.deprecated.push(names.to_ref_pair(o, n));
            }
            continue;
        }
        if o.is_live() && o.name != n.name {
            d.renamed.push(Renamed {
                item: names.to_ref_pair(o, n),
                old_name: o.name.clone().unwrap_or_default(),
            });
        }
        let Some(level) = level(o, n) else {
            continue;
        };
        // Read as a person reads it: citation markers and link targets are no change of text.
        let description = words::diff(
            &crate::text::clean_description(o.description.as_deref().unwrap_or("")),
            &crate::text::clean_description(n.description.as_deref().unwrap_or("")),
        );
        d.changed.push(Changed {
            item: names.to_ref_pair(o, n),
            level,
            old_version: version_text(o),
            new_version: version_text(n),
            description,
        });
    }
    d.removed = old
        .of_kind(kind)
        .filter(|o| !new.objects.contains_key(o.id.as_str()))
        .map(|o| names.to_ref(o))
        .collect();
    let by_id = |a: &Ref| id_order(&a.id);
    d.added.sort_by_key(by_id);
    d.removed.sort_by_key(by_id);
    d.deprecated.sort_by_key(by_id);
    d.revoked.sort_by_key(|r| id_order(&r.item.id));
    d.renamed.sort_by_key(|r| id_order(&r.item.id));
    d.changed.sort_by_key(|c| id_order(&c.item.id));
    let at = |l: Level| d.changed.iter().filter(|c| c.level == l).count();
    d.counts = Counts {
        added: d.added.len(),
        removed: d.removed.len(),
        revoked: d.revoked.len(),
        deprecated: d.deprecated.len(),
        renamed: d.renamed.len(),
        major: at(Level::Major),
        minor: at(Level::Minor),
        other: at(Level::Other),
        patch: at(Level::Patch),
        description: d.changed.iter().filter(|c| c.description.is_some()).count(),
    };
    d
}

/// Live techniques of both releases, old and new side by side.
fn live_pairs<'a>(
    old: &'a Release,
    new: &'a Release,
) -> impl Iterator<Item = (&'a StixObject, &'a StixObject)> {
    new.of_kind(Kind::Technique)
        .filter(|n| n.is_live())
        .filter_map(|n| Some((*old.objects.get(n.id.as_str())?, n)))
        .filter(|(o, _)| o.is_live())
}

fn moved(old: &Release, new: &Release, names: &Names) -> Vec<Moved> {
    // (before, now, by revocation): one object in both, or a revoked one and its replacement.
    let same = live_pairs(old, new).map(|(o, n)| (o, n, false));
    let replaced = new
        .of_kind(Kind::Technique)
        .filter(|n| n.revoked)
        .filter_map(|n| {
            let o = old.objects.get(n.id.as_str()).filter(|o| o.is_live())?;
            let to = new
                .revoked_by
                .get(n.id.as_str())
                .and_then(|t| new.objects.get(t))?;
            Some((*o, *to, true))
        });
    let mut out: Vec<Moved> = same
        .chain(replaced)
        .filter(|(o, n, _)| o.x_mitre_is_subtechnique && n.x_mitre_is_subtechnique)
        .filter_map(|(o, n, by_revocation)| {
            let (op, np) = (old.parent_of(o), new.parent_of(n));
            (op.map(|p| &p.id) != np.map(|p| &p.id)).then(|| Moved {
                item: names.to_ref(n),
                old_id: o.attack_id().unwrap_or_default(),
                old_parent: op.map(|p| names.to_ref(p)),
                new_parent: np.map(|p| names.to_ref(p)),
                by_revocation,
            })
        })
        .collect();
    out.sort_by_key(|m| id_order(&m.item.id));
    out
}

fn set_change<T: Ord + Clone>(
    item: Ref,
    old: &BTreeSet<T>,
    new: &BTreeSet<T>,
) -> Option<SetChange<T>> {
    (old != new).then(|| SetChange {
        item,
        added: new.difference(old).cloned().collect(),
        removed: old.difference(new).cloned().collect(),
    })
}

fn tactic_changes(old: &Release, new: &Release, names: &Names) -> Vec<SetChange<Ref>> {
    let mut out: Vec<SetChange<Ref>> = live_pairs(old, new)
        .filter_map(|(o, n)| {
            set_change(
                names.to_ref(n),
                &old.tactic_refs(o, names),
                &new.tactic_refs(n, names),
            )
        })
        .collect();
    out.sort_by_key(|c| id_order(&c.item.id));
    out
}

fn platform_changes(old: &Release, new: &Release, names: &Names) -> Vec<SetChange<String>> {
    let set = |o: &StixObject| o.x_mitre_platforms.iter().cloned().collect::<BTreeSet<_>>();
    let mut out: Vec<SetChange<String>> = live_pairs(old, new)
        .filter_map(|(o, n)| set_change(names.to_ref(n), &set(o), &set(n)))
        .collect();
    out.sort_by_key(|c| id_order(&c.item.id));
    out
}

/// The relationships of one object (by ATT&CK ID) in each release, and which came or went.
/// Matched by the other object's ATT&CK ID, so that a relationship re-issued under a new
/// STIX ID is no change.
fn focus(kind: Kind, id: &str, old: &Release, new: &Release, names: &Names) -> Result<Focus> {
    let (o, n) = (old.by_attack_id(kind, id), new.by_attack_id(kind, id));
    let Some(shown) = n.or(o) else {
        return Err(Error::NotFound(msg!(
            "diff.focus_missing",
            kind = kind,
            kind_ja = kind.label_ja(),
            id = id
        )));
    };
    let links = |r: &Release, me: Option<&StixObject>| -> BTreeSet<Link> {
        let Some(me) = me else {
            return BTreeSet::new();
        };
        r.relationships
            .iter()
            .filter_map(|rel| {
                let rt = rel.relationship_type.as_deref()?;
                let (s, t) = (rel.source_ref.as_deref()?, rel.target_ref.as_deref()?);
                let (other, reverse) = if s == me.id {
                    (t, false)
                } else if t == me.id {
                    (s, true)
                } else {
                    return None;
                };
                let other = r.objects.get(other)?;
                Some(Link {
                    relationship: rt.to_string(),
                    reverse,
                    target: names.to_ref(other),
                })
            })
            .collect()
    };
    let (before, after) = (links(old, o), links(new, n));
    // Equal when the relationship and the other ID are: a renamed target is no new link.
    let key = |l: &Link| (l.relationship.clone(), l.reverse, l.target.id.clone());
    let before_keys: BTreeSet<_> = before.iter().map(key).collect();
    let after_keys: BTreeSet<_> = after.iter().map(key).collect();
    let mut added: Vec<Link> = after
        .into_iter()
        .filter(|l| !before_keys.contains(&key(l)))
        .collect();
    let mut dropped: Vec<Link> = before
        .into_iter()
        .filter(|l| !after_keys.contains(&key(l)))
        .collect();
    let order = |l: &Link| (l.relationship.clone(), l.reverse, id_order(&l.target.id));
    added.sort_by_key(order);
    dropped.sort_by_key(order);
    Ok(Focus {
        item: names.to_ref(shown),
        added,
        dropped,
    })
}
