//! The knowledge base in memory: ATT&CK objects and our curated entries as one list of
//! [`Entity`] values, with every relationship resolved both ways. Built from [`crate::source`]
//! output by [`build`]; written to disk by [`crate::index`]. Nothing here touches files.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::source::curated::{Alert, Binary, Curated, Event, Origin, QueryWords};
use crate::source::grammar::ExplainData;
use crate::source::stix::{Bundle, LogSource, MutableElement, RawObjects, SourceInfo, StixObject};

pub mod lint;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Tactic,
    Technique,
    Binary,
    Alert,
    Event,
    Group,
    Software,
    Campaign,
    Mitigation,
    DetectionStrategy,
    Analytic,
    DataSource,
    DataComponent,
    Asset,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::Tactic,
        Kind::Technique,
        Kind::Binary,
        Kind::Alert,
        Kind::Event,
        Kind::Group,
        Kind::Software,
        Kind::Campaign,
        Kind::Mitigation,
        Kind::DetectionStrategy,
        Kind::Analytic,
        Kind::DataSource,
        Kind::DataComponent,
        Kind::Asset,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Tactic => "tactic",
            Kind::Technique => "technique",
            Kind::Binary => "binary",
            Kind::Alert => "alert",
            Kind::Event => "event",
            Kind::Group => "group",
            Kind::Software => "software",
            Kind::Campaign => "campaign",
            Kind::Mitigation => "mitigation",
            Kind::DetectionStrategy => "detection-strategy",
            Kind::Analytic => "analytic",
            Kind::DataSource => "data-source",
            Kind::DataComponent => "data-component",
            Kind::Asset => "asset",
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            Kind::Tactic => "戦術",
            Kind::Technique => "テクニック",
            Kind::Binary => "プログラム",
            Kind::Alert => "アラート",
            Kind::Event => "イベント",
            Kind::Group => "攻撃グループ",
            Kind::Software => "ソフトウェア",
            Kind::Campaign => "キャンペーン",
            Kind::Mitigation => "緩和策",
            Kind::DetectionStrategy => "検知戦略",
            Kind::Analytic => "分析ルール",
            Kind::DataSource => "データソース",
            Kind::DataComponent => "データコンポーネント",
            Kind::Asset => "資産",
        }
    }

    /// Accepts the kind names and a few words users type for them (tool, malware, lolbin, ...).
    pub fn parse(s: &str) -> Option<Kind> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .or(match s.as_str() {
                "techniques" | "sub-technique" | "subtechnique" => Some(Kind::Technique),
                "tactics" => Some(Kind::Tactic),
                "tool" | "malware" => Some(Kind::Software),
                "lolbin" | "program" | "process" | "binaries" => Some(Kind::Binary),
                "groups" | "intrusion-set" | "actor" => Some(Kind::Group),
                "detection" | "det" => Some(Kind::DetectionStrategy),
                "events" | "event-id" | "eventid" | "log" => Some(Kind::Event),
                _ => None,
            })
    }

    /// The kind of a STIX type (`attack-pattern` is a technique), if kb knows it.
    pub fn of_stix(t: &str) -> Option<Kind> {
        Some(match t {
            "x-mitre-tactic" => Kind::Tactic,
            "attack-pattern" => Kind::Technique,
            "intrusion-set" => Kind::Group,
            "malware" | "tool" => Kind::Software,
            "campaign" => Kind::Campaign,
            "course-of-action" => Kind::Mitigation,
            "x-mitre-detection-strategy" => Kind::DetectionStrategy,
            "x-mitre-analytic" => Kind::Analytic,
            "x-mitre-data-source" => Kind::DataSource,
            "x-mitre-data-component" => Kind::DataComponent,
            "x-mitre-asset" => Kind::Asset,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pointer to another entity, carrying what a listing needs to print it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ref {
    pub id: String,
    pub kind: Kind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_ja: Option<String>,
    /// The text of the ATT&CK relationship behind the link, citation markers removed: a group's,
    /// software's or campaign's procedure for a technique (attack.mitre.org's "Procedure
    /// Examples"), or how a mitigation applies. MITRE's English, never translated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How a listed entity relates to the one that lists it. The meaning depends on the owner's kind:
/// a group's `Techniques` are the techniques it uses, a mitigation's are those it mitigates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rel {
    Parent,
    Subtechniques,
    Techniques,
    Mitigations,
    DetectionStrategies,
    Analytics,
    DataComponents,
    DataSource,
    Binaries,
    Alerts,
    Events,
    Groups,
    Software,
    Campaigns,
    Assets,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entity {
    pub id: String,
    pub kind: Kind,
    pub name: String,
    /// The STIX ID of the ATT&CK object (none for curated entries): what STIX content about it
    /// (the Japanese language-content objects) points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stix_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_ja: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases_ja: Vec<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_ja: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords_en: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords_ja: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<Ref>,
    /// malware/tool for software, the catalogue kind (`builtin`, `system-process`, ...) for
    /// binaries, the product for alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subkind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Detection prose of ATT&CK releases before v18 (x_mitre_detection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection: Option<String>,
    /// Position of a tactic in its matrix; 0 for other kinds.
    #[serde(default)]
    pub order: u32,
    /// A tactic's short name (`persistence`, `command-and-control`): how kill chain phases and
    /// Navigator layers name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortname: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub relations: BTreeMap<Rel, Vec<Ref>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<Binary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<Alert>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
    /// Analytics: the logs they read and what a defender tunes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_sources: Vec<LogSource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutable_elements: Vec<MutableElement>,
}

impl Entity {
    pub fn to_ref(&self) -> Ref {
        Ref {
            id: self.id.clone(),
            kind: self.kind,
            name: self.name.clone(),
            name_ja: self.name_ja.clone(),
            note: None,
        }
    }

    pub fn related(&self, rel: Rel) -> &[Ref] {
        self.relations.get(&rel).map_or(&[], Vec::as_slice)
    }

    fn new(id: &str, kind: Kind, name: &str) -> Entity {
        Entity {
            id: id.to_string(),
            kind,
            name: name.to_string(),
            stix_id: None,
            name_ja: None,
            aliases: Vec::new(),
            aliases_ja: Vec::new(),
            description: String::new(),
            summary_ja: None,
            keywords_en: Vec::new(),
            keywords_ja: Vec::new(),
            domains: Vec::new(),
            platforms: Vec::new(),
            tactics: Vec::new(),
            subkind: None,
            url: None,
            version: None,
            modified: None,
            detection: None,
            order: 0,
            shortname: None,
            relations: BTreeMap::new(),
            binary: None,
            alert: None,
            event: None,
            log_sources: Vec::new(),
            mutable_elements: Vec::new(),
        }
    }
}

/// A revoked ATT&CK object: not a search result, but an ID lookup answers with its replacement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Redirect {
    pub id: String,
    pub kind: Kind,
    pub name: String,
    pub replaced_by: Ref,
}

/// A deprecated ATT&CK object: gone from ATT&CK with nothing replacing it. An ID lookup says so,
/// and since when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deprecated {
    pub id: String,
    pub kind: Kind,
    pub name: String,
    /// The date of the record that marks it deprecated (STIX has no deprecation date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

#[derive(Debug, Default)]
pub struct Kb {
    pub entities: Vec<Entity>,
    pub redirects: Vec<Redirect>,
    pub deprecated: Vec<Deprecated>,
    pub sources: Vec<SourceInfo>,
    pub warnings: Vec<String>,
    /// Which kb/ files went in ([`Curated::fingerprint`]).
    pub curated: String,
    /// What `kb explain` reads besides the catalogue entries.
    pub explain: ExplainData,
    /// The objects of each bundle indexed, as written, for the STIX store.
    pub raw: Vec<RawBundle>,
    /// The countries groups come from, with the words that name them.
    pub origins: Vec<Origin>,
    /// The words a query may wrap a concept in (不審な…, …の悪用).
    pub query_words: QueryWords,
}

/// One indexed bundle's objects as written.
#[derive(Debug)]
pub struct RawBundle {
    /// enterprise-attack, mobile-attack or ics-attack.
    pub domain: String,
    /// The ID of the bundle's x-mitre-collection object, when it has one (STIX 2.1 bundles).
    pub collection: Option<String>,
    pub objects: RawObjects,
}

impl Kb {
    pub fn counts(&self) -> BTreeMap<Kind, usize> {
        let mut m = BTreeMap::new();
        for e in &self.entities {
            *m.entry(e.kind).or_default() += 1;
        }
        m
    }

    pub fn get(&self, id: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.id.eq_ignore_ascii_case(id))
    }

    /// The countries a group comes from: those one of whose marks is among its keywords.
    pub fn origins_of(&self, e: &Entity) -> Vec<&Origin> {
        if e.kind != Kind::Group {
            return Vec::new();
        }
        let has = |m: &String| {
            e.keywords_en
                .iter()
                .chain(&e.keywords_ja)
                .any(|k| k.eq_ignore_ascii_case(m))
        };
        self.origins
            .iter()
            .filter(|o| o.marks.iter().any(has))
            .collect()
    }
}

struct Merged {
    obj: StixObject,
    domains: BTreeSet<String>,
}

/// Links bundles and curated files into one knowledge base. Objects present in several bundles
/// (the same group in Enterprise and ICS, or two releases of one domain) are merged by STIX ID;
/// the most recently modified copy wins.
pub fn build(bundles: Vec<Bundle>, curated: &Curated) -> Kb {
    let mut kb = Kb {
        curated: curated.fingerprint.clone(),
        explain: curated.explain_data(),
        origins: curated.origins.iter().map(|(_, o)| o.clone()).collect(),
        query_words: curated.query_words.clone(),
        ..Kb::default()
    };
    let (bundles, skipped) = newest_per_domain(bundles);
    kb.warnings.extend(skipped);
    let mut objects: HashMap<String, Merged> = HashMap::new();
    let mut relationships = Vec::new();
    let mut matrices = Vec::new();
    for b in bundles {
        kb.warnings.extend(b.warnings);
        let domain = b.info.domain.clone();
        kb.sources.push(b.info);
        kb.raw.push(RawBundle {
            domain: domain.clone(),
            collection: b
                .objects
                .iter()
                .find(|o| o.kind == "x-mitre-collection")
                .map(|o| o.id.clone()),
            objects: b.raw,
        });
        for o in b.objects {
            match o.kind.as_str() {
                "relationship" => relationships.push(o),
                "x-mitre-matrix" => matrices.push(o),
                _ if Kind::of_stix(&o.kind).is_some() => {
                    let domains: BTreeSet<String> = if o.x_mitre_domains.is_empty() {
                        [domain.clone()].into()
                    } else {
                        o.x_mitre_domains.iter().cloned().collect()
                    };
                    match objects.get_mut(&o.id) {
                        Some(m) => {
                            m.domains.extend(domains);
                            if o.modified > m.obj.modified {
                                m.obj = o;
                            }
                        }
                        None => {
                            objects.insert(o.id.clone(), Merged { obj: o, domains });
                        }
                    }
                }
                _ => {}
            }
        }
    }

    // Tactic order in each matrix, and (kill chain, shortname) -> tactic for technique phases.
    let mut tactic_order: HashMap<&str, u32> = HashMap::new();
    for m in &matrices {
        for (i, t) in m.tactic_refs.iter().enumerate() {
            tactic_order.entry(t.as_str()).or_insert(i as u32 + 1);
        }
    }

    let mut entities: Vec<Entity> = Vec::new();
    let mut by_stix: HashMap<String, usize> = HashMap::new();
    let mut stix_of_revoked: HashMap<String, (String, Kind, String)> = HashMap::new();
    let mut sorted: Vec<&Merged> = objects.values().collect();
    sorted.sort_by(|a, b| a.obj.id.cmp(&b.obj.id));
    let holder = id_holders(&sorted, &mut kb.warnings);
    for m in sorted {
        let o = &m.obj;
        let (Some(kind), Some(id), Some(name)) =
            (Kind::of_stix(&o.kind), o.attack_id(), o.name.as_deref())
        else {
            continue;
        };
        if o.revoked {
            stix_of_revoked.insert(o.id.clone(), (id, kind, name.to_string()));
            continue;
        }
        if o.x_mitre_deprecated {
            kb.deprecated.push(Deprecated {
                id,
                kind,
                name: name.to_string(),
                since: o.modified.as_deref().map(|d| d.chars().take(10).collect()),
            });
            continue;
        }
        if holder.get(&(kind, id.to_ascii_uppercase())) != Some(&o.id.as_str()) {
            continue;
        }
        // Analytics are all called "Analytic 1234"; the platform tells them apart in a list.
        let name = match (kind, o.x_mitre_platforms.is_empty()) {
            (Kind::Analytic, false) => format!("{name} ({})", o.x_mitre_platforms.join(", ")),
            _ => name.to_string(),
        };
        let mut e = Entity::new(&id, kind, &name);
        e.stix_id = Some(o.id.clone());
        e.description = crate::text::clean_description(o.description.as_deref().unwrap_or(""));
        e.aliases = o
            .aliases
            .iter()
            .chain(&o.x_mitre_aliases)
            .filter(|a| **a != name)
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        e.domains = m.domains.iter().cloned().collect();
        e.platforms = o.x_mitre_platforms.clone();
        e.url = o.url().map(str::to_owned);
        e.version = o.x_mitre_version.clone();
        e.modified = o.modified.clone();
        e.detection = o
            .x_mitre_detection
            .as_deref()
            .map(crate::text::clean_description)
            .filter(|d| !d.is_empty());
        e.order = tactic_order.get(o.id.as_str()).copied().unwrap_or(0);
        e.shortname = o.x_mitre_shortname.clone();
        if kind == Kind::Software {
            e.subkind = Some(o.kind.clone());
        }
        e.log_sources = o.x_mitre_log_source_references.clone();
        e.mutable_elements = o.x_mitre_mutable_elements.clone();
        by_stix.insert(o.id.clone(), entities.len());
        entities.push(e);
    }

    // Technique -> tactics through kill chain phases.
    let mut tactic_by_phase: HashMap<(String, String), Ref> = HashMap::new();
    for m in objects.values() {
        if let (Some(&i), Some(short)) = (by_stix.get(&m.obj.id), &m.obj.x_mitre_shortname) {
            for d in &m.domains {
                tactic_by_phase.insert((kill_chain_of(d), short.clone()), entities[i].to_ref());
            }
        }
    }
    for m in objects.values() {
        let Some(&i) = by_stix.get(&m.obj.id) else {
            continue;
        };
        let mut tactics: Vec<Ref> = m
            .obj
            .kill_chain_phases
            .iter()
            .filter_map(|p| tactic_by_phase.get(&(p.kill_chain_name.clone(), p.phase_name.clone())))
            .cloned()
            .collect();
        tactics.dedup();
        entities[i].tactics = tactics;
    }
    let mut links: Vec<(usize, Rel, usize)> = Vec::new();
    // The text of a relationship, by (source, target) in both directions: each end lists it.
    let mut notes: HashMap<(usize, usize), String> = HashMap::new();
    let tactic_index: HashMap<String, usize> = entities
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == Kind::Tactic)
        .map(|(i, e)| (e.id.clone(), i))
        .collect();
    for (i, e) in entities.iter().enumerate() {
        for t in &e.tactics {
            if let Some(&ti) = tactic_index.get(&t.id) {
                links.push((ti, Rel::Techniques, i));
            }
        }
    }

    for r in &relationships {
        let (Some(src), Some(tgt), Some(rt)) = (&r.source_ref, &r.target_ref, &r.relationship_type)
        else {
            continue;
        };
        if rt == "revoked-by" {
            if let (Some((id, kind, name)), Some(&t)) = (stix_of_revoked.get(src), by_stix.get(tgt))
            {
                kb.redirects.push(Redirect {
                    id: id.clone(),
                    kind: *kind,
                    name: name.clone(),
                    replaced_by: entities[t].to_ref(),
                });
            }
            continue;
        }
        if !r.is_live() {
            continue;
        }
        let (Some(&s), Some(&t)) = (by_stix.get(src), by_stix.get(tgt)) else {
            continue;
        };
        let (sk, tk) = (entities[s].kind, entities[t].kind);
        match (rt.as_str(), sk, tk) {
            ("subtechnique-of", _, _) => {
                links.push((s, Rel::Parent, t));
                links.push((t, Rel::Subtechniques, s));
            }
            ("uses" | "mitigates" | "detects" | "targets" | "attributed-to", _, _) => {
                links.push((s, rel_for(tk), t));
                links.push((t, rel_for(sk), s));
                let note = crate::text::clean_description(r.description.as_deref().unwrap_or(""));
                if !note.is_empty() {
                    notes.insert((s, t), note.clone());
                    notes.insert((t, s), note);
                }
            }
            _ => {}
        }
    }
    // Detection strategies list their analytics by reference; data components their source.
    for m in objects.values() {
        let Some(&s) = by_stix.get(&m.obj.id) else {
            continue;
        };
        for a in &m.obj.x_mitre_analytic_refs {
            if let Some(&t) = by_stix.get(a) {
                links.push((s, Rel::Analytics, t));
                links.push((t, Rel::DetectionStrategies, s));
            }
        }
        if let Some(&t) = m
            .obj
            .x_mitre_data_source_ref
            .as_ref()
            .and_then(|d| by_stix.get(d))
        {
            links.push((s, Rel::DataSource, t));
            links.push((t, Rel::DataComponents, s));
        }
    }
    // A technique shows the analytics of its detection strategies directly.
    let mut analytics_of: HashMap<usize, Vec<usize>> = HashMap::new();
    for &(s, r, t) in &links {
        if r == Rel::Analytics && entities[s].kind == Kind::DetectionStrategy {
            analytics_of.entry(s).or_default().push(t);
        }
    }
    let derived: Vec<(usize, Rel, usize)> = links
        .iter()
        .filter(|(s, r, _)| *r == Rel::DetectionStrategies && entities[*s].kind == Kind::Technique)
        .flat_map(|&(tech, _, det)| {
            let analytics = analytics_of.get(&det).map_or(&[][..], Vec::as_slice);
            analytics.iter().map(move |&a| (tech, Rel::Analytics, a))
        })
        .collect();
    links.extend(derived);

    add_curated(&mut entities, &mut links, curated);
    name_analytics(&mut entities, &links);

    for (s, rel, t) in links {
        let mut r = entities[t].to_ref();
        r.note = notes.get(&(s, t)).cloned();
        entities[s].relations.entry(rel).or_default().push(r);
    }
    for e in &mut entities {
        for list in e.relations.values_mut() {
            // Of two links to one entity, the one with a text is kept.
            list.sort_by_key(|r| (id_order(&r.id), r.note.is_none()));
            list.dedup_by(|a, b| a.id == b.id);
        }
    }
    entities.sort_by_key(|e| (e.kind, id_order(&e.id)));
    kb.redirects.sort_by_key(|r| id_order(&r.id));
    kb.redirects.dedup_by(|a, b| a.id == b.id);
    kb.deprecated.sort_by_key(|d| id_order(&d.id));
    kb.deprecated.dedup_by(|a, b| a.id == b.id);
    kb.entities = entities;
    kb
}

/// ATT&CK calls every analytic "Analytic 1234": each takes its detection strategy's name (in
/// both languages) and its platform, and keeps the number as an alias.
fn name_analytics(entities: &mut [Entity], links: &[(usize, Rel, usize)]) {
    let mut named = BTreeSet::new();
    for &(s, r, t) in links {
        if r != Rel::Analytics
            || entities[s].kind != Kind::DetectionStrategy
            || entities[t].kind != Kind::Analytic
            || !named.insert(t)
        {
            continue;
        }
        let platform = entities[t].platforms.join(", ");
        let (name, name_ja) = (entities[s].name.clone(), entities[s].name_ja.clone());
        let a = &mut entities[t];
        let number = std::mem::take(&mut a.name);
        a.aliases.push(number);
        let suffix = if platform.is_empty() {
            String::new()
        } else {
            format!(" ({platform})")
        };
        a.name = format!("{name}{suffix}");
        a.name_ja = name_ja.map(|j| format!("{j}{suffix}"));
    }
}

/// Which live object holds each ATT&CK ID (by kind: Mobile and Enterprise mitigations may
/// share numbers). Two objects with one ID are a broken bundle: reported, and the most recently
/// modified one is kept.
fn id_holders<'a>(
    objects: &[&'a Merged],
    warnings: &mut Vec<String>,
) -> HashMap<(Kind, String), &'a str> {
    let mut holder: HashMap<(Kind, String), &StixObject> = HashMap::new();
    for m in objects.iter().filter(|m| m.obj.is_live()) {
        let o = &m.obj;
        let (Some(kind), Some(id)) = (Kind::of_stix(&o.kind), o.attack_id()) else {
            continue;
        };
        let key = (kind, id.to_ascii_uppercase());
        match holder.get(&key) {
            Some(prev) => {
                let (kept, dropped) = if o.modified > prev.modified {
                    (o, *prev)
                } else {
                    (*prev, o)
                };
                warnings.push(format!(
                    "duplicate ATT&CK ID {id}: held by {} and {}; {} (the most recently \
                     modified) is indexed",
                    dropped.id, kept.id, kept.id
                ));
                holder.insert(key, kept);
            }
            None => {
                holder.insert(key, o);
            }
        }
    }
    holder
        .into_iter()
        .map(|(k, o)| (k, o.id.as_str()))
        .collect()
}

