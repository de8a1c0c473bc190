//! The Model Context Protocol frontend: `kb mcp` (one JSON-RPC message a line on standard
//! input and output) and serve's `/mcp` (Streamable HTTP, one message per POST) share this
//! module's dispatcher and tool table, so both answer and fail alike. A tool's answer is the
//! CLI's `--json` (the library's serde types) as structured content, its text, and the text the
//! CLI prints, in the language asked. Owns no search logic and no HTTP: every answer is a call
//! into attack_kb, and serve owns the route.
//!
//! The JSON-RPC is written here rather than taken from the rmcp SDK: rmcp (3.11) drops a line
//! that is not JSON, and one over its length cap, without a word, where JSON-RPC 2.0 answers
//! -32700 and a client (or the person debugging it) learns what went wrong. A tools-only server
//! is four methods (initialize, ping, tools/list, tools/call), and one dispatcher over bytes
//! serves stdio and HTTP with the same errors.

use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use attack_kb::index::KbIndex;
use attack_kb::model::Kind;
use attack_kb::query::{self, SearchRequest};
use attack_kb::source::curated::Curated;
use attack_kb::{Error, Result, msg};
use attack_kb::{diff, explain, layer, service};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::serve::MAX_LIMIT;
use super::{Lang, render, render_diff, render_explain};

/// Protocol revisions this server speaks, newest first: the tools part is the same in all.
pub(crate) const PROTOCOL_VERSIONS: &[&str] =
    &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// One message longer than this is refused (a pasted log fits; an endless line does not).
pub(crate) const MAX_MESSAGE: usize = 1 << 20;

pub(crate) const PARSE_ERROR: i64 = -32700;
pub(crate) const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
const INTERNAL_ERROR: i64 = -32603;

/// A JSON-RPC error: its code and a message that says what to send instead.
struct RpcError {
    code: i64,
    message: String,
}

fn invalid_params(message: impl Into<String>) -> RpcError {
    RpcError {
        code: INVALID_PARAMS,
        message: message.into(),
    }
}

/// What a tool answers: the CLI's JSON (as text, and read back) and the text the CLI prints.
struct Answer {
    json_text: String,
    json: Value,
    text: Option<String>,
}

impl Answer {
    /// The CLI's `--json` of `value`. Written to text first, as the CLI does: a score (f32)
    /// then reads back as the same decimal the CLI prints, not as its widened f64.
    fn json<T: Serialize>(value: &T) -> Result<Answer> {
        let json_text =
            serde_json::to_string(value).map_err(|e| Error::Other(e.to_string().into()))?;
        let json =
            serde_json::from_str(&json_text).map_err(|e| Error::Other(e.to_string().into()))?;
        Ok(Answer {
            json_text,
            json,
            text: None,
        })
    }

