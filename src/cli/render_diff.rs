//! Text and Markdown output of `kb diff`, in Japanese or English. One walk over the
//! [`Diff`] serves both: [`Style`] decides only how a heading, a list item and the table look.
//! JSON output is serde's, from the library types.

use std::io::{self, Write};

use attack_kb::diff::{Counts, Diff, KindDiff, Level, Link};
use attack_kb::model::{Kind, Ref};

use super::Lang;
use super::render::{name_pair, ref_text};

/// Long lists are cut in text output (a release adds hundreds of analytics); Markdown, a
/// change log, lists everything.
const MAX_LIST: usize = 15;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Text,
    Markdown,
}

struct Out<'a> {
    w: &'a mut dyn Write,
    style: Style,
    lang: Lang,
    all: bool,
}

impl Out<'_> {
    fn t<'s>(&self, en: &'s str, ja: &'s str) -> &'s str {
        match self.lang {
            Lang::En => en,
            Lang::Ja => ja,
        }
    }

    fn heading(&mut self, level: usize, text: &str) -> io::Result<()> {
        match self.style {
            // Every block under a heading opens with its own blank line.
            Style::Markdown => writeln!(self.w, "\n{} {text}", "#".repeat(level)),
            Style::Text if level <= 2 => writeln!(self.w, "\n{text}\n{}", "=".repeat(40)),
            Style::Text => writeln!(self.w, "\n{text}"),
        }
    }

    /// A titled list with its count, cut at [`MAX_LIST`] in text output unless `--all`.
    fn list(&mut self, title: &str, items: &[String]) -> io::Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let title = format!("{title} ({})", items.len());
        let cut = self.style == Style::Text && !self.all;
        match self.style {
            Style::Markdown => writeln!(self.w, "\n**{title}**\n")?,
            Style::Text => writeln!(self.w, "\n  {title}:")?,
        }
        let shown = if cut {
            MAX_LIST.min(items.len())
        } else {
            items.len()
        };
        for i in &items[..shown] {
            match self.style {
                Style::Markdown => writeln!(self.w, "- {}", md_escape(i))?,
                Style::Text => writeln!(self.w, "    {i}")?,
            }
        }
        if shown < items.len() {
            let more = items.len() - shown;
            let line = match self.lang {
                Lang::En => format!("    … and {more} more (--all lists them)"),
                Lang::Ja => format!("    … ほか {more} 件 (--all ですべて表示)"),
            };
            writeln!(self.w, "{line}")?;
        }
        Ok(())
    }

    fn r(&self, r: &Ref) -> String {
        ref_text(r, self.lang)
    }
}

/// Markdown list items hold MITRE's names and excerpts: characters that would start markup
/// are escaped.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '_' | '`' | '|' | '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn kind_title(kind: Kind, lang: Lang) -> &'static str {
    if lang == Lang::Ja {
        return kind.label_ja();
    }
    match kind {
        Kind::Technique => "Techniques",
        Kind::Tactic => "Tactics",
        Kind::Software => "Software",
        Kind::Group => "Groups",
        Kind::Campaign => "Campaigns",
        Kind::Asset => "Assets",
        Kind::Mitigation => "Mitigations",
        Kind::DataSource => "Data sources",
        Kind::DataComponent => "Data components",
        Kind::DetectionStrategy => "Detection strategies",
        Kind::Analytic => "Analytics",
        Kind::Binary => "Binaries",
        Kind::Alert => "Alerts",
        Kind::Event => "Events",
    }
}

/// The count columns: (English, Japanese, value).
fn columns(c: &Counts) -> [(&'static str, &'static str, usize); 10] {
    [
        ("added", "追加", c.added),
        ("revoked", "置き換え", c.revoked),
        ("deprecated", "廃止", c.deprecated),
        ("removed", "削除", c.removed),
        ("renamed", "名称変更", c.renamed),
        ("major", "メジャー", c.major),
        ("minor", "マイナー", c.minor),
        ("other", "その他", c.other),
        ("patch", "パッチ", c.patch),
        ("description", "説明変更", c.description),
    ]
}

