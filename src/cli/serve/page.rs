//! The web page: one search box, a page per object with its relations as links, and the
//! command-line explainer with each argument underlined. Server-rendered HTML, no JavaScript,
//! no build step; Japanese or English from Accept-Language or `?lang=`. Every text that comes
//! from the index or the request is escaped.

use std::fmt::Write as _;
use std::sync::Arc;

use attack_kb::explain::{self, Explanation, Lang};
use attack_kb::model::{Ref, Rel};
use attack_kb::query;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};

use super::{AppState, Params, guarded, lang_of, params, search_request};

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encoding for a query value or a path segment.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn t<'a>(lang: Lang, en: &'a str, ja: &'a str) -> &'a str {
    lang.pick(en, ja)
}

fn code(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en",
        Lang::Ja => "ja",
    }
}

const STYLE: &str = "body{font-family:system-ui,'Hiragino Sans','Noto Sans JP',sans-serif;max-width:60rem;\
margin:1rem auto;padding:0 1rem;color:#222}a{color:#0645ad}header{display:flex;gap:1rem;align-items:center;\
flex-wrap:wrap}form{display:flex;gap:.5rem;flex:1}input[type=text],textarea{flex:1;font-size:1rem;padding:.4rem}\
.hit{margin:.6rem 0}.id{font-family:monospace;font-weight:bold}.kind{color:#666;font-size:.85rem}\
.snip{color:#444;font-size:.9rem}.cmd{font-family:monospace;background:#f6f6f6;padding:.6rem;\
white-space:pre-wrap;word-break:break-all}.cmd u{text-decoration:underline 2px #c00;text-underline-offset:3px}\
.cmd u.t{text-decoration-color:#06c}table{border-collapse:collapse}td{padding:.15rem .5rem;vertical-align:top}\
.note-suspect{color:#b00;font-weight:bold}";

fn page(lang: Lang, title: &str, here: &str, body: &str) -> Response {
    let other = match lang {
        Lang::En => ("ja", "日本語"),
        Lang::Ja => ("en", "English"),
    };
    let sep = if here.contains('?') { '&' } else { '?' };
    let html = format!(
        "<!doctype html><html lang=\"{l}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} — attack-kb</title><style>{STYLE}</style></head><body><header>\
         <a href=\"/?lang={l}\"><b>attack-kb</b></a>\
         <form action=\"/search\" method=\"get\"><input type=\"hidden\" name=\"lang\" value=\"{l}\">\
         <input type=\"text\" name=\"q\" placeholder=\"{ph}\" aria-label=\"{ph}\">\
         <button type=\"submit\">{go}</button></form>\
         <a href=\"/explain?lang={l}\">{ex}</a> <a href=\"{here}{sep}lang={ol}\">{on}</a></header>\
         <main>{body}</main></body></html>",
        l = code(lang),
        title = esc(title),
        ph = t(
            lang,
            "T1053, schtasks, 常設, a command line…",
            "T1053、schtasks、常設、コマンドライン…"
        ),
        go = t(lang, "Search", "検索"),
        ex = t(lang, "Explain a command line", "コマンドラインを解説"),
        here = esc(here),
        ol = other.0,
        on = other.1,
    );
    Html(html).into_response()
}

fn name(r_name: &str, r_ja: Option<&str>, lang: Lang) -> String {
    match (lang, r_ja) {
        (Lang::Ja, Some(j)) if j != r_name => format!("{j} ({r_name})"),
        (Lang::En, Some(j)) if j != r_name => format!("{r_name} / {j}"),
        _ => r_name.to_string(),
    }
}

fn link(r: &Ref, lang: Lang) -> String {
    format!(
        "<a href=\"/objects/{}?lang={}\"><span class=\"id\">{}</span></a> {}",
        enc(&r.id),
        code(lang),
        esc(&r.id),
        esc(&name(&r.name, r.name_ja.as_deref(), lang))
    )
}

pub async fn home(headers: HeaderMap, p: Params) -> Response {
    let p = params(p).unwrap_or_default();
    let lang = lang_of(&p, &headers);
    let body = format!(
        "<p>{}</p><ul><li><a href=\"/search?q={}&lang={l}\">常設</a></li>\
         <li><a href=\"/objects/T1053.005?lang={l}\">T1053.005</a></li>\
         <li><a href=\"/search?q=schtasks&lang={l}\">schtasks</a></li></ul>",
        t(
            lang,
            "Offline MITRE ATT&CK knowledge base: search IDs, names, Japanese terms, aliases and command lines.",
            "オフラインの MITRE ATT&CK ナレッジベース。ID、名前、日本語の用語、別名、コマンドラインで検索できます。"
        ),
        enc("常設"),
        l = code(lang)
    );
    page(lang, "attack-kb", "/", &body)
}