    /// Adds the CLI's text output (written by one of the render functions).
    fn with_text(mut self, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Answer {
        let mut bytes = Vec::new();
        if write(&mut bytes).is_ok() {
            self.text = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        self
    }
}

/// What a tool call may read: the opened index, and the places where `kb diff` looks up
/// releases by version.
pub(crate) struct Ctx<'a> {
    pub kb: &'a KbIndex,
    pub places: &'a service::Places,
}

/// One tool: a name, what it is for (read by the model that picks it), the JSON schema of its
/// arguments and the library call that answers. Adding a tool is one entry in [`TOOLS`].
struct Tool {
    name: &'static str,
    description: &'static str,
    schema: fn() -> Value,
    call: fn(&Ctx, &Arguments) -> std::result::Result<Answer, ToolError>,
}

/// Why a call did not answer: bad arguments (a JSON-RPC error), or the library's error (a tool
/// result marked as an error, so that the model reads it and can try again).
enum ToolError {
    Arguments(RpcError),
    Library(Error),
}

impl From<RpcError> for ToolError {
    fn from(e: RpcError) -> ToolError {
        ToolError::Arguments(e)
    }
}

impl From<Error> for ToolError {
    fn from(e: Error) -> ToolError {
        ToolError::Library(e)
    }
}

const TOOLS: &[Tool] = &[
    Tool {
        name: "search",
        description: "Search MITRE ATT&CK (techniques, tactics, groups, software, mitigations, \
                      campaigns, detection strategies) and kb's Windows binaries and Microsoft \
                      Defender for Endpoint alerts by ID, English or Japanese name, alias, typo, \
                      alert title or a whole command line. Answers like `kb search --json`. / \
                      ATT&CK と Windows バイナリ・MDE アラートを ID、日英の名前、別名、アラート名、\
                      コマンドラインで検索します。",
        schema: search_schema,
        call: search,
    },
    Tool {
        name: "show",
        description: "The full record of one ID or name (T1053.005, TA0003, G0016, schtasks.exe, \
                      Cozy Bear, 常設): description, tactics, platforms, sub-techniques, \
                      detections, mitigations, groups, software, binaries and alerts. Answers like \
                      `kb show --json`; a revoked ID answers with its replacement. / ID または名前\
                      の詳細 (説明、戦術、検知、緩和策、関連するグループ・ソフトウェア) を表示します。",
        schema: show_schema,
        call: show,
    },
    Tool {
        name: "explain",
        description: "Explain one command line (or PowerShell script) seen in an EDR alert: the \
                      program, what each argument does, the ATT&CK techniques this exact command \
                      shows with the reason per tactic, the artefacts and where to look next; \
                      nested commands are explained in turn. Answers like `kb explain --json`. / \
                      コマンドラインを解説します (プログラム、引数の意味、該当テクニック、\
                      アーティファクト、調査のポイント)。",
        schema: explain_schema,
        call: explain_tool,
    },
    Tool {
        name: "layer",
        description: "An ATT&CK Navigator layer (format 4.5) of exactly one selection: a group's \
                      techniques, a software's, a tactic's, a search's, the techniques explained \
                      command lines show, or a list of technique IDs; scores and comments hold \
                      the reason. Answers like `kb layer`. / ATT&CK Navigator のレイヤーを作ります \
                      (グループ、ソフトウェア、戦術、検索、コマンドライン、テクニック ID のいずれか 1 つ)。",
        schema: layer_schema,
        call: layer_tool,
    },
    Tool {
        name: "diff",
        description: "What changed between two ATT&CK releases that kb's bundle folders hold \
                      (17.1 and 18.1): techniques added, revoked (with the replacement), \
                      deprecated, renamed and moved; tactic, platform and description changes; \
                      new and removed groups, software, campaigns, mitigations and detections; \
                      optionally the relationships a group or software gained or lost. Answers \
                      like `kb diff --json`. / 2 つの ATT&CK リリース間の変更点 (追加・廃止・\
                      名称変更・移動、戦術・プラットフォーム・説明の変更) を示します。",
        schema: diff_schema,
        call: diff_tool,
    },
];

fn lang_schema() -> Value {
    json!({
        "type": "string",
        "enum": ["ja", "en"],
        "description": "Language of the answer's texts (default: the server's locale). / 回答の言語。"
    })
}

/// An input schema: an object of these properties, `required` given, nothing else.
fn object_schema(properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn search_schema() -> Value {
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    object_schema(
        json!({
            "query": {
                "type": "string",
                "minLength": 1,
                "description": "Any text: an ID, a name in English or Japanese, an alias, an alert title or a command line. / 検索語。"
            },
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": 10,
                "description": "How many results."
            },
            "kind": {
                "type": "array",
                "items": { "type": "string", "enum": kinds },
                "description": "Only these kinds of object."
            },
            "tactic": {
                "type": "string",
                "description": "Only objects of this tactic (TA0003, persistence, 常設)."
            },
            "domain": {
                "type": "string",
                "enum": ["enterprise", "mobile", "ics"],
                "description": "Only this ATT&CK domain."
            },
            "lang": lang_schema(),
        }),
        &["query"],
    )
}

fn show_schema() -> Value {
    object_schema(
        json!({
            "id": {
                "type": "string",
                "minLength": 1,
                "description": "An ID (T1053.005, TA0003, G0016, schtasks.exe) or a name or alias (Cozy Bear, 常設). / ID または名前。"
            },
            "lang": lang_schema(),
        }),
        &["id"],
    )
}

fn explain_schema() -> Value {
    object_schema(
        json!({
            "command_line": {
                "type": "string",
                "minLength": 1,
                "description": "The command line as the EDR shows it, quotes and backslashes included. / コマンドライン。"
            },
            "lang": lang_schema(),
        }),
        &["command_line"],
    )
}

fn layer_schema() -> Value {
    let text = |d: &str| json!({ "type": "string", "minLength": 1, "description": d });
    let list = |d: &str| {
        json!({
            "type": "array",
            "items": { "type": "string", "minLength": 1 },
            "minItems": 1,
            "description": d
        })
    };
    object_schema(
        json!({
            "group": text("A group by ID, name or alias (G0016, APT29, Cozy Bear)."),
            "software": text("A software by ID, name or alias (S0002, Mimikatz)."),
            "tactic": text("A tactic by ID or name in English or Japanese (TA0003, persistence, 常設)."),
            "search": text("A search; its techniques, best first."),
            "commands": list("Command lines; the techniques `kb explain` finds in them."),
            "ids": list("Technique IDs (T1053.005); a revoked one stands for its replacement."),
            "domain": {
                "type": "string",
                "enum": ["enterprise", "mobile", "ics"],
                "description": "The layer's ATT&CK domain (default: the selection's own)."
            },
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": layer::SEARCH_LIMIT,
                "description": "Techniques a search selects at most."
            },
            "lang": lang_schema(),
        }),
        &[],
    )
}