pub fn diff(w: &mut dyn Write, d: &Diff, lang: Lang, style: Style, all: bool) -> io::Result<()> {
    let mut o = Out {
        w,
        style,
        lang,
        all,
    };
    let title = format!("ATT&CK {} {} → {}", d.domain, d.old.version, d.new.version);
    match style {
        Style::Markdown => writeln!(o.w, "# {title}\n")?,
        Style::Text => writeln!(o.w, "{title}")?,
    }
    let from = o.t("from", "比較元");
    let to = o.t("to", "比較先");
    match style {
        Style::Markdown => writeln!(o.w, "- {from}: `{}`\n- {to}: `{}`", d.old.path, d.new.path)?,
        Style::Text => writeln!(o.w, "{from}: {}\n{to}: {}", d.old.path, d.new.path)?,
    }
    summary(&mut o, d)?;
    for k in &d.kinds {
        kind_section(&mut o, k)?;
        if k.kind == Kind::Technique {
            technique_sections(&mut o, d)?;
        }
    }
    for f in &d.focus {
        let title = match lang {
            Lang::En => format!("Relationships of {}", o.r(&f.item)),
            Lang::Ja => format!("{} の関係の変化", o.r(&f.item)),
        };
        o.heading(2, &title)?;
        let link = |o: &Out, l: &Link| format!("{} {}", relationship(l, o.lang), o.r(&l.target));
        let added: Vec<String> = f.added.iter().map(|l| link(&o, l)).collect();
        let dropped: Vec<String> = f.dropped.iter().map(|l| link(&o, l)).collect();
        if added.is_empty() && dropped.is_empty() {
            let none = o.t(
                "no relationship came or went",
                "関係の追加・削除はありません",
            );
            writeln!(o.w, "\n  {none}")?;
        }
        let (a, r) = (o.t("added", "追加"), o.t("dropped", "削除"));
        o.list(a, &added)?;
        o.list(r, &dropped)?;
    }
    Ok(())
}

/// A relationship read from the focused object: a group *uses* a technique, a software is
/// *used by* a group.
fn relationship(l: &Link, lang: Lang) -> String {
    let known = match (l.relationship.as_str(), l.reverse) {
        ("uses", false) => Some(("uses", "使用する")),
        ("uses", true) => Some(("used by", "使用元")),
        ("attributed-to", false) => Some(("attributed to", "帰属先")),
        ("attributed-to", true) => Some(("attributed from", "帰属するもの")),
        ("mitigates", true) => Some(("mitigated by", "緩和策")),
        ("detects", true) => Some(("detected by", "検知")),
        _ => None,
    };
    match (known, lang) {
        (Some((en, _)), Lang::En) => en.to_string(),
        (Some((_, ja)), Lang::Ja) => ja.to_string(),
        (None, _) if l.reverse => format!("← {}", l.relationship),
        (None, _) => l.relationship.clone(),
    }
}

/// One row per kind that changed at all, one column per category.
fn summary(o: &mut Out, d: &Diff) -> io::Result<()> {
    let title = o.t("Summary", "概要");
    o.heading(2, title)?;
    let lang = o.lang;
    let head: Vec<&str> = columns(&Counts::default())
        .iter()
        .map(|(en, ja, _)| if lang == Lang::Ja { *ja } else { *en })
        .collect();
    let kind_col = o.t("kind", "種類");
    let rows: Vec<(&str, Vec<usize>)> = d
        .kinds
        .iter()
        .map(|k| {
            let values: Vec<usize> = columns(&k.counts).iter().map(|c| c.2).collect();
            (kind_title(k.kind, lang), values)
        })
        .filter(|(_, v)| v.iter().any(|n| *n > 0))
        .collect();
    if rows.is_empty() {
        let none = o.t("No differences.", "違いはありません。");
        return writeln!(o.w, "\n{none}");
    }
    match o.style {
        Style::Markdown => {
            writeln!(o.w, "\n| {kind_col} | {} |", head.join(" | "))?;
            writeln!(o.w, "|---|{}", "---:|".repeat(head.len()))?;
            for (k, v) in &rows {
                let cells: Vec<String> = v.iter().map(usize::to_string).collect();
                writeln!(o.w, "| {k} | {} |", cells.join(" | "))?;
            }
        }
        Style::Text => {
            // Columns as wide as their heading; Japanese characters are two columns wide.
            let width = |s: &str| {
                s.chars()
                    .map(|c| if c.is_ascii() { 1 } else { 2 })
                    .sum::<usize>()
            };
            let pad = |s: &str, n: usize| format!("{s}{}", " ".repeat(n.saturating_sub(width(s))));
            let first = rows
                .iter()
                .map(|(k, _)| width(k))
                .max()
                .unwrap_or(0)
                .max(width(kind_col));
            let mut line = pad(kind_col, first);
            for h in &head {
                line.push_str(&format!("  {h}"));
            }
            writeln!(o.w, "{line}")?;
            for (k, v) in &rows {
                let mut line = pad(k, first);
                for (h, n) in head.iter().zip(v) {
                    let n = n.to_string();
                    line.push_str(&format!(
                        "  {}{n}",
                        " ".repeat(width(h).saturating_sub(n.len()))
                    ));
                }
                writeln!(o.w, "{line}")?;
            }
        }
    }
    Ok(())
}

