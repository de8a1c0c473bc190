//! `kb serve`: the library's search, show, explain and Navigator layers over HTTP, for SOAR
//! playbooks, SIEM enrichment, chat bots and colleagues' browsers. A versioned JSON API with the
//! CLI's shapes, a read-only TAXII 2.1 server of the indexed STIX objects, a server-rendered
//! page (no JavaScript), the MCP endpoint of `kb mcp` at `/mcp`
//! for loopback peers, Prometheus metrics, structured access logs, and reload without downtime:
//! the opened index sits behind an `ArcSwap`, so a request in flight finishes on the index it
//! started with while the next one gets the new index. Owns no search logic: every answer is a
//! call into attack_kb.

mod mcp_http;
mod metrics;
mod page;
mod taxii;

use attack_kb::message::Message;
use attack_kb::msg;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use attack_kb::explain::{self, Lang};
use attack_kb::index::{self, KbIndex};
use attack_kb::layer;
use attack_kb::model::Kind;
use attack_kb::query::{self, SearchRequest};
use attack_kb::{Error, Result, service};
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Args;
use serde::Serialize;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on; loopback unless you say otherwise (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:7474")]
    listen: SocketAddr,
    /// Also reload when the index's CURRENT pointer or the bundle file changes (SIGHUP always
    /// reloads).
    #[arg(long)]
    watch: bool,
    /// Let pages of this origin call the API from a browser (CORS); off unless given.
    #[arg(long)]
    cors: Option<String>,
    /// Do not write a JSON access log line per request to stderr.
    #[arg(long)]
    no_access_log: bool,
    /// Seconds a request may take, reading its body included, before it is answered 408.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    request_timeout: u64,
    /// Also serve kb's Japanese names and summaries in the TAXII collections, as STIX 2.1
    /// language-content objects (lang "ja") pointing at the ATT&CK objects.
    #[arg(long)]
    taxii_ja: bool,
}

/// One line on stderr; a closed stderr is no reason for the server to stop (eprintln! panics).
macro_rules! log {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// What a reload reopens.
#[derive(Clone)]
pub enum Source {
    Dir(PathBuf),
    Bundle(PathBuf),
}

/// Caps that keep one request cheap whatever it asks.
const MAX_QUERY: usize = 4096;
pub(crate) const MAX_LIMIT: usize = 100;
pub(crate) const MAX_BODY: usize = 64 * 1024;

pub(crate) struct Loaded {
    pub kb: KbIndex,
    /// Counts reloads: 1 for the index the server started with.
    pub generation: u64,
    /// Answers of /v1/search already given from this index. Enrichment lookups repeat all day
    /// (the same program, the same alert title), and an opened index never changes: a reload
    /// brings a new `Loaded`, and with it an empty cache.
    searches: std::sync::Mutex<Cache>,
}

/// Answers by request, and their total size (kept, not summed on every miss).
#[derive(Default)]
struct Cache {
    answers: HashMap<String, axum::body::Bytes>,
    bytes: usize,
}

impl Loaded {
    fn new(kb: KbIndex, generation: u64) -> Loaded {
        Loaded {
            kb,
            generation,
            searches: std::sync::Mutex::new(Cache::default()),
        }
    }
}

/// Bytes of answers kept per index; past that the cache starts again (bounds the memory).
const CACHED_BYTES: usize = 16 << 20;

pub(crate) struct AppState {
    pub index: ArcSwap<Loaded>,
    source: Source,
    pub metrics: metrics::Metrics,
    access_log: bool,
    /// TAXII collections also hold our Japanese language-content objects.
    taxii_ja: bool,
    /// Where MCP's diff tool looks up releases by version.
    pub places: service::Places,
    /// The language of the server's own lines on stderr and of MCP answers that name none (the
    /// pages and the API choose per request).
    pub lang: Lang,
}

pub fn run(
    args: &ServeArgs,
    kb: KbIndex,
    source: Source,
    places: service::Places,
    lang: Lang,
) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(msg!("serve.runtime", detail = e)))?;
    runtime.block_on(serve(args, kb, source, places, lang))
}