/// Two releases of one domain (enterprise 17.1 and 18.1 in one folder) are not merged: objects
/// that the newer release dropped would come back from the older one. The newest release wins:
/// the one whose content changed last (a file name says nothing when `kb fetch` wrote it without
/// a version), then the higher version.
fn newest_per_domain(bundles: Vec<Bundle>) -> (Vec<Bundle>, Vec<String>) {
    let version_key = |b: &Bundle| -> (Option<String>, Vec<u32>) {
        let version = b
            .info
            .version
            .split('.')
            .map(|p| p.parse().unwrap_or(0))
            .collect();
        (b.info.newest.clone(), version)
    };
    let mut kept: Vec<Bundle> = Vec::new();
    let mut skipped = Vec::new();
    for b in bundles {
        match kept.iter().position(|k| k.info.domain == b.info.domain) {
            Some(i) => {
                let (older, newer) = if version_key(&b) > version_key(&kept[i]) {
                    (std::mem::replace(&mut kept[i], b), &kept[i])
                } else {
                    (b, &kept[i])
                };
                skipped.push(format!(
                    "{}: {} {} is older than {} in {}; not indexed",
                    older.info.path,
                    older.info.domain,
                    older.info.version,
                    newer.info.version,
                    newer.info.path
                ));
            }
            None => kept.push(b),
        }
    }
    (kept, skipped)
}

