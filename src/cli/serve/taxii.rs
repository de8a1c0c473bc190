//! A read-only TAXII 2.1 server inside `kb serve`: discovery at `/taxii2/`, one API root at
//! `/api/v21/`, and a collection per indexed ATT&CK domain under MITRE's own collection IDs, so
//! that a TAXII client configured for MITRE's server (attack-taxii.mitre.org) only needs another
//! host. Owns the routes, content negotiation (406), TAXII's error shape, its envelopes and
//! headers; the objects, their filters and paging are the library's
//! ([`attack_kb::index::stix_store`]).

use std::collections::HashMap;
use std::sync::Arc;

use attack_kb::explain::Lang;
use attack_kb::index::stix_store::{
    Collection, Entry, Filter, Page, StixStore, Version, timestamp,
};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{AppState, MAX_BODY, Params, guarded, lang_of};

const TAXII: &str = "application/taxii+json;version=2.1";
const API_ROOT: &str = "/api/v21/";
/// Objects per page at most, and when no `limit` is given: the page size of the `stix2`
/// library's TAXII source, so that it pages without being cut short. About 8 MB of Enterprise.
const MAX_PAGE: usize = 5000;

/// The TAXII routes, with and without the trailing slash TAXII's URLs end with.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    let c = "/api/v21/collections/{collection}";
    let routes: [(String, axum::routing::MethodRouter<Arc<AppState>>); 8] = [
        ("/taxii2".into(), get(discovery)),
        ("/api/v21".into(), get(api_root)),
        ("/api/v21/collections".into(), get(collections)),
        (c.into(), get(collection)),
        (format!("{c}/objects"), get(objects)),
        (format!("{c}/objects/{{object}}"), get(object)),
        (format!("{c}/objects/{{object}}/versions"), get(versions)),
        (format!("{c}/manifest"), get(manifest)),
    ];
    let mut r = Router::new();
    for (path, handler) in routes {
        r = r
            .route(&format!("{path}/"), handler.clone().fallback(not_allowed))
            .route(&path, handler.fallback(not_allowed));
    }
    r.route("/taxii2/{*rest}", get(no_route).fallback(not_allowed))
        .route("/api/v21/{*rest}", get(no_route).fallback(not_allowed))
        .layer(axum::middleware::from_fn(negotiate))
}

/// What the client accepts: TAXII's media type, or plain JSON only (curl, SOAR tools).
#[derive(Clone, Copy, PartialEq)]
enum Answer {
    Taxii,
    Json,
}

/// The answer's media type from `Accept`: TAXII 2.1 when it is acceptable (no header, `*/*`,
/// `application/*`, `application/taxii+json` without a version or with 2.1), else
/// `application/json` when that is, else 406. Hand-written: a media range list with one
/// parameter that matters is a few lines, a negotiation crate would not know TAXII's versions.
fn accepted(headers: &HeaderMap) -> Option<Answer> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Some(Answer::Taxii);
    };
    let accept = accept.to_str().ok()?;
    let mut json = false;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(|p| p.trim().to_ascii_lowercase());
        let media = parts.next().unwrap_or_default();
        let params: Vec<String> = parts.map(|p| p.replace(' ', "")).collect();
        let refused = params
            .iter()
            .filter_map(|p| p.strip_prefix("q="))
            .any(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0));
        if refused {
            continue;
        }
        let version = params.iter().find_map(|p| p.strip_prefix("version="));
        match media.as_str() {
            "*/*" | "application/*" => return Some(Answer::Taxii),
            "application/taxii+json" if version.is_none_or(|v| v == "2.1") => {
                return Some(Answer::Taxii);
            }
            "application/json" => json = true,
            _ => {}
        }
    }
    json.then_some(Answer::Json)
}

/// 406 for an `Accept` that allows neither TAXII 2.1 nor JSON; else the answer gets the media
/// type the client asked for.
async fn negotiate(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let lang = lang_of(&HashMap::new(), req.headers());
    let Some(answer) = accepted(req.headers()) else {
        return TaxiiError::new(
            StatusCode::NOT_ACCEPTABLE,
            lang,
            (
                "This server answers TAXII 2.1 only",
                "このサーバーは TAXII 2.1 でのみ応答します",
            ),
            lang.pick(
                "send Accept: application/taxii+json;version=2.1 (or application/json)",
                "Accept: application/taxii+json;version=2.1 (または application/json) を送ってください",
            ),
        )
        .into_response();
    };
    let mut resp = next.run(req).await;
    let media = match answer {
        Answer::Taxii => TAXII,
        Answer::Json => "application/json",
    };
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    resp
}

/// TAXII's error message: `{"title", "description", "http_status"}` with its status.
struct TaxiiError {
    status: StatusCode,
    title: &'static str,
    description: String,
}