pub async fn search(State(state): State<Arc<AppState>>, headers: HeaderMap, p: Params) -> Response {
    let p = match params(p) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let lang = lang_of(&p, &headers);
    let q = p.get("q").cloned().unwrap_or_default();
    let here = format!("/search?q={}", enc(&q));
    let req = match search_request(&p) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let loaded = state.index.load();
    let resp = match guarded(|| query::search(&loaded.kb, &req)) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let mut body = format!("<h1>{}</h1>", esc(&q));
    if resp.results.is_empty() {
        let _ = write!(
            body,
            "<p>{}</p>",
            t(lang, "Nothing matches.", "一致する項目はありません。")
        );
    }
    body.push_str("<ol id=\"results\">");
    for h in &resp.results {
        let s = &h.stored;
        let r = Ref {
            id: s.id.clone(),
            kind: s.kind,
            name: s.name.clone(),
            name_ja: s.name_ja.clone(),
            note: None,
        };
        let kind = match lang {
            Lang::Ja => s.kind.label_ja().to_string(),
            Lang::En => s.kind.as_str().to_string(),
        };
        let tactics: Vec<String> = s.tactics.iter().map(|x| link(x, lang)).collect();
        let snippet = match lang {
            Lang::Ja => s.snippet_ja.as_deref().unwrap_or(&s.snippet),
            Lang::En => &s.snippet,
        };
        let _ = write!(
            body,
            "<li class=\"hit\">{} <span class=\"kind\">[{}]</span>{}<div class=\"snip\">{}</div></li>",
            link(&r, lang),
            esc(&kind),
            if tactics.is_empty() {
                String::new()
            } else {
                format!("<div class=\"kind\">{}</div>", tactics.join(", "))
            },
            esc(snippet)
        );
    }
    body.push_str("</ol>");
    if q.split_whitespace().count() > 1 {
        let _ = write!(
            body,
            "<p><a href=\"/explain?cmd={}&lang={}\">{}</a></p>",
            enc(&q),
            code(lang),
            t(
                lang,
                "Explain this as a command line",
                "コマンドラインとして解説する"
            )
        );
    }
    page(lang, &q, &here, &body)
}

pub async fn object(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    p: Params,
) -> Response {
    let p = params(p).unwrap_or_default();
    let lang = lang_of(&p, &headers);
    let loaded = state.index.load();
    let shown = match guarded(|| query::show(&loaded.kb, &key)) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let e = &shown.entity;
    let mut body = String::new();
    if let Some(r) = &shown.redirected_from {
        let _ = write!(
            body,
            "<p>{} {} → {}</p>",
            esc(&r.id),
            t(
                lang,
                "is revoked; it was replaced by",
                "は廃止され、次に置き換えられました:"
            ),
            esc(&r.replaced_by.id)
        );
    }
    let kind = match lang {
        Lang::Ja => e.kind.label_ja().to_string(),
        Lang::En => e.kind.as_str().to_string(),
    };
    let _ = write!(
        body,
        "<h1><span class=\"id\">{}</span> {}</h1><p class=\"kind\">{}</p>",
        esc(&e.id),
        esc(&name(&e.name, e.name_ja.as_deref(), lang)),
        esc(&kind)
    );
    if !e.tactics.is_empty() {
        let tactics: Vec<String> = e.tactics.iter().map(|x| link(x, lang)).collect();
        let _ = write!(
            body,
            "<p>{}: {}</p>",
            t(lang, "Tactics", "戦術"),
            tactics.join(", ")
        );
    }
    if let (Lang::Ja, Some(s)) = (lang, &e.summary_ja) {
        let _ = write!(body, "<h2>概要</h2><p>{}</p>", esc(s).replace('\n', "<br>"));
    }
    if !e.description.is_empty() {
        let label = match (
            lang,
            e.binary.is_some() || e.alert.is_some() || e.event.is_some(),
        ) {
            (Lang::Ja, false) => "説明 (MITRE の原文、英語)",
            (Lang::Ja, true) => "説明 (英語)",
            (Lang::En, _) => "Description",
        };
        let _ = write!(
            body,
            "<h2>{label}</h2><p>{}</p>",
            esc(&e.description).replace('\n', "<br>")
        );
    }
    if let Some(u) = &e.url
        && u.starts_with("https://")
    {
        let _ = write!(body, "<p><a href=\"{}\">{}</a></p>", esc(u), esc(u));
    }
    for (rel, refs) in &e.relations {
        let title = rel_title(*rel, lang);
        let items: Vec<String> = refs
            .iter()
            .map(|r| match &r.note {
                // MITRE's procedure text is English in either language: marked so for readers.
                Some(n) => format!(
                    "<li>{}<br><small lang=\"en\">{}</small></li>",
                    link(r, lang),
                    esc(n)
                ),
                None => format!("<li>{}</li>", link(r, lang)),
            })
            .collect();
        let _ = write!(body, "<h2>{}</h2><ul>{}</ul>", esc(title), items.join(""));
    }
    let here = format!("/objects/{}", enc(&key));
    page(lang, &e.id, &here, &body)
}