fn diff_schema() -> Value {
    let version = |d: &str| {
        json!({
            "type": "string",
            "pattern": "^[vV]?[0-9]+(\\.[0-9]+)*$",
            "description": d
        })
    };
    let ids = |d: &str| {
        json!({
            "type": "array",
            "items": { "type": "string", "minLength": 1 },
            "description": d
        })
    };
    object_schema(
        json!({
            "old": version("The older release, as a version kb's bundle folders hold (17.1)."),
            "new": version("The newer release (18.1)."),
            "domain": {
                "type": "string",
                "enum": ["enterprise", "mobile", "ics"],
                "description": "Which domain's releases, where both versions exist for several."
            },
            "group": ids("Also list the relationships these groups (G0016) gained or lost."),
            "software": ids("Also list the relationships these software (S0002) gained or lost."),
            "lang": lang_schema(),
        }),
        &["old", "new"],
    )
}

fn search(ctx: &Ctx, args: &Arguments) -> std::result::Result<Answer, ToolError> {
    let kinds = match args.0.get("kind") {
        None => Vec::new(),
        Some(v) => {
            let names = v
                .as_array()
                .ok_or_else(|| invalid_params("kind must be an array of kind names"))?;
            names
                .iter()
                .map(|n| n.as_str().and_then(Kind::parse))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    invalid_params("kind holds an unknown kind; tools/list shows the kinds")
                })?
        }
    };
    let limit = args.limit(10)?;
    let req = SearchRequest {
        query: args.text("query")?,
        limit,
        kinds,
        tactic: args.optional_text("tactic")?,
        domain: args.optional_text("domain")?,
    };
    let resp = query::search(ctx.kb, &req)?;
    let lang = args.lang()?;
    Ok(Answer::json(&resp)?.with_text(|out| render::search(out, &resp, lang)))
}

fn show(ctx: &Ctx, args: &Arguments) -> std::result::Result<Answer, ToolError> {
    let shown = query::show(ctx.kb, &args.text("id")?)?;
    let lang = args.lang()?;
    Ok(Answer::json(&shown)?.with_text(|out| render::show(out, &shown, lang, false)))
}

fn explain_tool(ctx: &Ctx, args: &Arguments) -> std::result::Result<Answer, ToolError> {
    let lang = args.lang()?;
    let e = explain::explain(ctx.kb, &args.text("command_line")?, lang.into())?;
    Ok(Answer::json(&e)?.with_text(|out| render_explain::explain(out, &e, lang)))
}

