//! kb as an MCP server: the real `kb mcp` over stdio and the real `kb serve`'s `/mcp`, driven by
//! the official MCP Python SDK (tests/python/mcp_*.py) and, for what no client sends, by raw
//! lines. Every exchange is bounded in time and count.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const SEED: &str = r#""schtasks.exe" /create /SC ONCE /TN Troj /TR C:\Users\vmadmin\Desktop\WinATP-Intro-Backdoor.exe /ST 13:36 /F"#;

fn kb_exe() -> &'static str {
    env!("CARGO_BIN_EXE_kb")
}

fn index_arg() -> &'static str {
    index_dir().to_str().expect("utf-8 path")
}

fn has_japanese(s: &str) -> bool {
    s.chars()
        .any(|c| ('\u{3040}'..='\u{30ff}').contains(&c) || ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// What mcp_client.py saw: the tools, and the first answers of search, explain and show.
fn check_client_run(out: &str) {
    let seen: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        seen["tools"],
        json!(["diff", "explain", "layer", "search", "show"]),
        "{seen}"
    );
    assert_eq!(seen["search"][0], "TA0003", "常設 is Persistence: {seen}");
    assert_eq!(seen["explain"][0], "T1053.005", "{seen}");
    assert_eq!(seen["program"], "schtasks.exe", "{seen}");
    assert_eq!(seen["show"], "T1053.005", "{seen}");
    // The layer of the seed line holds what explain found first, in Enterprise.
    assert_eq!(seen["layer_domain"], "enterprise-attack", "{seen}");
    assert!(
        seen["layer"]
            .as_array()
            .is_some_and(|ids| ids.contains(&json!("T1053.005"))),
        "{seen}"
    );
    assert!(
        seen["layer_two_selections"]
            .as_str()
            .is_some_and(|m| m.contains("exactly one")),
        "{seen}"
    );
    let name_ja = seen["show_name_ja"].as_str().unwrap_or("");
    assert!(has_japanese(name_ja), "{seen}");
    assert_eq!(
        seen["show_text_ja"], true,
        "the text of show in Japanese: {seen}"
    );
    assert!(
        seen["missing"]
            .as_str()
            .is_some_and(|m| m.contains("T9999")),
        "{seen}"
    );
}

#[test]
fn the_python_sdk_over_stdio_lists_searches_explains_and_shows() {
    let attack = attack_dir();
    let out = run_python(
        "mcp_client.py",
        &[
            "stdio",
            kb_exe(),
            index_arg(),
            attack.to_str().expect("utf-8"),
        ],
    );
    check_client_run(&out);
    let seen: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    // Enterprise 17.1 → 18.1 added 12 techniques (tests/diff.rs checks them against diff_stix).
    assert_eq!(seen["diff_techniques_added"], 12, "{seen}");
    assert!(
        seen["diff_path"]
            .as_str()
            .is_some_and(|m| m.contains("version")),
        "{seen}"
    );
}

#[test]
fn the_python_sdk_over_http_lists_searches_explains_and_shows() {
    let server = serve_with(&["--index", index_arg()], &["--no-access-log"]);
    let url = format!("http://{}/mcp", server.addr);
    let out = run_python("mcp_client.py", &["http", &url]);
    check_client_run(&out);
}

#[test]
fn malformed_messages_over_http_get_json_rpc_errors_and_a_foreign_origin_403() {
    let server = serve_with(&["--index", index_arg()], &["--no-access-log"]);
    let url = format!("http://{}/mcp", server.addr);
    let out = run_python("mcp_http_malformed.py", &[&url]);
    let seen: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(seen["bad_json"], json!([400, -32700]), "{seen}");
    assert_eq!(seen["unknown_method"], json!([200, -32601]), "{seen}");
    assert_eq!(seen["bad_limit"], json!([200, -32602]), "{seen}");
    assert_eq!(seen["large"], json!([200, null]), "{seen}");
    assert_eq!(seen["huge"], json!([413, -32600]), "{seen}");
    assert_eq!(seen["foreign_origin"], json!([403, -32600]), "{seen}");
    assert_eq!(seen["unknown_version"], json!([400, -32600]), "{seen}");
    assert_eq!(seen["after"][0], "TA0003", "still answering: {seen}");
}

/// A `kb mcp` spoken to line by line; killed when dropped.
struct Session {
    child: Child,
    /// None once closed.
    input: Option<ChildStdin>,
    replies: Receiver<String>,
}

impl Session {
    fn start() -> Session {
        let mut child = Command::new(kb_exe())
            .args(["--index", index_arg(), "mcp"])
            .env_remove("KB_ATTACK")
            .env("LANG", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("kb mcp starts");
        let input = child.stdin.take().expect("stdin");
        let output = child.stdout.take().expect("stdout");
        let (tx, replies) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(output).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Session {
            child,
            input: Some(input),
            replies,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        let input = self.input.as_mut().expect("input open");
        input.write_all(bytes).expect("write");
        input.write_all(b"\n").expect("write");
        input.flush().expect("flush");
    }

    fn reply(&self) -> Value {
        let line = self
            .replies
            .recv_timeout(Duration::from_secs(60))
            .expect("kb mcp answers within a minute");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    fn ask(&mut self, bytes: &[u8]) -> Value {
        self.send(bytes);
        self.reply()
    }

    fn call(&mut self, id: u64, tool: &str, arguments: Value) -> Value {
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                         "params": {"name": tool, "arguments": arguments}});
        let r = self.ask(msg.to_string().as_bytes());
        assert_eq!(r["id"], id, "{r}");
        r
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn error_code(r: &Value) -> i64 {
    r["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("an error: {r}"))
}

#[test]
fn malformed_lines_over_stdio_get_json_rpc_errors_and_the_server_answers_after() {
    let mut s = Session::start();
    let ping = br#"{"jsonrpc":"2.0","id":"p","method":"ping"}"#;
    let cases: &[(&[u8], i64)] = &[
        (b"{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ", -32700),
        (b"\xff\xfe\x00 not utf-8", -32700),
        (b"[]", -32600),
        (b"42", -32600),
        (br#"{"jsonrpc":"1.0","id":2,"method":"ping"}"#, -32600),
        (br#"{"jsonrpc":"2.0","id":{"an":"object"},"method":"ping"}"#, -32600),
        (br#"{"jsonrpc":"2.0","id":3}"#, -32600),
        (br#"{"jsonrpc":"2.0","id":4,"method":"tools/destroy"}"#, -32601),
        (br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":[1]}"#, -32602),
        (br#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"rm"}}"#, -32602),
        (
            br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"show","arguments":{"id":"T1059","extra":1}}}"#,
            -32602,
        ),
    ];
    for (message, code) in cases {
        let r = s.ask(message);
        assert_eq!(
            error_code(&r),
            *code,
            "{}: {r}",
            String::from_utf8_lossy(message)
        );
        assert_eq!(r["jsonrpc"], "2.0");
        // The server still answers the next message.
        assert_eq!(
            s.ask(ping),
            json!({"jsonrpc": "2.0", "id": "p", "result": {}})
        );
    }
    // JSON nested past serde's depth limit is refused, not followed down the stack.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(error_code(&s.ask(deep.as_bytes())), -32700);
    assert_eq!(s.ask(ping)["id"], "p");
    // A notification and a stray response get no answer: the next reply is the ping's.
    s.send(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    s.send(br#"{"jsonrpc":"2.0","id":99,"result":{}}"#);
    assert_eq!(s.ask(ping)["id"], "p");
    // A line of 3 MiB: refused, read to its end (not buffered whole), and the next line is
    // read from its start.
    let mut huge = br#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"search","arguments":{"query":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'a', 3 << 20));
    huge.extend(br#""}}}"#);
    let r = s.ask(&huge);
    assert_eq!(error_code(&r), -32600, "{r}");
    let r = s.call(9, "search", json!({"query": "常設"}));
    assert_eq!(
        r["result"]["structuredContent"]["results"][0]["id"],
        "TA0003"
    );
    // Standard input closing ends the server, with success.
    s.input = None;
    let status = wait_exit(&mut s.child);
    assert!(status.success(), "{status}");
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    for _ in 0..600 {
        if let Ok(Some(st)) = child.try_wait() {
            return st;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("kb mcp did not end within a minute of its input closing");
}

#[test]
fn tool_answers_are_the_cli_json_and_text() {
    let mut s = Session::start();
    let cli_json = |args: &[&str]| -> Value {
        let o = kb(args);
        assert!(o.status.success(), "{args:?}");
        serde_json::from_str(&stdout(&o)).expect("json")
    };
    let cli_text = |args: &[&str]| -> String {
        let o = kb(args);
        assert!(o.status.success(), "{args:?}");
        stdout(&o)
    };
    let cases = [
        (
            "search",
            json!({"query": "常設", "limit": 3, "lang": "ja"}),
            vec!["search", "常設", "--limit", "3", "--lang", "ja"],
        ),
        (
            "show",
            json!({"id": "T1053.005", "lang": "ja"}),
            vec!["show", "T1053.005", "--lang", "ja"],
        ),
        (
            "explain",
            json!({"command_line": SEED, "lang": "ja"}),
            vec!["explain", SEED, "--lang", "ja"],
        ),
        (
            "explain",
            json!({"command_line": SEED, "lang": "en"}),
            vec!["explain", SEED, "--lang", "en"],
        ),
    ];
    for (i, (tool, arguments, args)) in cases.iter().enumerate() {
        let r = s.call(i as u64, tool, arguments.clone());
        let result = &r["result"];
        assert_eq!(result["isError"], false, "{r}");
        let mut json_args = args.clone();
        json_args.push("--json");
        let expected = cli_json(&json_args);
        assert_eq!(result["structuredContent"], expected, "{tool} {arguments}");
        let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap_or(""))
            .expect("the first block is the JSON");
        assert_eq!(text, expected);
        assert_eq!(
            result["content"][1]["text"],
            cli_text(args),
            "{tool} {arguments}"
        );
    }
    // Japanese where asked: explain's texts change with lang.
    let ja = s.call(10, "explain", json!({"command_line": SEED, "lang": "ja"}));
    let en = s.call(11, "explain", json!({"command_line": SEED, "lang": "en"}));
    let ja_text = ja["result"]["structuredContent"].to_string();
    assert!(has_japanese(&ja_text.replace("常設", "")));
    assert_ne!(
        ja["result"]["structuredContent"],
        en["result"]["structuredContent"]
    );
}

#[test]
fn tools_list_states_each_schema() {
    let mut s = Session::start();
    let init = s.ask(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
               "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                          "clientInfo": {"name": "test", "version": "0"}}})
        .to_string()
        .as_bytes(),
    );
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18", "{init}");
    assert_eq!(init["result"]["serverInfo"]["name"], "attack-kb");
    let list = s.ask(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
    let tools = list["result"]["tools"].as_array().expect("tools");
    let expect = [
        (
            "search",
            vec!["query"],
            vec!["domain", "kind", "lang", "limit", "query", "tactic"],
        ),
        ("show", vec!["id"], vec!["id", "lang"]),
        (
            "explain",
            vec!["command_line"],
            vec!["command_line", "lang"],
        ),
        (
            "layer",
            vec![],
            vec![
                "commands", "domain", "group", "ids", "lang", "limit", "search", "software",
                "tactic",
            ],
        ),
        (
            "diff",
            vec!["old", "new"],
            vec!["domain", "group", "lang", "new", "old", "software"],
        ),
    ];
    assert_eq!(tools.len(), expect.len());
    for (tool, (name, required, props)) in tools.iter().zip(expect) {
        assert_eq!(tool["name"], name);
        let schema = &tool["inputSchema"];
        assert_eq!(schema["required"], json!(required), "{tool}");
        let mut got: Vec<&str> = schema["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .map(String::as_str)
            .collect();
        got.sort();
        assert_eq!(got, props, "{tool}");
        assert_eq!(schema["additionalProperties"], false);
        assert!(
            has_japanese(tool["description"].as_str().unwrap_or("")),
            "descriptions in both languages: {tool}"
        );
    }
}