impl TaxiiError {
    fn new(
        status: StatusCode,
        lang: Lang,
        title: (&'static str, &'static str),
        description: impl Into<String>,
    ) -> TaxiiError {
        TaxiiError {
            status,
            title: lang.pick(title.0, title.1),
            description: description.into(),
        }
    }

    fn bad_request(lang: Lang, description: String) -> TaxiiError {
        TaxiiError::new(
            StatusCode::BAD_REQUEST,
            lang,
            ("Bad request", "不正なリクエスト"),
            description,
        )
    }

    fn not_found(lang: Lang, description: String) -> TaxiiError {
        TaxiiError::new(
            StatusCode::NOT_FOUND,
            lang,
            ("Not found", "見つかりません"),
            description,
        )
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "title": self.title,
            "description": self.description,
            "http_status": self.status.as_str(),
        });
        // Also where `negotiate` answers before any route (its 406).
        (
            self.status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(TAXII))],
            axum::Json(body),
        )
            .into_response()
    }
}

/// A library error (a damaged index) in TAXII's shape.
fn failed(lang: Lang, e: super::ApiError) -> TaxiiError {
    TaxiiError::new(
        e.status,
        lang,
        ("The index cannot answer", "索引から応答できません"),
        e.message,
    )
}

async fn no_route(headers: HeaderMap) -> TaxiiError {
    let lang = lang_of(&HashMap::new(), &headers);
    TaxiiError::not_found(
        lang,
        lang.pick(
            "no such TAXII resource; start at /taxii2/",
            "その TAXII リソースはありません。/taxii2/ から辿ってください",
        )
        .into(),
    )
}

async fn not_allowed(headers: HeaderMap) -> TaxiiError {
    let lang = lang_of(&HashMap::new(), &headers);
    TaxiiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        lang,
        ("Method not allowed", "許可されていないメソッドです"),
        lang.pick(
            "this TAXII server is read-only: use GET",
            "この TAXII サーバーは読み取り専用です。GET を使ってください",
        ),
    )
}

fn body(value: serde_json::Value) -> Response {
    axum::Json(value).into_response()
}

async fn discovery(headers: HeaderMap) -> Response {
    let lang = lang_of(&HashMap::new(), &headers);
    // Relative: right behind a proxy that terminates TLS or maps another host name, where an
    // absolute URL made from this request's Host would not be; clients resolve it against the
    // discovery URL.
    body(serde_json::json!({
        "title": "attack-kb TAXII 2.1",
        "description": lang.pick(
            "MITRE ATT&CK from the bundles this kb indexed, offline and read-only",
            "この kb が索引した MITRE ATT&CK のバンドル (オフライン、読み取り専用)",
        ),
        "default": API_ROOT,
        "api_roots": [API_ROOT],
    }))
}

async fn api_root(headers: HeaderMap) -> Response {
    let lang = lang_of(&HashMap::new(), &headers);
    body(serde_json::json!({
        "title": "MITRE ATT&CK (attack-kb)",
        "description": lang.pick(
            "One collection per ATT&CK domain indexed, under MITRE's collection IDs",
            "索引した ATT&CK ドメインごとに 1 コレクション (ID は MITRE のものと同じ)",
        ),
        "versions": [TAXII],
        "max_content_length": MAX_BODY,
    }))
}

/// A collection resource: its STIX versions as media types, and where its objects come from.
fn describe(state: &AppState, c: &Collection, lang: Lang) -> serde_json::Value {
    let loaded = state.index.load();
    let version = loaded
        .kb
        .manifest
        .sources
        .iter()
        .find(|s| s.domain == c.domain)
        .map_or("?", |s| s.version.as_str());
    let mut specs = c.spec_versions.clone();
    if state.taxii_ja && c.language_content > 0 && !specs.iter().any(|s| s == "2.1") {
        specs.push("2.1".into());
    }
    let spec_list = specs.join(", ");
    let mut description = match lang {
        Lang::En => format!(
            "{} {version}: the {} objects of the bundle kb indexed (STIX {spec_list}), as \
             written there",
            c.title, c.objects
        ),
        Lang::Ja => format!(
            "{} {version}: kb が索引したバンドルの {} オブジェクト (STIX {spec_list}) をそのまま",
            c.title, c.objects
        ),
    };
    if state.taxii_ja && c.language_content > 0 {
        description.push_str(&match lang {
            Lang::En => format!(
                "; with {} language-content objects holding kb's Japanese names and summaries",
                c.language_content
            ),
            Lang::Ja => format!(
                "。kb の日本語名と要約を持つ language-content オブジェクト {} 件付き",
                c.language_content
            ),
        });
    }
    serde_json::json!({
        "id": c.id,
        "title": c.title,
        "description": description,
        "can_read": true,
        "can_write": false,
        "media_types": specs
            .iter()
            .map(|s| format!("application/stix+json;version={s}"))
            .collect::<Vec<_>>(),
    })
}