async fn serve(
    args: &ServeArgs,
    kb: KbIndex,
    source: Source,
    places: service::Places,
    lang: Lang,
) -> Result<ExitCode> {
    let state = Arc::new(AppState {
        index: ArcSwap::from_pointee(Loaded::new(kb, 1)),
        source,
        metrics: metrics::Metrics::default(),
        access_log: !args.no_access_log,
        taxii_ja: args.taxii_ja,
        places,
        lang,
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Error::Other(msg!("serve.listen", address = args.listen, detail = e)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Other(e.to_string().into()))?;
    log!("{}", msg!("serve.serving", address = addr).render(lang));
    tokio::spawn(reload_on_signal(state.clone()));
    if args.watch {
        tokio::spawn(watch(state.clone()));
    }
    let app = router(
        state,
        args.cors.as_deref(),
        Duration::from_secs(args.request_timeout),
    )?;
    // The peer's address: /mcp answers loopback peers only.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown(lang))
    .await
    .map_err(|e| Error::Other(msg!("serve.stopped", detail = e)))?;
    log!("{}", msg!("serve.stopped_cleanly").render(lang));
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn router(
    state: Arc<AppState>,
    cors: Option<&str>,
    timeout: Duration,
) -> Result<Router> {
    use tower_http::set_header::SetResponseHeaderLayer;
    let api = Router::new()
        .route("/v1/search", get(api_search))
        .route("/v1/objects/{key}", get(api_object))
        .route("/v1/explain", get(api_explain_get).post(api_explain_post))
        .route("/v1/layer", get(api_layer))
        .route("/v1/meta", get(api_meta))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .route(
            "/mcp",
            axum::routing::post(mcp_http::post)
                .layer(DefaultBodyLimit::max(super::mcp::MAX_MESSAGE))
                .layer(axum::middleware::from_fn(mcp_http::gate)),
        );
    let pages = Router::new()
        .route("/", get(page::home))
        .route("/search", get(page::search))
        .route("/objects/{key}", get(page::object))
        .route("/explain", get(page::explain))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                 base-uri 'none'; frame-ancestors 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ));
    let mut app = api
        .merge(pages)
        .merge(taxii::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(valid_query))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state);
    if let Some(origin) = cors {
        let origin = HeaderValue::from_str(origin)
            .map_err(|_| Error::Other(msg!("serve.bad_cors", origin = format!("{origin:?}"))))?;
        app = app.layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(origin)
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::CONTENT_TYPE])
                // A page on a public site (Navigator's `#layerURL=`) calling a kb on loopback or
                // the LAN: Chrome's Private Network Access preflight asks for this leave too.
                .allow_private_network(true),
        );
    }
    Ok(app)
}

/// A query string must be valid percent-encoding of UTF-8: anything else is a client error,
/// not text to search for.
async fn valid_query(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if let Some(q) = req.uri().query() {
        let b = q.as_bytes();
        let mut bytes = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'%' => {
                    let hex = b
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok());
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(v) => bytes.push(v),
                        None => {
                            return ApiError::new(
                                StatusCode::BAD_REQUEST,
                                "bad_query",
                                "the query string has a bad percent-encoding",
                            )
                            .into_response();
                        }
                    }
                    i += 3;
                }
                c => {
                    bytes.push(c);
                    i += 1;
                }
            }
        }
        if std::str::from_utf8(&bytes).is_err() {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_utf8",
                "the query string is not UTF-8",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Access log (one JSON line per request) and metrics, for every route.
async fn observe(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let resp = next.run(req).await;
    let elapsed = started.elapsed();
    state
        .metrics
        .observe(&route, resp.status().as_u16(), elapsed);
    if state.access_log {
        #[derive(Serialize)]
        struct Line<'a> {
            ts: String,
            method: &'a str,
            path: &'a str,
            route: &'a str,
            status: u16,
            ms: f64,
        }
        let line = Line {
            ts: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            method: method.as_str(),
            path: &path,
            route: &route,
            status: resp.status().as_u16(),
            ms: elapsed.as_secs_f64() * 1000.0,
        };
        if let Ok(s) = serde_json::to_string(&line) {
            use std::io::Write;
            let _ = writeln!(std::io::stderr().lock(), "{s}");
        }
    }
    resp
}