fn rel_for(kind: Kind) -> Rel {
    match kind {
        Kind::Technique => Rel::Techniques,
        Kind::Group => Rel::Groups,
        Kind::Software => Rel::Software,
        Kind::Campaign => Rel::Campaigns,
        Kind::Mitigation => Rel::Mitigations,
        Kind::DetectionStrategy => Rel::DetectionStrategies,
        Kind::DataComponent => Rel::DataComponents,
        Kind::Asset => Rel::Assets,
        Kind::Analytic => Rel::Analytics,
        Kind::DataSource => Rel::DataSource,
        Kind::Binary => Rel::Binaries,
        Kind::Alert => Rel::Alerts,
        Kind::Event => Rel::Events,
        Kind::Tactic => Rel::Techniques,
    }
}

fn kill_chain_of(domain: &str) -> String {
    match domain {
        "mobile-attack" => "mitre-mobile-attack".into(),
        "ics-attack" => "mitre-ics-attack".into(),
        _ => "mitre-attack".into(),
    }
}

/// Sort key that orders T1053 before T1053.005 before T1055 and S0002 before S0111.
pub fn id_order(id: &str) -> (String, u32, u32) {
    let (head, sub) = id.split_once('.').unwrap_or((id, ""));
    let prefix: String = head
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let num = head[prefix.len()..].parse().unwrap_or(u32::MAX);
    let sub = if sub.is_empty() {
        0
    } else {
        sub.parse().unwrap_or(u32::MAX)
    };
    if num == u32::MAX {
        (id.to_ascii_lowercase(), 0, 0)
    } else {
        (prefix.to_ascii_uppercase(), num, sub)
    }
}

