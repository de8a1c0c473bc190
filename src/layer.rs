//! ATT&CK Navigator layers (layer format 4.5) from a selection of techniques: a group's, a
//! software's, a tactic's, a search's, those `kb explain` finds in command lines, or a list of
//! IDs. Owns which techniques a selection means, their scores and the reasons kept in the
//! comments, and the layer's texts in Japanese and English. Reading the selection from
//! arguments or a request, and writing the layer out, are the frontends'.
//!
//! A layer shows one domain: the one asked for, else the one most selected techniques belong
//! to; its ATT&CK version is the index's for that domain. A selected sub-technique's parent is
//! listed too, expanded (`showSubtechniques`), as Navigator needs to show the sub-technique.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::explain::{self, Lang};
use crate::index::{KbIndex, StoredHit};
use crate::message::Message;
use crate::model::{Entity, Kind, Ref, Rel};
use crate::query::{self, SearchRequest};
use crate::source::stix;
use crate::text::truncate;
use crate::{Error, Result, msg};

/// The layer format written, and the Navigator release that reads it.
const LAYER_FORMAT: &str = "4.5";
const NAVIGATOR: &str = "5.1.0";
/// Pale orange for the lowest score to red for the highest: more is worse. Two colours: the
/// reference reader (mitreattack-python) cannot spread three over a range of 1.
const GRADIENT: [&str; 2] = ["#ffe5ccff", "#e60d0dff"];
/// Results a search selects unless told otherwise.
pub const SEARCH_LIMIT: usize = 20;
/// Command lines quoted in one technique's comment; the rest are counted.
const QUOTED_LINES: usize = 5;
/// Characters of a command line quoted in a comment.
const QUOTED_CHARS: usize = 160;