/// `{ "error": { "code", "message" } }` with its status.
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        match e {
            Error::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m.to_string()),
            Error::Index(m) | Error::IndexOutdated(m) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "index_unavailable",
                m.to_string(),
            ),
            e => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, axum::Json(body)).into_response()
    }
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "no such route; see / or /v1/meta",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

pub(crate) type Params = std::result::Result<Query<HashMap<String, String>>, QueryRejection>;

pub(crate) fn params(p: Params) -> std::result::Result<HashMap<String, String>, ApiError> {
    p.map(|Query(m)| m)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text()))
}

/// Runs a library call, turning a panic (a damaged index file) into an error response, so one
/// bad request never takes a worker down with it.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T>) -> std::result::Result<T, ApiError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(ApiError::from),
        Err(_) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            msg!("index.failed_answering").to_string(),
        )),
    }
}

pub(crate) fn lang_of(params: &HashMap<String, String>, headers: &HeaderMap) -> Lang {
    match params.get("lang").map(String::as_str) {
        Some("ja") => return Lang::Ja,
        Some("en") => return Lang::En,
        _ => {}
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // The first language the browser names decides (q-values are not weighed: kb has two).
    if accept.trim_start().to_ascii_lowercase().starts_with("ja") {
        Lang::Ja
    } else {
        Lang::En
    }
}

/// A search request from query parameters, validated like the CLI's options.
pub(crate) fn search_request(
    p: &HashMap<String, String>,
) -> std::result::Result<SearchRequest, ApiError> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", m);
    let q = p.get("q").cloned().unwrap_or_default();
    if q.len() > MAX_QUERY {
        return Err(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "query_too_long",
            format!("q holds {} bytes; at most {MAX_QUERY}", q.len()),
        ));
    }
    let limit = match p.get("limit") {
        None => 10,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| bad(format!("limit must be a number from 1 to {MAX_LIMIT}")))?,
    };
    let mut kinds = Vec::new();
    for k in p.get("kind").map(|k| k.split(',')).into_iter().flatten() {
        kinds.push(Kind::parse(k).ok_or_else(|| bad(format!("unknown kind {k:?}")))?);
    }
    Ok(SearchRequest {
        query: q,
        limit,
        kinds,
        tactic: p.get("tactic").filter(|t| !t.is_empty()).cloned(),
        domain: p.get("domain").filter(|t| !t.is_empty()).cloned(),
    })
}

async fn api_search(State(state): State<Arc<AppState>>, p: Params) -> Response {
    let p = match params(p) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let req = match search_request(&p) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let mut key: Vec<(&String, &String)> = p.iter().collect();
    key.sort();
    let key = format!("{key:?}");
    let loaded = state.index.load();
    let cached = loaded
        .searches
        .lock()
        .ok()
        .and_then(|c| c.answers.get(&key).cloned());
    let body = match cached {
        Some(b) => b,
        None => {
            let resp = match guarded(|| query::search(&loaded.kb, &req)) {
                Ok(r) => r,
                Err(e) => return e.into_response(),
            };
            let Ok(bytes) = serde_json::to_vec(&resp) else {
                return json::<()>(Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "cannot write the answer",
                )));
            };
            let bytes = axum::body::Bytes::from(bytes);
            if let Ok(mut c) = loaded.searches.lock() {
                if c.bytes + bytes.len() > CACHED_BYTES {
                    *c = Cache::default();
                }
                c.bytes += bytes.len();
                if let Some(old) = c.answers.insert(key, bytes.clone()) {
                    c.bytes -= old.len();
                }
            }
            bytes
        }
    };
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn api_object(State(state): State<Arc<AppState>>, Path(key): Path<String>) -> Response {
    let loaded = state.index.load();
    json(guarded(|| query::show(&loaded.kb, &key)))
}