async fn collections(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let lang = lang_of(&HashMap::new(), &headers);
    let loaded = state.index.load();
    let list: Vec<serde_json::Value> = loaded
        .kb
        .stix()
        .collections()
        .map(|c| describe(&state, c, lang))
        .collect();
    body(serde_json::json!({ "collections": list }))
}

/// The collection of the path, or 404.
fn find<'a>(store: &'a StixStore, id: &str, lang: Lang) -> Result<&'a Collection, TaxiiError> {
    store.collection(id).ok_or_else(|| {
        TaxiiError::not_found(
            lang,
            match lang {
                Lang::En => format!(
                    "no collection {id}; the collections are listed at {API_ROOT}collections/"
                ),
                Lang::Ja => format!(
                    "コレクション {id} はありません。一覧は {API_ROOT}collections/ にあります"
                ),
            },
        )
    })
}

async fn collection(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&HashMap::new(), &headers);
    let loaded = state.index.load();
    match find(loaded.kb.stix(), &id, lang) {
        Ok(c) => body(describe(&state, c, lang)),
        Err(e) => e.into_response(),
    }
}

/// A request's parameters and language, or TAXII's 400.
fn request(p: Params, headers: &HeaderMap) -> Result<(HashMap<String, String>, Lang), TaxiiError> {
    match p {
        Ok(axum::extract::Query(p)) => {
            let lang = lang_of(&p, headers);
            Ok((p, lang))
        }
        Err(e) => {
            let lang = lang_of(&HashMap::new(), headers);
            let why = lang.pick(
                "the query string cannot be read",
                "クエリ文字列を読み取れません",
            );
            Err(TaxiiError::bad_request(
                lang,
                format!("{why}: {}", e.body_text()),
            ))
        }
    }
}

/// Which filters an endpoint takes (TAXII 2.1's table of URL parameters for each endpoint).
#[derive(Clone, Copy, PartialEq)]
enum Takes {
    /// Get Objects and Get Manifest: id, type, version, spec_version.
    All,
    /// Get An Object: version and spec_version.
    Versions,
    /// Get Object Versions: spec_version only (every version is listed).
    SpecVersion,
}

/// The filter, start and page size a request asks for.
fn selection(
    p: &HashMap<String, String>,
    lang: Lang,
    takes: Takes,
    taxii_ja: bool,
) -> Result<(Filter, usize, usize), TaxiiError> {
    let list = |key: &str| -> Vec<String> {
        p.get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let bad = |what: &str, value: &str, en: &str, ja: &str| {
        TaxiiError::bad_request(lang, format!("{what}={value:?}: {}", lang.pick(en, ja)))
    };
    let mut filter = Filter {
        spec_versions: list("match[spec_version]"),
        language_content: taxii_ja,
        ..Filter::default()
    };
    if takes == Takes::All {
        filter.ids = list("match[id]");
        filter.types = list("match[type]");
    }
    match takes {
        Takes::SpecVersion => filter.versions = vec![Version::All],
        _ => {
            for v in list("match[version]") {
                filter.versions.push(Version::parse(&v).ok_or_else(|| {
                    bad(
                        "match[version]",
                        &v,
                        "expected last, first, all or a timestamp such as 2025-04-15T19:58:18.483Z",
                        "last、first、all、または 2025-04-15T19:58:18.483Z のような時刻を指定してください",
                    )
                })?);
            }
        }
    }
    if let Some(t) = p.get("added_after") {
        filter.added_after = Some(timestamp(t).ok_or_else(|| {
            bad(
                "added_after",
                t,
                "expected a timestamp such as 2025-04-15T19:58:18.483Z",
                "2025-04-15T19:58:18.483Z のような時刻を指定してください",
            )
        })?);
    }
    let limit = match p.get("limit") {
        None => MAX_PAGE,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if n > 0 => n.min(MAX_PAGE),
            _ => {
                return Err(bad(
                    "limit",
                    l,
                    "expected a positive whole number",
                    "1 以上の整数を指定してください",
                ));
            }
        },
    };
    // `next` is the position in the selection where the page starts: stateless, so it needs no
    // session store and survives a reload (which may shift it if the collection changed).
    let start = match p.get("next") {
        None => 0,
        Some(n) => n.parse::<usize>().map_err(|_| {
            bad(
                "next",
                n,
                "not a token this server gave; start again without next",
                "このサーバーが返したトークンではありません。next なしでやり直してください",
            )
        })?,
    };
    Ok((filter, start, limit))
}