fn layer_tool(ctx: &Ctx, args: &Arguments) -> std::result::Result<Answer, ToolError> {
    let mut given = Vec::new();
    for key in ["group", "software", "tactic", "search"] {
        if let Some(v) = args.optional_text(key)? {
            given.push(match key {
                "group" => layer::Selection::Group(v),
                "software" => layer::Selection::Software(v),
                "tactic" => layer::Selection::Tactic(v),
                _ => layer::Selection::Search(v),
            });
        }
    }
    if let Some(lines) = args.texts("commands")? {
        given.push(layer::Selection::Commands(lines));
    }
    if let Some(ids) = args.texts("ids")? {
        given.push(layer::Selection::Ids(ids));
    }
    let Ok([selection]) = <[layer::Selection; 1]>::try_from(given) else {
        return Err(invalid_params(
            "give exactly one of group, software, tactic, search, commands, ids",
        )
        .into());
    };
    let req = layer::LayerRequest {
        selection,
        domain: args.optional_text("domain")?,
        lang: args.lang()?.into(),
        limit: args.limit(layer::SEARCH_LIMIT)?,
    };
    Ok(Answer::json(&layer::build(ctx.kb, &req)?.layer)?)
}

fn diff_tool(ctx: &Ctx, args: &Arguments) -> std::result::Result<Answer, ToolError> {
    // Versions only: a tool call (over HTTP too) never names a file for kb to read.
    let version = |name: &str| -> std::result::Result<String, RpcError> {
        let v = args.text(name)?;
        let digits = v.strip_prefix(['v', 'V']).unwrap_or(&v);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(invalid_params(format!(
                "{name} is a release version such as 18.1, not {v:?}"
            )));
        }
        Ok(v)
    };
    let (old, new) = (version("old")?, version("new")?);
    let [old, new] = service::find_releases(
        ctx.places,
        &service::Sources::default(),
        [&old, &new],
        args.optional_text("domain")?.as_deref(),
    )?;
    let opts = diff::Options::focusing(
        args.texts("group")?.unwrap_or_default(),
        args.texts("software")?.unwrap_or_default(),
    );
    let d = diff::compare_files(&old, &new, &Curated::embedded()?, &opts)?;
    let lang = args.lang()?;
    Ok(Answer::json(&d)?
        .with_text(|out| render_diff::diff(out, &d, lang, render_diff::Style::Text, false)))
}

/// A tool call's arguments, checked against its schema's property names, and the language of
/// the answer when the call names none.
struct Arguments(Map<String, Value>, Lang);

impl Arguments {
    /// A required, non-empty string.
    fn text(&self, name: &str) -> std::result::Result<String, RpcError> {
        match self.optional_text(name)? {
            Some(s) => Ok(s),
            None => Err(invalid_params(format!(
                "{name} is required (a non-empty string)"
            ))),
        }
    }

    fn optional_text(&self, name: &str) -> std::result::Result<Option<String>, RpcError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid_params(format!("{name} must be a string"))),
        }
    }

    /// `limit`, else `default`; at most as many as /v1/search gives.
    fn limit(&self, default: usize) -> std::result::Result<usize, RpcError> {
        match self.0.get("limit") {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| invalid_params(format!("limit must be from 1 to {MAX_LIMIT}"))),
        }
    }

    /// An optional array of non-empty strings.
    fn texts(&self, name: &str) -> std::result::Result<Option<Vec<String>>, RpcError> {
        let bad = || invalid_params(format!("{name} must be an array of non-empty strings"));
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .filter(|s| !s.trim().is_empty())
                        .map(str::to_string)
                })
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(bad),
            Some(_) => Err(bad()),
        }
    }

    fn lang(&self) -> std::result::Result<Lang, RpcError> {
        match self.optional_text("lang")?.as_deref() {
            None => Ok(self.1),
            Some("ja") => Ok(Lang::Ja),
            Some("en") => Ok(Lang::En),
            Some(_) => Err(invalid_params("lang must be \"ja\" or \"en\"")),
        }
    }
}