fn explain_line(
    state: &AppState,
    line: &str,
    lang: Lang,
) -> std::result::Result<explain::Explanation, ApiError> {
    if line.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "give the command line as cmd= (GET) or as the body (POST)",
        ));
    }
    let loaded = state.index.load();
    guarded(|| explain::explain(&loaded.kb, line, lang))
}

async fn api_explain_get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    p: Params,
) -> Response {
    let answer = params(p).and_then(|p| {
        let cmd = p.get("cmd").cloned().unwrap_or_default();
        if cmd.len() > explain::MAX_INPUT {
            return Err(ApiError::new(
                StatusCode::URI_TOO_LONG,
                "query_too_long",
                "cmd is too long; POST it instead",
            ));
        }
        explain_line(&state, &cmd, lang_of(&p, &headers))
    });
    json(answer)
}

/// The body is the command line as text, or JSON `{"cmd": "...", "lang": "ja"}`.
async fn api_explain_post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    p: Params,
    body: axum::body::Bytes,
) -> Response {
    let answer = params(p).and_then(|p| {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let (cmd, lang) = if is_json {
            #[derive(serde::Deserialize)]
            struct Body {
                cmd: String,
                #[serde(default)]
                lang: Option<String>,
            }
            let b: Body = serde_json::from_slice(&body).map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_json",
                    format!("expected {{\"cmd\": \"...\"}}: {e}"),
                )
            })?;
            let mut p = p.clone();
            if let Some(l) = b.lang {
                p.insert("lang".into(), l);
            }
            (b.cmd, lang_of(&p, &headers))
        } else {
            let text = std::str::from_utf8(&body).map_err(|_| {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_utf8", "the body is not UTF-8")
            })?;
            (
                text.trim_end_matches(['\r', '\n']).to_string(),
                lang_of(&p, &headers),
            )
        };
        explain_line(&state, &cmd, lang)
    });
    json(answer)
}

/// An ATT&CK Navigator layer of one selection, given like `kb layer`'s options: `group`,
/// `software`, `tactic`, `search`, `explain` (command lines, one a line) or `ids`
/// (comma-separated); with `domain`, `limit` and `lang`. Navigator loads it by URL
/// (`#layerURL=`) when the server is started with `--cors` for Navigator's origin.
async fn api_layer(State(state): State<Arc<AppState>>, headers: HeaderMap, p: Params) -> Response {
    let answer = params(p).and_then(|p| {
        let request = layer_request(&p, lang_of(&p, &headers))?;
        let loaded = state.index.load();
        guarded(|| layer::build(&loaded.kb, &request)).map(|b| b.layer)
    });
    json(answer)
}

/// A layer request from query parameters, validated like `kb layer`'s options.
fn layer_request(
    p: &HashMap<String, String>,
    lang: Lang,
) -> std::result::Result<layer::LayerRequest, ApiError> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", m);
    const SELECTIONS: [&str; 6] = ["group", "software", "tactic", "search", "explain", "ids"];
    let given: Vec<(&str, &String)> = SELECTIONS
        .iter()
        .filter_map(|k| p.get(*k).filter(|v| !v.trim().is_empty()).map(|v| (*k, v)))
        .collect();
    let [(key, value)] = given[..] else {
        return Err(bad(format!(
            "give exactly one of {}, e.g. /v1/layer?group=APT29",
            SELECTIONS.join(", ")
        )));
    };
    let cap = if key == "explain" {
        explain::MAX_INPUT
    } else {
        MAX_QUERY
    };
    if value.len() > cap {
        return Err(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "query_too_long",
            format!("{key} holds {} bytes; at most {cap}", value.len()),
        ));
    }
    let selection = match key {
        "group" => layer::Selection::Group(value.clone()),
        "software" => layer::Selection::Software(value.clone()),
        "tactic" => layer::Selection::Tactic(value.clone()),
        "search" => layer::Selection::Search(value.clone()),
        "explain" => layer::Selection::Commands(value.lines().map(str::to_string).collect()),
        _ => layer::Selection::Ids(value.split(',').map(str::to_string).collect()),
    };
    let limit = match p.get("limit") {
        None => layer::SEARCH_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| bad(format!("limit must be a number from 1 to {MAX_LIMIT}")))?,
    };
    Ok(layer::LayerRequest {
        selection,
        domain: p.get("domain").filter(|d| !d.is_empty()).cloned(),
        lang,
        limit,
    })
}