/// Applies translations to ATT&CK entities and adds catalogue binaries and alerts as entities.
fn add_curated(entities: &mut Vec<Entity>, links: &mut Vec<(usize, Rel, usize)>, c: &Curated) {
    let tr = c.translation_map();
    for e in entities.iter_mut() {
        if let Some(t) = tr.get(e.id.as_str()) {
            e.name_ja = t.name.clone();
            e.aliases_ja = t.aliases.clone();
            e.aliases.extend(t.aliases_en.iter().cloned());
            e.summary_ja = t.summary.clone();
            e.keywords_ja = t.keywords.clone();
            e.keywords_en = t.keywords_en.clone();
        }
    }
    // Tactic names in Japanese reach the technique lists now that translations are applied.
    let tactic_ja: HashMap<String, Option<String>> = entities
        .iter()
        .filter(|e| e.kind == Kind::Tactic)
        .map(|e| (e.id.clone(), e.name_ja.clone()))
        .collect();
    for e in entities.iter_mut() {
        for t in &mut e.tactics {
            t.name_ja = tactic_ja.get(&t.id).cloned().flatten();
        }
    }
    let index: HashMap<String, usize> = entities
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.clone(), i))
        .collect();
    let tactics_of = |entities: &[Entity], ids: &[&str]| -> Vec<Ref> {
        let mut out: Vec<Ref> = Vec::new();
        for id in ids {
            if let Some(&i) = index.get(*id) {
                for t in &entities[i].tactics {
                    if !out.iter().any(|o| o.id == t.id) {
                        out.push(t.clone());
                    }
                }
            }
        }
        out.sort_by_key(|t| index.get(&t.id).map_or(0, |&i| entities[i].order));
        out
    };
    for (_, b) in &c.binaries {
        let mut e = Entity::new(&b.id, Kind::Binary, &b.id);
        e.name_ja = Some(b.name_ja.clone());
        e.aliases = b.aliases.clone();
        e.description = format!("{}\n\n{}\n\n{}", b.summary_en, b.legit_en, b.abuse_en);
        e.summary_ja = Some(format!(
            "{}\n\n{}\n\n{}",
            b.summary_ja, b.legit_ja, b.abuse_ja
        ));
        e.keywords_en = b.keywords_en.clone();
        e.keywords_ja = b.keywords_ja.clone();
        e.domains = vec!["enterprise-attack".into()];
        e.platforms = vec!["Windows".into()];
        e.subkind = Some(b.kind.slug().to_string());
        let ids: Vec<&str> = b.techniques.iter().map(|t| t.id.as_str()).collect();
        e.tactics = tactics_of(entities, &ids);
        e.binary = Some(b.clone());
        let me = entities.len();
        entities.push(e);
        for id in ids
            .iter()
            .copied()
            .chain(b.attack_software.iter().map(String::as_str))
        {
            if let Some(&t) = index.get(id) {
                links.push((me, rel_for(entities[t].kind), t));
                links.push((t, Rel::Binaries, me));
            }
            // "LOLBins for T1218" includes those of its sub-techniques.
            if let Some(&p) = id.split_once('.').and_then(|(parent, _)| index.get(parent)) {
                links.push((p, Rel::Binaries, me));
            }
        }
    }
    let binary_index: HashMap<String, usize> = entities
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == Kind::Binary)
        .map(|(i, e)| (e.id.clone(), i))
        .collect();
    for (_, a) in &c.alerts {
        let mut e = Entity::new(&a.id, Kind::Alert, &a.title_en);
        e.name_ja = Some(a.title_ja.clone());
        e.description = a.en.clone();
        e.summary_ja = Some(a.ja.clone());
        e.domains = vec!["enterprise-attack".into()];
        e.subkind = Some("Microsoft Defender for Endpoint".into());
        let ids: Vec<&str> = a.techniques.iter().map(String::as_str).collect();
        e.tactics = tactics_of(entities, &ids);
        e.alert = Some(a.clone());
        let me = entities.len();
        entities.push(e);
        for id in &ids {
            if let Some(&t) = index.get(*id) {
                links.push((me, Rel::Techniques, t));
                links.push((t, Rel::Alerts, me));
            }
        }
        for b in &a.binaries {
            let Some(bin) = c.binary_by_name(b) else {
                continue;
            };
            if let Some(&t) = binary_index.get(bin.id.as_str()) {
                links.push((me, Rel::Binaries, t));
                links.push((t, Rel::Alerts, me));
            }
            // The ATT&CK entry of the same tool (S0002 Mimikatz) lists the alert too.
            for s in &bin.attack_software {
                if let Some(&t) = index.get(s.as_str()) {
                    links.push((t, Rel::Alerts, me));
                }
            }
        }
    }
    for (_, v) in &c.events {
        let n = v.event_id;
        let mut e = Entity::new(&v.id, Kind::Event, &format!("{n} {}", v.name_en));
        e.name_ja = Some(format!("{n} {}", v.name_ja));
        // What analysts type: the number alone, with "event (id)", with the log's name.
        let src = &v.source;
        e.aliases = [
            format!("{n}"),
            format!("event {n}"),
            format!("event id {n}"),
            format!("eventid {n}"),
            format!("event-id {n}"),
            format!("{src} {n}"),
            format!("{src} event {n}"),
            format!("{src} event id {n}"),
            format!("{src} eventid {n}"),
            v.name_en.clone(),
        ]
        .into_iter()
        .chain(v.aliases.iter().cloned())
        .collect();
        e.aliases_ja = vec![
            v.name_ja.clone(),
            format!("イベント {n}"),
            format!("イベントID {n}"),
        ];
        e.description = format!("{}\n\n{}: {}", v.en, v.channel, v.fields.join(", "));
        e.summary_ja = Some(v.ja.clone());
        e.keywords_en = v.keywords_en.clone();
        e.keywords_ja = v.keywords_ja.clone();
        e.domains = vec!["enterprise-attack".into()];
        e.platforms = vec!["Windows".into()];
        e.subkind = Some(v.channel.clone());
        let ids: Vec<&str> = v.techniques.iter().map(String::as_str).collect();
        e.tactics = tactics_of(entities, &ids);
        e.event = Some(v.clone());
        let me = entities.len();
        entities.push(e);
        for id in &ids {
            if let Some(&t) = index.get(*id) {
                links.push((me, Rel::Techniques, t));
                links.push((t, Rel::Events, me));
            }
        }
    }
}