/// The answer to one message (a line on stdio, a POST body); `None` for a notification or a
/// response, which get none. `lang` is the language when a tool call names none.
pub(crate) fn handle(ctx: &Ctx, message: &[u8], lang: Lang) -> Option<Value> {
    let value: Value = match serde_json::from_slice(message) {
        Ok(v) => v,
        Err(e) => return Some(error(Value::Null, PARSE_ERROR, format!("not JSON: {e}"))),
    };
    let obj = match value {
        Value::Object(o) => o,
        Value::Array(_) => {
            return Some(error(
                Value::Null,
                INVALID_REQUEST,
                "batches are not supported (MCP removed them in 2025-06-18): send one message at a time",
            ));
        }
        _ => {
            return Some(error(
                Value::Null,
                INVALID_REQUEST,
                "a JSON-RPC message is an object",
            ));
        }
    };
    let id = match obj.get("id") {
        None => None,
        Some(id @ (Value::String(_) | Value::Number(_))) => Some(id.clone()),
        Some(_) => {
            return Some(error(
                Value::Null,
                INVALID_REQUEST,
                "id must be a string or a number",
            ));
        }
    };
    let reply_to = id.clone().unwrap_or(Value::Null);
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Some(error(reply_to, INVALID_REQUEST, "jsonrpc must be \"2.0\""));
    }
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        // A response to a request this server never sends: nothing to answer.
        if id.is_some() && (obj.contains_key("result") || obj.contains_key("error")) {
            return None;
        }
        return Some(error(reply_to, INVALID_REQUEST, "method is missing"));
    };
    let params = match obj.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(_) => return Some(error(reply_to, INVALID_PARAMS, "params must be an object")),
    };
    // A notification (initialized, cancelled, …) asks for no answer, and this server keeps no
    // state that one would change.
    let id = id?;
    Some(match dispatch(ctx, method, &params, lang) {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err(e) => error(id, e.code, e.message),
    })
}

/// A JSON-RPC error response.
pub(crate) fn error(id: Value, code: i64, message: impl Into<String>) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message.into() },
    })
}

fn dispatch(
    ctx: &Ctx,
    method: &str,
    params: &Map<String, Value>,
    lang: Lang,
) -> std::result::Result<Value, RpcError> {
    match method {
        "initialize" => Ok(initialize(params)),
        "ping" => Ok(json!({})),
        "tools/list" => Ok(json!({ "tools": TOOLS.iter().map(describe).collect::<Vec<_>>() })),
        "tools/call" => call(ctx, params, lang),
        _ => Err(RpcError {
            code: METHOD_NOT_FOUND,
            message: format!(
                "unknown method {method:?}; this server answers initialize, ping, tools/list and \
                 tools/call"
            ),
        }),
    }
}

fn initialize(params: &Map<String, Value>) -> Value {
    // The client's revision if this server speaks it, else the newest it does (the client
    // then decides whether it can go on).
    let asked = params.get("protocolVersion").and_then(Value::as_str);
    let version = PROTOCOL_VERSIONS
        .iter()
        .find(|v| Some(**v) == asked)
        .unwrap_or(&PROTOCOL_VERSIONS[0]);
    json!({
        "protocolVersion": version,
        "capabilities": { "tools": { "listChanged": false } },
        "serverInfo": { "name": "attack-kb", "title": "attack-kb (kb)", "version": env!("CARGO_PKG_VERSION") },
        "instructions": "Offline MITRE ATT&CK knowledge base with Windows binaries and MDE alerts, \
                         in Japanese and English: search finds, show gives one record, explain \
                         reads a command line. Pass lang \"ja\" for Japanese. / オフラインの \
                         MITRE ATT&CK ナレッジベース。search で検索、show で詳細、explain で\
                         コマンドラインを解説します。日本語は lang \"ja\"。",
    })
}

fn describe(tool: &Tool) -> Value {
    json!({
        "name": tool.name,
        "description": tool.description,
        "inputSchema": (tool.schema)(),
        "annotations": { "readOnlyHint": true, "openWorldHint": false },
    })
}