async fn api_meta(State(state): State<Arc<AppState>>) -> Response {
    let loaded = state.index.load();
    let body = serde_json::json!({
        "manifest": loaded.kb.manifest,
        "generation": loaded.generation,
        "kb_version": env!("CARGO_PKG_VERSION"),
    });
    axum::Json(body).into_response()
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let g = state.index.load().generation;
    axum::Json(serde_json::json!({ "status": "ok", "generation": g })).into_response()
}

fn json<T: Serialize>(r: std::result::Result<T, ApiError>) -> Response {
    match r {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Opens the source again and swaps it in; a broken index is refused and the old one stays.
fn reload(state: &AppState) -> std::result::Result<u64, String> {
    let open = || -> Result<KbIndex> {
        let root = match &state.source {
            Source::Dir(d) => d.clone(),
            Source::Bundle(b) => index::pack::open(b, &index::pack::default_cache())?,
        };
        let kb = KbIndex::open(&root)?;
        // Used once before it serves: a damaged file fails here, not in a request.
        query::search(
            &kb,
            &SearchRequest {
                query: "T1059 schtasks 常設".into(),
                limit: 5,
                ..Default::default()
            },
        )?;
        Ok(kb)
    };
    let kb = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(open)) {
        Ok(Ok(kb)) => kb,
        Ok(Err(e)) => return Err(e.render(state.lang)),
        Err(_) => return Err(msg!("serve.new_index_damaged").render(state.lang)),
    };
    let generation = state.index.load().generation + 1;
    state.index.store(Arc::new(Loaded::new(kb, generation)));
    state.metrics.set_generation(generation);
    Ok(generation)
}

fn log_reload(why: Message, r: std::result::Result<u64, String>, lang: Lang) {
    let m = match r {
        Ok(g) => msg!("serve.reloaded", generation = g).with("why", why),
        Err(e) => msg!("serve.reload_refused", detail = e).with("why", why),
    };
    log!("{}", m.render(lang));
}

async fn reload_on_signal(state: Arc<AppState>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hup.recv().await.is_some() {
        let s = state.clone();
        let r = tokio::task::spawn_blocking(move || reload(&s))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        log_reload("SIGHUP".into(), r, state.lang);
    }
}

/// What tells that the source changed: CURRENT's content, or the bundle's size and time.
fn fingerprint(source: &Source) -> Option<String> {
    match source {
        Source::Dir(d) => std::fs::read_to_string(d.join("CURRENT")).ok(),
        Source::Bundle(b) => std::fs::metadata(b)
            .ok()
            .map(|m| format!("{}-{:?}", m.len(), m.modified().ok())),
    }
}

async fn watch(state: Arc<AppState>) {
    let mut last = fingerprint(&state.source);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = fingerprint(&state.source);
        if now.is_some() && now != last {
            last = now;
            let s = state.clone();
            let r = tokio::task::spawn_blocking(move || reload(&s))
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
            log_reload(msg!("serve.index_changed"), r, state.lang);
        }
    }
}

async fn shutdown(lang: Lang) {
    use tokio::signal::unix::{SignalKind, signal};
    let term = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    log!("{}", msg!("serve.shutting_down").render(lang));
}