/// The date-added headers of a page, and its `more`/`next` members.
fn paged(
    page: &Page,
) -> (
    Vec<(HeaderName, HeaderValue)>,
    serde_json::Map<String, serde_json::Value>,
) {
    let mut headers = Vec::new();
    let first = page.entries.first().map(|e| &e.date_added);
    let last = page.entries.last().map(|e| &e.date_added);
    for (name, value) in [
        ("x-taxii-date-added-first", first),
        ("x-taxii-date-added-last", last),
    ] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.push((HeaderName::from_static(name), v));
        }
    }
    let mut members = serde_json::Map::new();
    members.insert("more".into(), page.next.is_some().into());
    if let Some(n) = page.next {
        members.insert("next".into(), n.to_string().into());
    }
    (headers, members)
}

/// An envelope of the page's objects, each one's bytes as in the bundle: the members are
/// serialized, the objects array is spliced in as it is stored.
fn envelope(store: &StixStore, collection: &str, page: &Page) -> Result<Response, super::ApiError> {
    let objects = guarded(|| store.objects_json(collection, &page.entries))?;
    let (headers, members) = paged(page);
    let head = serde_json::to_vec(&members).map_err(|e| {
        super::ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    })?;
    // `{"more":…}` minus its closing brace, then the objects.
    let mut out = Vec::with_capacity(head.len() + objects.len() + 16);
    out.extend_from_slice(&head[..head.len() - 1]);
    out.extend_from_slice(b",\"objects\":");
    out.extend_from_slice(&objects);
    out.push(b'}');
    let mut resp = out.into_response();
    resp.headers_mut().extend(headers);
    Ok(resp)
}

/// Runs one paged TAXII read: parameters, the collection, the page, and what `answer` makes of
/// it; any failure in TAXII's error shape.
fn read(
    state: &AppState,
    collection: &str,
    p: Params,
    headers: &HeaderMap,
    takes: Takes,
    object: Option<&str>,
    answer: impl FnOnce(&StixStore, &Page) -> Result<Response, super::ApiError>,
) -> Response {
    let run = || -> Result<Response, TaxiiError> {
        let (p, lang) = request(p, headers)?;
        let loaded = state.index.load();
        let store = loaded.kb.stix();
        let c = find(store, collection, lang)?;
        let (mut filter, start, limit) = selection(&p, lang, takes, state.taxii_ja)?;
        if let Some(id) = object {
            let known = guarded(|| store.contains(&c.id, id, state.taxii_ja))
                .map_err(|e| failed(lang, e))?;
            if !known {
                return Err(TaxiiError::not_found(
                    lang,
                    match lang {
                        Lang::En => format!("the collection {} holds no object {id}", c.title),
                        Lang::Ja => {
                            format!("コレクション {} にオブジェクト {id} はありません", c.title)
                        }
                    },
                ));
            }
            filter.ids = vec![id.to_string()];
        }
        let page =
            guarded(|| store.page(&c.id, &filter, start, limit)).map_err(|e| failed(lang, e))?;
        answer(store, &page).map_err(|e| failed(lang, e))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

async fn objects(
    State(state): State<Arc<AppState>>,
    Path(c): Path<String>,
    headers: HeaderMap,
    p: Params,
) -> Response {
    read(&state, &c, p, &headers, Takes::All, None, |store, page| {
        envelope(store, &c, page)
    })
}

async fn object(
    State(state): State<Arc<AppState>>,
    Path((c, id)): Path<(String, String)>,
    headers: HeaderMap,
    p: Params,
) -> Response {
    read(
        &state,
        &c,
        p,
        &headers,
        Takes::Versions,
        Some(&id),
        |store, page| envelope(store, &c, page),
    )
}

async fn versions(
    State(state): State<Arc<AppState>>,
    Path((c, id)): Path<(String, String)>,
    headers: HeaderMap,
    p: Params,
) -> Response {
    read(
        &state,
        &c,
        p,
        &headers,
        Takes::SpecVersion,
        Some(&id),
        |_, page| listing(page, "versions", |e| e.version.clone().into()),
    )
}

async fn manifest(
    State(state): State<Arc<AppState>>,
    Path(c): Path<String>,
    headers: HeaderMap,
    p: Params,
) -> Response {
    read(&state, &c, p, &headers, Takes::All, None, |_, page| {
        listing(page, "objects", |e| {
            serde_json::json!({
                "id": e.id,
                "date_added": e.date_added,
                "version": e.version,
                "media_type": format!("application/stix+json;version={}", e.spec_version),
            })
        })
    })
}

/// A page as `{"more", "next", <member>: [...]}` with its date-added headers.
fn listing(
    page: &Page,
    member: &str,
    item: impl Fn(&Entry) -> serde_json::Value,
) -> Result<Response, super::ApiError> {
    let (headers, mut members) = paged(page);
    members.insert(
        member.into(),
        page.entries
            .iter()
            .map(|e| item(e))
            .collect::<Vec<_>>()
            .into(),
    );
    let mut resp = axum::Json(members).into_response();
    resp.headers_mut().extend(headers);
    Ok(resp)
}