fn rel_title(rel: Rel, lang: Lang) -> &'static str {
    let (en, ja) = match rel {
        Rel::Parent => ("Parent technique", "親テクニック"),
        Rel::Subtechniques => ("Sub-techniques", "サブテクニック"),
        Rel::Techniques => ("Techniques", "テクニック"),
        Rel::Mitigations => ("Mitigations", "緩和策"),
        Rel::DetectionStrategies => ("Detection strategies", "検知戦略"),
        Rel::Analytics => ("Analytics", "分析ルール"),
        Rel::DataComponents => ("Data components", "データコンポーネント"),
        Rel::DataSource => ("Data source", "データソース"),
        Rel::Binaries => ("Windows binaries", "Windows プログラム"),
        Rel::Alerts => ("MDE alerts", "MDE アラート"),
        Rel::Events => ("Windows events", "Windows イベント"),
        Rel::Groups => ("Groups", "攻撃グループ"),
        Rel::Software => ("Software", "ソフトウェア"),
        Rel::Campaigns => ("Campaigns", "キャンペーン"),
        Rel::Assets => ("Assets", "資産"),
    };
    t(lang, en, ja)
}

/// Every argument span of the explanation and its nested parts that points into the input.
fn spans(e: &Explanation, out: &mut Vec<(usize, usize, String)>) {
    if e.decoded {
        return;
    }
    for a in &e.arguments {
        if let Some(m) = &a.meaning
            && a.end > a.start
        {
            out.push((a.start, a.end, m.clone()));
        }
    }
    for n in &e.nested {
        spans(n, out);
    }
}

/// The command line with each explained argument underlined (its meaning as a tooltip).
fn underlined(input: &str, e: &Explanation, technique_spans: &[(usize, usize)]) -> String {
    let mut marks = Vec::new();
    spans(e, &mut marks);
    marks.sort_by_key(|m| (m.0, std::cmp::Reverse(m.1)));
    let chars: Vec<char> = input.chars().collect();
    let mut out = String::new();
    let mut pos = 0;
    for (s, end, meaning) in marks {
        if s < pos || end > chars.len() {
            continue;
        }
        out.push_str(&esc(&chars[pos..s].iter().collect::<String>()));
        let class = if technique_spans.contains(&(s, end)) {
            " class=\"t\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<u{class} title=\"{}\">{}</u>",
            esc(&meaning),
            esc(&chars[s..end].iter().collect::<String>())
        );
        pos = end;
    }
    out.push_str(&esc(&chars[pos.min(chars.len())..]
        .iter()
        .collect::<String>()));
    out
}