fn kind_section(o: &mut Out, k: &KindDiff) -> io::Result<()> {
    let c = &k.counts;
    if columns(c).iter().all(|col| col.2 == 0) {
        return Ok(());
    }
    o.heading(2, kind_title(k.kind, o.lang))?;
    let lang = o.lang;
    let refs = |o: &Out, v: &[Ref]| v.iter().map(|r| o.r(r)).collect::<Vec<_>>();
    let added = refs(o, &k.added);
    o.list(o.t("added", "追加"), &added)?;
    let revoked: Vec<String> = k
        .revoked
        .iter()
        .map(|r| match &r.replaced_by {
            Some(by) => format!("{} → {}", o.r(&r.item), o.r(by)),
            None => format!("{} → ?", o.r(&r.item)),
        })
        .collect();
    o.list(
        o.t("revoked (→ replacement)", "置き換え (→ 後継)"),
        &revoked,
    )?;
    let deprecated = refs(o, &k.deprecated);
    o.list(o.t("deprecated", "廃止"), &deprecated)?;
    let removed = refs(o, &k.removed);
    o.list(o.t("removed from the bundle", "バンドルから削除"), &removed)?;
    let renamed: Vec<String> = k
        .renamed
        .iter()
        .map(|r| {
            format!(
                "{} {} → {}",
                r.item.id,
                r.old_name,
                name_pair(&r.item.name, r.item.name_ja.as_deref(), lang)
            )
        })
        .collect();
    o.list(o.t("renamed", "名称変更"), &renamed)?;
    let versions: Vec<String> = k
        .changed
        .iter()
        .filter(|c| c.level != Level::Patch)
        .map(|c| format!("{} ({} → {})", o.r(&c.item), c.old_version, c.new_version))
        .collect();
    o.list(o.t("new versions", "バージョン更新"), &versions)?;
    let described: Vec<String> = k
        .changed
        .iter()
        .filter_map(|c| {
            let w = c.description.as_ref()?;
            Some(format!(
                "{} (+{} −{} {}): {}",
                o.r(&c.item),
                w.added,
                w.removed,
                o.t("words", "語"),
                w.excerpt
            ))
        })
        .collect();
    o.list(o.t("description changed", "説明文の変更"), &described)
}

fn technique_sections(o: &mut Out, d: &Diff) -> io::Result<()> {
    let parent = |o: &Out, p: &Option<Ref>| p.as_ref().map_or_else(|| "-".into(), |p| o.r(p));
    let moved: Vec<String> = d
        .moved
        .iter()
        .map(|m| {
            let how = if m.by_revocation {
                o.t(", revoked in favour of it", "、旧 ID は置き換え")
            } else {
                ""
            };
            format!(
                "{} ({} {}{how}): {} → {}",
                o.r(&m.item),
                o.t("was", "旧"),
                m.old_id,
                parent(o, &m.old_parent),
                parent(o, &m.new_parent)
            )
        })
        .collect();
    o.list(
        o.t(
            "sub-techniques moved to another parent",
            "親テクニックが変わったサブテクニック",
        ),
        &moved,
    )?;
    let tactics: Vec<String> = d
        .tactics
        .iter()
        .map(|c| {
            let plus = c.added.iter().map(|t| format!("+{}", o.r(t)));
            let minus = c.removed.iter().map(|t| format!("−{}", o.r(t)));
            format!(
                "{}: {}",
                o.r(&c.item),
                plus.chain(minus).collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    o.list(o.t("tactics changed", "戦術の変更"), &tactics)?;
    let platforms: Vec<String> = d
        .platforms
        .iter()
        .map(|c| {
            let plus = c.added.iter().map(|p| format!("+{p}"));
            let minus = c.removed.iter().map(|p| format!("−{p}"));
            format!(
                "{}: {}",
                o.r(&c.item),
                plus.chain(minus).collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    o.list(
        o.t("platforms changed", "プラットフォームの変更"),
        &platforms,
    )
}