/// Which techniques go in the layer.
#[derive(Debug, Clone)]
pub enum Selection {
    /// A group by ID, name or alias: the techniques it uses, directly or in the campaigns
    /// attributed to it.
    Group(String),
    /// A software by ID, name or alias: the techniques it uses.
    Software(String),
    /// A tactic by ID or name in any language: its techniques, scored by how many groups use
    /// each.
    Tactic(String),
    /// The techniques a search finds, best first.
    Search(String),
    /// The techniques `kb explain` finds in these command lines.
    Commands(Vec<String>),
    /// Technique IDs (a revoked one stands for its replacement).
    Ids(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct LayerRequest {
    pub selection: Selection,
    /// enterprise, mobile or ics (with or without `-attack`); none: the selection's own.
    pub domain: Option<String>,
    pub lang: Lang,
    /// Techniques a search selects at most.
    pub limit: usize,
}

/// A layer and what the user should know about it (techniques of other domains left out, a
/// revoked ID replaced); the notes are also in the layer's metadata, in the layer's language.
#[derive(Debug, Clone)]
pub struct Built {
    pub layer: Layer,
    pub notes: Vec<Message>,
}

/// The layer file: Navigator's layer format 4.5, field for field.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    pub name: String,
    pub versions: Versions,
    pub domain: String,
    pub description: String,
    pub sorting: u8,
    pub layout: Layout,
    pub hide_disabled: bool,
    pub techniques: Vec<LayerTechnique>,
    pub gradient: Gradient,
    pub legend_items: Vec<LegendItem>,
    pub metadata: Vec<Metadata>,
    pub links: Vec<Link>,
    pub show_tactic_row_background: bool,
    pub tactic_row_background: String,
    pub select_techniques_across_tactics: bool,
    pub select_subtechniques_with_parent: bool,
    pub select_visible_techniques: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    /// The ATT&CK major release (`18`): Navigator loads its data by major release.
    pub attack: String,
    pub navigator: String,
    pub layer: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Layout {
    pub layout: String,
    pub aggregate_function: String,
    #[serde(rename = "showID")]
    pub show_id: bool,
    pub show_name: bool,
    pub show_aggregate_scores: bool,
    pub count_unscored: bool,
    pub expanded_subtechniques: String,
}

/// One technique in one tactic's column.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerTechnique {
    #[serde(rename = "techniqueID")]
    pub technique_id: String,
    /// The tactic's short name (`persistence`).
    pub tactic: String,
    /// None for a parent listed only to show its selected sub-techniques.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u32>,
    pub color: String,
    pub comment: String,
    pub enabled: bool,
    pub metadata: Vec<Metadata>,
    pub links: Vec<Link>,
    pub show_subtechniques: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gradient {
    pub colors: Vec<String>,
    pub min_value: u32,
    pub max_value: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct LegendItem {
    pub label: String,
    pub color: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// A text in the request's language.
fn tr(lang: Lang, en: String, ja: String) -> String {
    match lang {
        Lang::En => en,
        Lang::Ja => ja,
    }
}

/// A name in the request's language (the English one where ATT&CK has no Japanese).
fn name_in(lang: Lang, name: &str, name_ja: Option<&str>) -> String {
    lang.pick(name, name_ja.unwrap_or(name)).to_string()
}

fn ref_name(lang: Lang, r: &Ref) -> String {
    name_in(lang, &r.name, r.name_ja.as_deref())
}

/// A selected technique: its score, why it is here, and the tactics whose columns score it (a
/// tactic's layer: that tactic; explained lines: the tactics an argument shows).
struct Pick {
    id: String,
    score: u32,
    reasons: Vec<String>,
    /// Tactic IDs to score it in; empty: all of its tactics.
    tactics: Vec<String>,
}

/// Picks in selection order, one per technique.
#[derive(Default)]
struct Picks(Vec<Pick>);

impl Picks {
    /// Adds to a technique's score and reasons, or selects it.
    fn add(&mut self, id: &str, score: u32, reason: String, tactics: &[String]) {
        match self.0.iter_mut().find(|p| p.id == id) {
            Some(p) => {
                p.score += score;
                if !p.reasons.contains(&reason) {
                    p.reasons.push(reason);
                }
                for t in tactics {
                    if !p.tactics.contains(t) {
                        p.tactics.push(t.clone());
                    }
                }
            }
            None => self.0.push(Pick {
                id: id.to_string(),
                score,
                reasons: vec![reason],
                tactics: tactics.to_vec(),
            }),
        }
    }
}

/// What the selection says about itself, in the layer's language.
struct About {
    name: String,
    description: String,
    selection: String,
    link: Option<Link>,
}

/// The layer of a selection. A selection that names nothing, or selects no technique of the
/// domain, is [`Error::NotFound`].
pub fn build(kb: &KbIndex, req: &LayerRequest) -> Result<Built> {
    crate::guard(|| build_unguarded(kb, req)).map_err(query::damaged_index)?
}

fn build_unguarded(kb: &KbIndex, req: &LayerRequest) -> Result<Built> {
    let lang = req.lang;
    let wanted = req.domain.as_deref().map(query::domain).transpose()?;
    let mut notes = Vec::new();
    let (picks, about) = match &req.selection {
        Selection::Group(key) => user(kb, key, Kind::Group, lang)?,
        Selection::Software(key) => user(kb, key, Kind::Software, lang)?,
        Selection::Tactic(key) => tactic(kb, key, wanted.as_deref(), lang)?,
        Selection::Search(q) => search(kb, q, wanted.as_deref(), req.limit, lang, &mut notes)?,
        Selection::Commands(lines) => commands(kb, lines, lang)?,
        Selection::Ids(ids) => by_ids(kb, ids, lang, &mut notes)?,
    };
    let mut techniques = Techniques::default();
    for p in &picks.0 {
        techniques.get(kb, &p.id)?;
    }
    let domain = match wanted {
        Some(d) => d,
        None => busiest_domain(&picks, &techniques),
    };
    let inside = picks
        .0
        .iter()
        .filter(|p| techniques.in_domain(&p.id, &domain).is_some())
        .count();
    let outside = picks.0.len() - inside;
    if outside > 0 {
        notes.push(msg!("layer.other_domains", count = outside));
    }
    let version = kb
        .manifest
        .sources
        .iter()
        .find(|s| s.domain == domain)
        .map(|s| s.version.clone())
        .ok_or_else(|| Error::NotFound(msg!("layer.no_domain_bundle", domain = &domain)))?;
    let mut entries = Entries::default();
    for p in &picks.0 {
        let Some(hit) = techniques.in_domain(&p.id, &domain) else {
            continue;
        };
        let comment = p.reasons.join("\n");
        for t in columns(&hit.tactics, &p.tactics) {
            entries.push(kb, lang, hit, t, Some(p.score), &comment)?;
        }
    }
    if entries.list.is_empty() {
        return Err(Error::NotFound(msg!(
            "layer.nothing_selected",
            selection = &about.selection,
            domain = &domain
        )));
    }
    expand_parents(kb, lang, &mut entries, &mut techniques, &domain)?;
    entries.list.sort_by(|a, b| {
        a.technique_id
            .cmp(&b.technique_id)
            .then(a.tactic.cmp(&b.tactic))
    });
    let max = entries
        .list
        .iter()
        .filter_map(|e| e.score)
        .max()
        .unwrap_or(0);
    let mut metadata = vec![
        Metadata {
            name: "ATT&CK".into(),
            value: format!("{domain} {version}"),
        },
        Metadata {
            name: lang.pick("selection", "選択").into(),
            value: about.selection.clone(),
        },
        Metadata {
            name: lang.pick("techniques", "テクニック数").into(),
            value: inside.to_string(),
        },
        Metadata {
            name: lang.pick("made by", "作成").into(),
            value: format!("attack-kb {}", env!("CARGO_PKG_VERSION")),
        },
    ];
    metadata.extend(notes.iter().map(|n| Metadata {
        name: lang.pick("note", "注記").into(),
        value: n.render(lang),
    }));
    let layer = Layer {
        name: sheet_safe(&about.name),
        versions: Versions {
            attack: version.split('.').next().unwrap_or(&version).to_string(),
            navigator: NAVIGATOR.into(),
            layer: LAYER_FORMAT.into(),
        },
        domain,
        description: about.description,
        // Highest score first within each tactic.
        sorting: 3,
        layout: Layout {
            layout: "side".into(),
            aggregate_function: "average".into(),
            show_id: true,
            show_name: true,
            show_aggregate_scores: false,
            count_unscored: false,
            expanded_subtechniques: "none".into(),
        },
        hide_disabled: false,
        techniques: entries.list,
        gradient: Gradient {
            colors: GRADIENT.iter().map(|c| c.to_string()).collect(),
            min_value: 0,
            max_value: max.max(1),
        },
        legend_items: Vec::new(),
        metadata,
        links: about.link.into_iter().collect(),
        show_tactic_row_background: false,
        tactic_row_background: "#dddddd".into(),
        select_techniques_across_tactics: true,
        select_subtechniques_with_parent: false,
        select_visible_techniques: false,
    };
    Ok(Built { layer, notes })
}

/// Lists the parent of every listed sub-technique in the same tactic, expanded: Navigator shows
/// a sub-technique only under its expanded parent. A parent that is not selected itself is
/// listed without a score.
fn expand_parents(
    kb: &KbIndex,
    lang: Lang,
    entries: &mut Entries,
    techniques: &mut Techniques,
    domain: &str,
) -> Result<()> {
    let subs: Vec<(String, String)> = entries
        .list
        .iter()
        .filter_map(|e| {
            let (parent, _) = e.technique_id.split_once('.')?;
            Some((parent.to_string(), e.tactic.clone()))
        })
        .collect();
    for (parent, tactic) in subs {
        if let Some(e) = entries
            .list
            .iter_mut()
            .find(|e| e.technique_id == parent && e.tactic == tactic)
        {
            e.show_subtechniques = true;
            continue;
        }
        techniques.get(kb, &parent)?;
        let Some(hit) = techniques.in_domain(&parent, domain) else {
            continue;
        };
        for t in &hit.tactics {
            if entries.shortname(kb, &t.id)? == tactic {
                entries.push(kb, lang, hit, t, None, "")?;
                if let Some(e) = entries.list.last_mut() {
                    e.show_subtechniques = true;
                }
                break;
            }
        }
    }
    Ok(())
}

/// The layer's name without the characters a spreadsheet refuses in a sheet title: exporters
/// (mitreattack-python's ToExcel) name the sheet after the layer.
fn sheet_safe(name: &str) -> String {
    name.chars()
        .map(|c| if r#":\/?*[]"#.contains(c) { ' ' } else { c })
        .collect()
}

/// The tactics a technique is scored in: those asked for among its own, else all of its own.
fn columns<'a>(tactics: &'a [Ref], only: &[String]) -> Vec<&'a Ref> {
    let chosen: Vec<&Ref> = tactics.iter().filter(|t| only.contains(&t.id)).collect();
    if chosen.is_empty() {
        tactics.iter().collect()
    } else {
        chosen
    }
}

/// The domain most picked techniques belong to (ties go to the first of [`stix::DOMAINS`]).
fn busiest_domain(picks: &Picks, techniques: &Techniques) -> String {
    let mut best = (0, stix::DOMAINS[0]);
    for d in stix::DOMAINS {
        let n = picks
            .0
            .iter()
            .filter(|p| techniques.in_domain(&p.id, d).is_some())
            .count();
        if n > best.0 {
            best = (n, d);
        }
    }
    best.1.to_string()
}

/// Techniques' search records, read once per layer.
#[derive(Default)]
struct Techniques(HashMap<String, Option<StoredHit>>);

impl Techniques {
    fn get(&mut self, kb: &KbIndex, id: &str) -> Result<()> {
        if !self.0.contains_key(id) {
            let hit = query::hit_by_id(kb, id)?.filter(|h| h.kind == Kind::Technique);
            self.0.insert(id.to_string(), hit);
        }
        Ok(())
    }

    /// The technique, if [`Techniques::get`] found it in `domain`.
    fn in_domain(&self, id: &str, domain: &str) -> Option<&StoredHit> {
        self.0
            .get(id)
            .and_then(Option::as_ref)
            .filter(|h| h.domains.iter().any(|d| d == domain))
    }
}

/// The layer's technique entries, and the tactics' short names they are filed under.
#[derive(Default)]
struct Entries {
    list: Vec<LayerTechnique>,
    /// Tactic ID -> short name.
    shortnames: BTreeMap<String, String>,
}

impl Entries {
    fn shortname(&mut self, kb: &KbIndex, tactic: &str) -> Result<String> {
        if let Some(s) = self.shortnames.get(tactic) {
            return Ok(s.clone());
        }
        let s = query::show(kb, tactic)?
            .entity
            .shortname
            .ok_or_else(|| Error::IndexOutdated(msg!("layer.no_shortname", tactic = tactic)))?;
        self.shortnames.insert(tactic.to_string(), s.clone());
        Ok(s)
    }

    fn push(
        &mut self,
        kb: &KbIndex,
        lang: Lang,
        hit: &StoredHit,
        tactic: &Ref,
        score: Option<u32>,
        comment: &str,
    ) -> Result<()> {
        let short = self.shortname(kb, &tactic.id)?;
        self.list.push(LayerTechnique {
            technique_id: hit.id.clone(),
            tactic: short,
            score,
            color: String::new(),
            comment: comment.to_string(),
            enabled: true,
            metadata: vec![
                Metadata {
                    name: lang.pick("technique", "テクニック").into(),
                    value: name_in(lang, &hit.name, hit.name_ja.as_deref()),
                },
                Metadata {
                    name: lang.pick("tactic", "戦術").into(),
                    value: format!("{} {}", tactic.id, ref_name(lang, tactic)),
                },
            ],
            links: hit
                .url
                .iter()
                .map(|u| Link {
                    label: "ATT&CK".into(),
                    url: u.clone(),
                })
                .collect(),
            show_subtechniques: false,
        });
        Ok(())
    }
}

/// The entity a key names, if it is of `kind`; else why not, and what to try.
fn entity_of(kb: &KbIndex, key: &str, kind: Kind) -> Result<Entity> {
    let shown = query::show(kb, key)?;
    if shown.entity.kind == kind {
        return Ok(shown.entity);
    }
    let same = shown.same_name.iter().find(|r| r.kind == kind);
    match same {
        Some(r) => Ok(query::show(kb, &r.id)?.entity),
        None => Err(Error::NotFound(msg!(
            "layer.wrong_kind",
            key = format!("{key:?}"),
            raw = key,
            kind = shown.entity.kind,
            kind_ja = shown.entity.kind.label_ja(),
            id = &shown.entity.id,
            name = &shown.entity.name,
            want = kind,
            want_ja = kind.label_ja()
        ))),
    }
}

fn label(lang: Lang, e: &Entity) -> String {
    format!(
        "{} ({})",
        name_in(lang, &e.name, e.name_ja.as_deref()),
        e.id
    )
}

fn entity_link(e: &Entity) -> Option<Link> {
    e.url.as_ref().map(|u| Link {
        label: format!("ATT&CK {}", e.id),
        url: u.clone(),
    })
}

/// A group's or a software's techniques: each use counts 1 (a group's own, and each campaign
/// attributed to it that uses the technique).
fn user(kb: &KbIndex, key: &str, kind: Kind, lang: Lang) -> Result<(Picks, About)> {
    let e = entity_of(kb, key, kind)?;
    let who = label(lang, &e);
    let mut picks = Picks::default();
    let uses = tr(lang, format!("{who} uses it"), format!("{who} が使用"));
    for t in e.related(Rel::Techniques) {
        picks.add(&t.id, 1, uses.clone(), &[]);
    }
    // A software's campaigns use it; only a group's are attributed to it.
    let campaigns = if kind == Kind::Group {
        e.related(Rel::Campaigns)
    } else {
        &[]
    };
    for c in campaigns {
        let campaign = query::show(kb, &c.id)?.entity;
        let reason = tr(
            lang,
            format!(
                "used in campaign {} {}, attributed to {who}",
                c.id,
                ref_name(lang, c)
            ),
            format!(
                "{who} に帰属するキャンペーン {} {} で使用",
                c.id,
                ref_name(lang, c)
            ),
        );
        for t in campaign.related(Rel::Techniques) {
            picks.add(&t.id, 1, reason.clone(), &[]);
        }
    }
    let (kind_en, kind_ja) = match kind {
        Kind::Group => ("group", "攻撃グループ"),
        _ => ("software", "ソフトウェア"),
    };
    let about = About {
        name: tr(
            lang,
            format!("{who} techniques"),
            format!("{who} のテクニック"),
        ),
        description: tr(
            lang,
            format!(
                "Techniques {kind_en} {who} uses{}. Score: how many uses name the technique. \
                 Made by attack-kb from the ATT&CK bundles it indexed.",
                if kind == Kind::Group {
                    ", itself or in campaigns attributed to it"
                } else {
                    ""
                }
            ),
            format!(
                "{kind_ja} {who} が使用するテクニック{}。スコアはそのテクニックの使用の数です。\
                 attack-kb が索引した ATT&CK バンドルから作成。",
                if kind == Kind::Group {
                    " (自身、または帰属するキャンペーンでの使用)"
                } else {
                    ""
                }
            ),
        ),
        selection: format!("{} {} {}", lang.pick(kind_en, kind_ja), e.id, e.name),
        link: entity_link(&e),
    };
    Ok((picks, about))
}

/// A tactic's techniques, each scored by the number of groups that use it. A tactic name
/// shared by domains (persistence) means the given domain's.
fn tactic(kb: &KbIndex, key: &str, domain: Option<&str>, lang: Lang) -> Result<(Picks, About)> {
    let shown = query::show(kb, key)?;
    let mut candidates = vec![shown.entity.to_ref()];
    candidates.extend(shown.same_name.iter().cloned());
    let mut chosen = None;
    for c in candidates.iter().filter(|c| c.kind == Kind::Tactic) {
        let e = if c.id == shown.entity.id {
            shown.entity.clone()
        } else {
            query::show(kb, &c.id)?.entity
        };
        if domain.is_none_or(|d| e.domains.iter().any(|x| x == d)) {
            chosen = Some(e);
            break;
        }
    }
    let Some(t) = chosen else {
        let tactic = format!("{key:?}");
        return Err(Error::NotFound(match domain {
            None => msg!("search.unknown_tactic", tactic = tactic, raw = key),
            Some(d) => msg!(
                "layer.unknown_tactic",
                tactic = tactic,
                raw = key,
                domain = d
            ),
        }));
    };
    let which = label(lang, &t);
    let mut picks = Picks::default();
    for r in t.related(Rel::Techniques) {
        let groups = query::show(kb, &r.id)?.entity.related(Rel::Groups).len();
        let reason = tr(
            lang,
            format!("a technique of tactic {which}; {groups} group(s) use it"),
            format!("戦術 {which} のテクニック。{groups} 個の攻撃グループが使用"),
        );
        picks.add(&r.id, groups as u32, reason, std::slice::from_ref(&t.id));
    }
    let about = About {
        name: tr(
            lang,
            format!("{which} techniques"),
            format!("{which} のテクニック"),
        ),
        description: tr(
            lang,
            format!(
                "The techniques of tactic {which}. Score: how many ATT&CK groups use the \
                 technique. Made by attack-kb from the ATT&CK bundles it indexed."
            ),
            format!(
                "戦術 {which} のテクニック。スコアはそのテクニックを使用する ATT&CK の攻撃グループの数です。\
                 attack-kb が索引した ATT&CK バンドルから作成。"
            ),
        ),
        selection: format!("{} {which}", lang.pick("tactic", "戦術")),
        link: entity_link(&t),
    };
    Ok((picks, about))
}

/// The techniques a search finds: technique results, and the techniques of program and alert
/// results (a query like schtasks finds those first). A result scores `limit` for the first, 1
/// for the last; a technique sums the scores of the results that bring it. A query whose best
/// result is a tactic (常設) means that tactic's techniques.
fn search(
    kb: &KbIndex,
    q: &str,
    domain: Option<&str>,
    limit: usize,
    lang: Lang,
    notes: &mut Vec<Message>,
) -> Result<(Picks, About)> {
    let resp = query::search(
        kb,
        &SearchRequest {
            query: q.to_string(),
            limit,
            kinds: vec![Kind::Technique, Kind::Binary, Kind::Alert, Kind::Tactic],
            tactic: None,
            domain: domain.map(str::to_string),
        },
    )?;
    if let Some(top) = resp.results.first()
        && top.stored.kind == Kind::Tactic
    {
        let t = &top.stored;
        notes.push(msg!(
            "layer.query_names_tactic",
            query = q,
            id = &t.id,
            name = name_in(lang, &t.name, t.name_ja.as_deref())
        ));
        return tactic(kb, &t.id, domain, lang);
    }
    let n = resp.results.len();
    let quoted = truncate(q.trim(), 80);
    let mut picks = Picks::default();
    for (i, h) in resp.results.iter().enumerate() {
        let rank = i + 1;
        let hit = &h.stored;
        if hit.kind == Kind::Tactic {
            continue;
        }
        let (mut reason, techniques) = if hit.kind == Kind::Technique {
            let own = Ref {
                id: hit.id.clone(),
                kind: hit.kind,
                name: hit.name.clone(),
                name_ja: hit.name_ja.clone(),
                note: None,
            };
            (
                tr(
                    lang,
                    format!("search “{quoted}”: result {rank} of {n}"),
                    format!("検索「{quoted}」の {rank} 位 (全 {n} 件)"),
                ),
                vec![own],
            )
        } else {
            // A program's ID is its file name: said once.
            let name = name_in(lang, &hit.name, hit.name_ja.as_deref());
            let what = if name == hit.id {
                name
            } else {
                format!("{} {name}", hit.id)
            };
            (
                tr(
                    lang,
                    format!(
                        "search “{quoted}”: result {rank} of {n} is {} {what}, which maps to it",
                        hit.kind
                    ),
                    format!(
                        "検索「{quoted}」の {rank} 位 (全 {n} 件) の{} {what} に対応",
                        hit.kind.label_ja()
                    ),
                ),
                hit.techniques.clone(),
            )
        };
        if let Some(v) = &h.via {
            reason.push_str(&format!(" ({v})"));
        }
        for t in techniques {
            picks.add(&t.id, (n - i) as u32, reason.clone(), &[]);
        }
    }
    let about = About {
        name: tr(
            lang,
            format!("Search “{quoted}”"),
            format!("検索「{quoted}」"),
        ),
        description: tr(
            lang,
            format!(
                "The techniques kb search finds for “{quoted}”: technique results and the \
                 techniques of program and alert results. Score: {n} for the first result, 1 for \
                 the last, summed over the results that bring the technique. Made by attack-kb."
            ),
            format!(
                "kb search で「{quoted}」に一致したテクニック、およびプログラムとアラートの結果に対応するテクニック。\
                 スコアは 1 位が {n}、最下位が 1 で、そのテクニックをもたらした結果について合計したものです。\
                 attack-kb で作成。"
            ),
        ),
        selection: tr(
            lang,
            format!("search “{quoted}”"),
            format!("検索「{quoted}」"),
        ),
        link: None,
    };
    Ok((picks, about))
}

/// The weight of an explained technique's confidence: a certain one counts more than the
/// program's usual abuse that no argument proves.
fn confidence_weight(confidence: &str) -> u32 {
    match confidence {
        "certain" => 4,
        "high" => 3,
        "medium" => 2,
        _ => 1,
    }
}

fn confidence_label(lang: Lang, confidence: &str) -> String {
    let ja = match confidence {
        "certain" => "確実",
        "high" => "高",
        "medium" => "中",
        "low" => "低",
        "usual" => "典型的な悪用 (引数による裏付けなし)",
        other => other,
    };
    tr(
        lang,
        format!("confidence: {confidence}"),
        format!("確度: {ja}"),
    )
}

/// The techniques `kb explain` finds in each line. Score: the sum over lines of each finding's
/// confidence weight, so a technique many lines show, or one shown for certain, stands out.
/// A technique is scored in the tactics an argument shows, else in all of its tactics. The
/// program's usual abuse (no argument shows it: certutil's -decode for `certutil -urlcache`)
/// counts only for a line that shows nothing more.
fn commands(kb: &KbIndex, lines: &[String], lang: Lang) -> Result<(Picks, About)> {
    let lines: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    let mut picks = Picks::default();
    let mut quoted: HashMap<String, usize> = HashMap::new();
    for line in &lines {
        let e = explain::explain(kb, line, lang)?;
        let shown_by_arguments = e.techniques.iter().any(|t| t.confidence != "usual");
        for t in e
            .techniques
            .iter()
            .filter(|t| !shown_by_arguments || t.confidence != "usual")
        {
            let shown: Vec<String> = t
                .tactics
                .iter()
                .filter(|x| x.shown)
                .map(|x| x.id.clone())
                .collect();
            let count = quoted.entry(t.id.clone()).or_default();
            *count += 1;
            let reason = if *count <= QUOTED_LINES {
                let why: Vec<String> = t
                    .tactics
                    .iter()
                    .filter(|x| x.shown)
                    .filter_map(|x| {
                        let r = x.reason.as_deref()?;
                        Some(format!(
                            "{}: {r}",
                            name_in(lang, &x.name, x.name_ja.as_deref())
                        ))
                    })
                    .collect();
                let mut r = format!(
                    "`{}` — {} ({})",
                    truncate(line, QUOTED_CHARS),
                    t.reason,
                    confidence_label(lang, &t.confidence)
                );
                for w in why {
                    r.push_str("; ");
                    r.push_str(&w);
                }
                r
            } else {
                String::new()
            };
            picks.add(&t.id, confidence_weight(&t.confidence), reason, &shown);
        }
    }
    // Lines past the quoted ones are counted, not quoted.
    for p in &mut picks.0 {
        p.reasons.retain(|r| !r.is_empty());
        let more = quoted.get(&p.id).copied().unwrap_or(0);
        if more > QUOTED_LINES {
            let more = more - QUOTED_LINES;
            p.reasons.push(tr(
                lang,
                format!("… and {more} more line(s)"),
                format!("… ほか {more} 行"),
            ));
        }
    }
    let n = lines.len();
    let about = About {
        name: tr(
            lang,
            format!("Techniques of {n} command line(s)"),
            format!("コマンドライン {n} 行のテクニック"),
        ),
        description: tr(
            lang,
            format!(
                "The techniques kb explain finds in {n} command line(s) (a program's usual abuse \
                 only where its line shows nothing more); each comment quotes the lines and the \
                 reasons. Score: the sum over lines of the confidence (certain 4, high 3, medium \
                 2, low or usual 1). Made by attack-kb."
            ),
            format!(
                "kb explain がコマンドライン {n} 行に見出したテクニック (プログラムの典型的な悪用は、\
                 その行に他の手掛かりがない場合のみ)。コメントに該当する行と理由を記載。\
                 スコアは行ごとの確度 (確実 4、高 3、中 2、低・典型 1) の合計です。attack-kb で作成。"
            ),
        ),
        selection: tr(
            lang,
            format!("{n} command line(s)"),
            format!("コマンドライン {n} 行"),
        ),
        link: None,
    };
    Ok((picks, about))
}

/// Technique IDs, each scored 1; a revoked one stands for its replacement.
fn by_ids(
    kb: &KbIndex,
    ids: &[String],
    lang: Lang,
    notes: &mut Vec<Message>,
) -> Result<(Picks, About)> {
    let mut picks = Picks::default();
    let mut given = Vec::new();
    for id in ids.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        let shown = query::show(kb, id)?;
        let e = &shown.entity;
        if e.kind != Kind::Technique {
            return Err(Error::NotFound(msg!(
                "layer.not_a_technique",
                id = id,
                kind = e.kind,
                kind_ja = e.kind.label_ja(),
                name = &e.name
            )));
        }
        if let Some(r) = &shown.redirected_from {
            notes.push(msg!(
                "layer.revoked",
                revoked = &r.id,
                id = &e.id,
                name = &e.name
            ));
        }
        picks.add(
            &e.id,
            1,
            tr(lang, format!("listed as {id}"), format!("{id} として指定")),
            &[],
        );
        given.push(id.to_string());
    }
    if given.is_empty() {
        return Err(Error::NotFound(msg!("layer.no_ids")));
    }
    let list = truncate(&given.join(", "), 200);
    let about = About {
        name: tr(
            lang,
            "Selected techniques".into(),
            "指定したテクニック".into(),
        ),
        description: tr(
            lang,
            format!("Techniques listed by ID: {list}. Made by attack-kb."),
            format!("ID で指定したテクニック: {list}。attack-kb で作成。"),
        ),
        selection: format!("ID {list}"),
        link: None,
    };
    Ok((picks, about))
}