fn part(e: &Explanation, lang: Lang, body: &mut String) {
    if let Some(p) = &e.program {
        let _ = write!(
            body,
            "<p><a href=\"/objects/{}?lang={}\"><span class=\"id\">{}</span></a> — {}</p>",
            enc(p),
            code(lang),
            esc(p),
            esc(e.catalogue.as_ref().map_or("", |c| c.summary.as_str()))
        );
    } else if let Some(p) = &e.program_as_written {
        let _ = write!(
            body,
            "<p><span class=\"id\">{}</span> — {}</p>",
            esc(p),
            t(
                lang,
                "not in kb's catalogue",
                "kb のカタログにないプログラム"
            )
        );
    }
    let args: Vec<String> = e
        .arguments
        .iter()
        .filter(|a| a.role != "program" && a.meaning.is_some())
        .map(|a| {
            let shown = match &a.value {
                Some(v) if !a.raw.contains(v.as_str()) => format!("{} {v}", a.raw),
                _ => a.raw.clone(),
            };
            format!(
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                esc(&shown),
                esc(a.meaning.as_deref().unwrap_or(""))
            )
        })
        .collect();
    if !args.is_empty() {
        let _ = write!(body, "<table>{}</table>", args.join(""));
    }
    if !e.assessment.is_empty() {
        body.push_str("<ul>");
        for n in &e.assessment {
            let _ = write!(
                body,
                "<li class=\"note-{}\">{}</li>",
                esc(&n.kind),
                esc(&n.text)
            );
        }
        body.push_str("</ul>");
    }
    for n in &e.nested {
        let _ = write!(
            body,
            "<div style=\"margin-left:1.5rem\"><p>▶ <code>{}</code></p>",
            esc(&attack_kb::text::truncate(&n.input, 200))
        );
        part(n, lang, body);
        body.push_str("</div>");
    }
}

pub async fn explain(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    p: Params,
) -> Response {
    let p = match params(p) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let lang = lang_of(&p, &headers);
    let cmd = p.get("cmd").cloned().unwrap_or_default();
    let mut body = format!(
        "<form action=\"/explain\" method=\"get\"><input type=\"hidden\" name=\"lang\" value=\"{}\">\
         <textarea name=\"cmd\" rows=\"3\" aria-label=\"command line\">{}</textarea>\
         <button type=\"submit\">{}</button></form>",
        code(lang),
        esc(&cmd),
        t(lang, "Explain", "解説")
    );
    let here = format!("/explain?cmd={}", enc(&cmd));
    if cmd.trim().is_empty() || cmd.len() > explain::MAX_INPUT {
        return page(lang, t(lang, "Explain", "解説"), &here, &body);
    }
    let loaded = state.index.load();
    let e = match guarded(|| explain::explain(&loaded.kb, &cmd, lang)) {
        Ok(e) => e,
        Err(e) => return e.into_response(),
    };
    let tspans: Vec<(usize, usize)> = e
        .techniques
        .iter()
        .filter_map(|t| t.span.map(|s| (s.start, s.end)))
        .collect();
    let _ = write!(
        body,
        "<div class=\"cmd\" id=\"line\">{}</div>",
        underlined(&cmd, &e, &tspans)
    );
    body.push_str("<h2>ATT&amp;CK</h2><ol id=\"techniques\">");
    for h in &e.techniques {
        let r = Ref {
            id: h.id.clone(),
            kind: attack_kb::model::Kind::Technique,
            name: h.name.clone(),
            name_ja: h.name_ja.clone(),
            note: None,
        };
        let tactics: Vec<String> = h
            .tactics
            .iter()
            .map(|x| {
                let n = name(&x.name, x.name_ja.as_deref(), lang);
                let mark = if x.shown { "✓" } else { "·" };
                format!("{mark} {} {}", esc(&x.id), esc(&n))
            })
            .collect();
        let _ = write!(
            body,
            "<li>{} <span class=\"kind\">[{}]</span><div class=\"snip\">{}</div><div class=\"kind\">{}</div></li>",
            link(&r, lang),
            esc(&h.confidence),
            esc(&h.reason),
            tactics.join(" · ")
        );
    }
    body.push_str("</ol>");
    part(&e, lang, &mut body);
    if !e.artefacts.is_empty() {
        let _ = write!(
            body,
            "<h2>{}</h2><table>",
            t(lang, "Artefacts", "アーティファクト")
        );
        for a in &e.artefacts {
            let _ = write!(
                body,
                "<tr><td>{}</td><td><code>{}</code></td></tr>",
                esc(&a.kind),
                esc(&a.value)
            );
        }
        body.push_str("</table>");
    }
    if !e.investigate.is_empty() {
        let _ = write!(
            body,
            "<h2>{}</h2><ul>",
            t(lang, "Where to look", "調査のポイント")
        );
        for i in &e.investigate {
            let _ = write!(body, "<li>{}</li>", esc(i));
        }
        body.push_str("</ul>");
    }
    page(lang, t(lang, "Explain", "解説"), &here, &body)
}