fn call(
    ctx: &Ctx,
    params: &Map<String, Value>,
    lang: Lang,
) -> std::result::Result<Value, RpcError> {
    let name = params.get("name").and_then(Value::as_str).unwrap_or("");
    let tool = TOOLS.iter().find(|t| t.name == name).ok_or_else(|| {
        let names: Vec<&str> = TOOLS.iter().map(|t| t.name).collect();
        invalid_params(format!(
            "unknown tool {name:?}; the tools are {}",
            names.join(", ")
        ))
    })?;
    let args = match params.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(a)) => a.clone(),
        Some(_) => return Err(invalid_params("arguments must be an object")),
    };
    let schema = (tool.schema)();
    if let Some(unknown) = args
        .keys()
        .find(|k| schema["properties"].get(k.as_str()).is_none())
    {
        return Err(invalid_params(format!(
            "{} takes no argument {unknown:?}; tools/list shows its schema",
            tool.name
        )));
    }
    let args = Arguments(args, lang);
    // What goes wrong is said in the call's language; a `lang` the tool refuses is its error.
    let said = explain::Lang::from(args.lang().unwrap_or(lang));
    // A panic deep in the index (a damaged file) answers this call, not the whole server.
    let answer = attack_kb::guard(|| (tool.call)(ctx, &args)).map_err(|_| RpcError {
        code: INTERNAL_ERROR,
        message: msg!("index.failed_answering").render(said),
    })?;
    match answer {
        Ok(a) => {
            let mut content = vec![json!({ "type": "text", "text": a.json_text })];
            if let Some(t) = a.text {
                content.push(json!({ "type": "text", "text": t }));
            }
            Ok(json!({ "content": content, "structuredContent": a.json, "isError": false }))
        }
        Err(ToolError::Arguments(e)) => Err(e),
        Err(ToolError::Library(e @ (Error::Index(_) | Error::IndexOutdated(_)))) => Err(RpcError {
            code: INTERNAL_ERROR,
            message: e.render(said),
        }),
        Err(ToolError::Library(e)) => Ok(json!({
            "content": [{ "type": "text", "text": e.render(said) }],
            "isError": true,
        })),
    }
}

/// `kb mcp`: answers one message a line from standard input until it closes. Replies go to
/// standard output, nothing else does; notes go to stderr.
/// `lang` answers a tool call that names no language (`--lang`, else the locale).
pub fn run(kb: KbIndex, places: service::Places, lang: Lang) -> Result<ExitCode> {
    let ctx = Ctx {
        kb: &kb,
        places: &places,
    };
    let names: Vec<&str> = TOOLS.iter().map(|t| t.name).collect();
    super::say_message(&msg!("mcp.started", tools = names.join(", ")), lang);
    let mut input = io::stdin().lock();
    let mut out = io::stdout().lock();
    let mut line = Vec::new();
    loop {
        let reply = match read_line(&mut input, &mut line)? {
            Line::End => return Ok(ExitCode::SUCCESS),
            Line::TooLong => Some(error(
                Value::Null,
                INVALID_REQUEST,
                format!("a message is at most {MAX_MESSAGE} bytes on one line"),
            )),
            Line::Read if line.iter().all(u8::is_ascii_whitespace) => None,
            Line::Read => handle(&ctx, &line, lang),
        };
        if let Some(r) = reply {
            let mut text = r.to_string();
            text.push('\n');
            // The client closing its end is the end of the session, not an error.
            if out
                .write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
}

enum Line {
    Read,
    TooLong,
    End,
}

/// One line into `line` (without its newline), reading at most [`MAX_MESSAGE`] bytes of it: the
/// rest of a longer line is read and dropped, so that memory stays bounded and the next line
/// is read from its start.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> Result<Line> {
    line.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let buf = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Other(msg!("cli.stdin", detail = e))),
        };
        if buf.is_empty() {
            return Ok(match (any, too_long) {
                (false, _) => Line::End,
                (true, true) => Line::TooLong,
                (true, false) => Line::Read,
            });
        }
        any = true;
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        if line.len() + chunk.len() > MAX_MESSAGE {
            too_long = true;
            line.clear();
        } else if !too_long {
            line.extend_from_slice(chunk);
        }
        let used = done.unwrap_or(buf.len());
        input.consume(used);
        if done.is_some() {
            return Ok(if too_long { Line::TooLong } else { Line::Read });
        }
    }
}
