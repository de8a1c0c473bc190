//! `kb serve` and `kb pack` as other tools use them: the real server on 127.0.0.1 (a random
//! port), spoken to over real TCP, serving a real index of the bundles; bundles written,
//! verified, tampered with. Every request loop here is bounded in count and time.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One raw HTTP/1.1 exchange (the tests need to send what no well-behaved client sends).
fn raw(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(request).expect("send");
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        headers: head.to_ascii_lowercase(),
        body,
    }
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

fn post(addr: SocketAddr, path: &str, content_type: &str, body: &str) -> Reply {
    raw(
        addr,
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn index_arg() -> [String; 2] {
    [
        "--index".into(),
        index_dir().to_str().expect("utf-8").into(),
    ]
}

#[test]
fn every_endpoint_answers_like_the_cli() {
    let idx = index_arg();
    let s = serve(&[&idx[0], &idx[1]]);
    let r = get(s.addr, &format!("/v1/search?q={}&limit=3", enc("常設")));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["results"][0]["id"], "TA0003");
    let r = get(s.addr, "/v1/objects/T1053.005");
    assert_eq!(r.json()["id"], "T1053.005");
    // A revoked ID answers with its replacement and says so.
    let r = get(s.addr, "/v1/objects/T1574.002");
    assert_eq!(r.json()["id"], "T1574.001");
    assert_eq!(r.json()["redirected_from"]["id"], "T1574.002");
    let seed = r#""schtasks.exe" /create /SC ONCE /TN Troj /TR C:\Users\vmadmin\Desktop\WinATP-Intro-Backdoor.exe /ST 13:36 /F"#;
    let r = get(s.addr, &format!("/v1/explain?cmd={}", enc(seed)));
    assert_eq!(r.json()["techniques"][0]["id"], "T1053.005");
    let r = post(s.addr, "/v1/explain", "text/plain", seed);
    assert_eq!(r.json()["program"], "schtasks.exe");
    let body = serde_json::json!({ "cmd": seed, "lang": "ja" }).to_string();
    let r = post(s.addr, "/v1/explain", "application/json", &body);
    let ja = r.json()["techniques"][0]["name_ja"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(ja.contains("タスク"), "{ja}");
    let r = get(s.addr, "/v1/meta");
    assert!(
        r.json()["manifest"]["counts"]["technique"]
            .as_u64()
            .unwrap_or(0)
            > 600
    );
    assert_eq!(get(s.addr, "/healthz").json()["status"], "ok");
    let m = get(s.addr, "/metrics");
    assert!(
        m.body
            .contains("kb_requests_total{route=\"/v1/search\",status=\"200\"}")
    );
    assert!(m.body.contains("kb_request_duration_seconds_bucket"));
    assert!(m.body.contains("kb_index_generation 1"));
    // The page: server-rendered, with security headers, deep links and relations as links.
    let p = get(s.addr, &format!("/search?q={}", enc("常設")));
    assert_eq!(p.status, 200);
    assert!(p.headers.contains("content-security-policy"));
    assert!(p.headers.contains("x-content-type-options: nosniff"));
    assert!(p.body.contains("/objects/TA0003"));
    let p = get(s.addr, "/objects/T1053.005?lang=ja");
    assert!(
        p.body.contains("href=\"/objects/TA0003?lang=ja\""),
        "relations are links"
    );
    assert!(p.body.contains("lang=\"ja\""));
    let p = get(s.addr, &format!("/explain?cmd={}", enc(seed)));
    assert!(p.body.contains("<u"), "argument spans are underlined");
    // Access log lines are JSON.
    std::thread::sleep(Duration::from_millis(200));
    let log = s.log.lock().expect("log").clone();
    let access: Vec<serde_json::Value> = log
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        access
            .iter()
            .any(|l| l["route"] == "/v1/search" && l["status"] == 200)
    );
}

#[test]
fn accept_language_picks_japanese() {
    let idx = index_arg();
    let s = serve(&[&idx[0], &idx[1]]);
    let r = raw(
        s.addr,
        b"GET /objects/TA0003 HTTP/1.1\r\nHost: x\r\nAccept-Language: ja,en;q=0.5\r\nConnection: close\r\n\r\n",
    );
    assert!(r.body.contains("<html lang=\"ja\""));
    assert!(r.body.contains("常設") || r.body.contains("永続化"));
}

#[test]
fn malformed_requests_get_a_4xx_and_the_server_keeps_serving() {
    let idx = index_arg();
    let s = serve(&[&idx[0], &idx[1]]);
    let cases: Vec<(Reply, u16)> = vec![
        (get(s.addr, "/v1/search?q=%ZZ"), 400),
        (get(s.addr, "/v1/search?q=%FF%FE"), 400),
        (
            get(s.addr, &format!("/v1/search?q={}", "a".repeat(5000))),
            414,
        ),
        (get(s.addr, "/v1/search?q=x&limit=0"), 400),
        (get(s.addr, "/v1/search?q=x&kind=nonsense"), 400),
        (get(s.addr, "/v1/nothing-here"), 404),
        (get(s.addr, "/v1/objects/T9999"), 404),
        (
            raw(
                s.addr,
                b"DELETE /v1/search HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            ),
            405,
        ),
        (
            post(s.addr, "/v1/explain", "application/json", "{not json"),
            400,
        ),
        (
            post(s.addr, "/v1/explain", "text/plain", &"x".repeat(100 * 1024)),
            413,
        ),
        (raw(s.addr, b"GARBAGE\r\n\r\n"), 400),
    ];
    for (i, (r, want)) in cases.iter().enumerate() {
        assert_eq!(r.status, *want, "case {i}: {}", r.body);
        if r.status != 400 || !r.body.is_empty() {
            // Our own errors are JSON with a code and a message.
            if r.headers.contains("application/json") {
                let v = r.json();
                assert!(v["error"]["code"].is_string() && v["error"]["message"].is_string());
            }
        }
    }
    // Bad UTF-8 in the body of an explain.
    let mut req =
        b"POST /v1/explain HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\n"
            .to_vec();
    req.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    assert_eq!(raw(s.addr, &req).status, 400);
    assert_eq!(get(s.addr, "/healthz").status, 200);
}

#[test]
fn a_slow_client_times_out_without_holding_up_others() {
    let idx = index_arg();
    let s = serve(&[&idx[0], &idx[1]]);
    let started = Instant::now();
    let mut slow = TcpStream::connect(s.addr).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    slow.write_all(b"POST /v1/explain HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nwhoami")
        .expect("send");
    // Meanwhile, others are served.
    assert_eq!(get(s.addr, "/healthz").status, 200);
    let mut buf = String::new();
    let _ = slow.read_to_string(&mut buf);
    assert!(buf.starts_with("HTTP/1.1 408"), "{buf}");
    assert!(started.elapsed() < Duration::from_secs(15));
}

/// An index of Enterprise 18.1 in a scratch folder, built by the real CLI.
fn build_index(dir: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_kb"))
        .args(["index", "--attack"])
        .arg(bundle(ENTERPRISE))
        .arg("--out")
        .arg(dir)
        .output()
        .expect("kb index runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn generation(addr: SocketAddr) -> u64 {
    get(addr, "/healthz").json()["generation"]
        .as_u64()
        .unwrap_or(0)
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn reload_swaps_a_good_index_and_refuses_a_broken_one() {
    let dir = scratch("serve-reload").join("index");
    build_index(&dir);
    let d = dir.to_str().expect("utf-8");
    let s = serve(&["--index", d]);
    // A rebuild: --watch is off, so SIGHUP brings it in.
    build_index(&dir);
    let pid = s.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .expect("kill")
            .success()
    );
    wait_for("generation 2", || generation(s.addr) == 2);
    // A broken new index: CURRENT points at a generation whose files are damaged.
    let live = std::fs::read_to_string(dir.join("CURRENT")).expect("CURRENT");
    let broken = dir.join("gen-broken");
    std::fs::create_dir_all(&broken).expect("mkdir");
    for e in std::fs::read_dir(dir.join(live.trim())).expect("live generation") {
        let e = e.expect("entry");
        let bytes = std::fs::read(e.path()).expect("read");
        let keep = if e.file_name() == "meta.json" {
            bytes.len() / 2
        } else {
            bytes.len()
        };
        std::fs::write(broken.join(e.file_name()), &bytes[..keep]).expect("write");
    }
    std::fs::write(dir.join("CURRENT"), "gen-broken").expect("point CURRENT at it");
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .expect("kill")
            .success()
    );
    wait_for("the refusal in the log", || {
        s.log
            .lock()
            .is_ok_and(|l| l.iter().any(|x| x.contains("refused")))
    });
    assert_eq!(generation(s.addr), 2, "the old index keeps serving");
    let r = get(s.addr, "/v1/search?q=schtasks");
    assert_eq!(r.json()["results"][0]["id"], "schtasks.exe");
}

#[test]
fn watch_reloads_when_the_index_is_rebuilt_and_sigterm_stops_gracefully() {
    let dir = scratch("serve-watch").join("index");
    build_index(&dir);
    let mut s = serve_with(&["--index", dir.to_str().expect("utf-8")], &["--watch"]);
    build_index(&dir);
    wait_for("the watcher's reload", || generation(s.addr) == 2);
    let pid = s.child.id().to_string();
    assert!(
        Command::new("kill")
            .arg(&pid)
            .status()
            .expect("kill")
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = s.child.try_wait().expect("wait") {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "no graceful stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn cors_is_off_unless_asked_for() {
    let idx = index_arg();
    let s = serve(&[&idx[0], &idx[1]]);
    let req = b"GET /v1/search?q=x HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\nConnection: close\r\n\r\n";
    assert!(
        !raw(s.addr, req)
            .headers
            .contains("access-control-allow-origin")
    );
}

fn kb_with(args: &[&str], cache: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kb"))
        .args(args)
        .env("KB_CACHE", cache)
        .env_remove("KB_ATTACK")
        .env("LANG", "C")
        .output()
        .expect("kb runs")
}

#[test]
fn a_packed_index_is_one_deterministic_verified_file() {
    let work = scratch("pack");
    let cache = work.join("cache");
    let a = work.join("a.zip");
    let b = work.join("b.zip");
    let idx = index_dir().to_str().expect("utf-8").to_string();
    for out in [&a, &b] {
        let o = kb_with(
            &["--index", &idx, "pack", "-o", out.to_str().expect("utf-8")],
            &cache,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let bytes = std::fs::read(&a).expect("read");
    assert_eq!(
        bytes,
        std::fs::read(&b).expect("read"),
        "same index, same bytes"
    );
    // Readers take --bundle.
    let o = kb_with(
        &[
            "--bundle",
            a.to_str().expect("utf-8"),
            "search",
            "--json",
            "常設",
        ],
        &cache,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["results"][0]["id"], "TA0003");
    let o = kb_with(
        &[
            "--bundle",
            a.to_str().expect("utf-8"),
            "explain",
            "--json",
            "whoami /all",
        ],
        &cache,
    );
    assert!(o.status.success());
    // Tampered: one byte of an index file changed (the zip stays readable: stored CRCs and
    // our checksums both catch it), and truncated.
    let mut tampered = bytes.clone();
    let at = bytes.len() / 3;
    tampered[at] ^= 0x55;
    let t = work.join("tampered.zip");
    std::fs::write(&t, &tampered).expect("write");
    let trunc = work.join("truncated.zip");
    std::fs::write(&trunc, &bytes[..bytes.len() / 2]).expect("write");
    for bad in [&t, &trunc] {
        let o = kb_with(
            &["--bundle", bad.to_str().expect("utf-8"), "search", "x"],
            &cache,
        );
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("not a usable kb bundle"), "{err}");
    }
    // Nothing half-unpacked was left where a reader would take it.
    for e in std::fs::read_dir(&cache).expect("cache") {
        let p = e.expect("entry").path();
        assert!(p.join("CURRENT").is_file(), "{} is incomplete", p.display());
    }
}

#[test]
fn a_bundle_of_another_schema_says_so() {
    use std::io::Write as _;
    let work = scratch("pack-schema");
    let out = work.join("old.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&out).expect("create"));
    let opts = zip::write::SimpleFileOptions::default();
    zip.start_file("attack-kb/manifest.json", opts)
        .expect("entry");
    zip.write_all(br#"{"schema_version": 1, "kb_version": "0.0.1"}"#)
        .expect("write");
    zip.start_file("attack-kb/SHA256SUMS", opts).expect("entry");
    zip.finish().expect("finish");
    let o = kb_with(
        &["--bundle", out.to_str().expect("utf-8"), "search", "x"],
        &work.join("cache"),
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("schema 1") && err.contains("pack it again"),
        "{err}"
    );
}

/// Real headless Chromium (Debian's `chromium`, installed by .ci/run): the DOM it builds for
/// a URL, and a screenshot.
fn chromium(args: &[&str]) -> String {
    let o = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--lang=ja",
        ])
        .args(args)
        .output()
        .expect("chromium runs (apt-get install chromium)");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The first `href` after `marker` in an HTML text.
fn href_after<'a>(html: &'a str, marker: &str) -> &'a str {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in the page"));
    let rest = &html[at..];
    let h = rest.find("href=\"").expect("a link") + 6;
    let end = rest[h..].find('"').expect("link end");
    &rest[h..h + end]
}

#[test]
fn the_page_in_a_real_browser() {
    let idx = index_arg();
    let s = serve_with(&[&idx[0], &idx[1]], &["--no-access-log"]);
    let base = format!("http://{}", s.addr);
    // Typing 常設 in the box submits the form to /search?q=常設&lang=ja.
    let dom = chromium(&[
        "--dump-dom",
        &format!("{base}/search?lang=ja&q={}", enc("常設")),
    ]);
    let results = &dom[dom.find("id=\"results\"").expect("results list")..];
    assert!(
        href_after(results, "class=\"hit\"").starts_with("/objects/TA0003"),
        "{results}"
    );
    // Open T1053.005 and follow its link to the tactic.
    let dom = chromium(&["--dump-dom", &format!("{base}/objects/T1053.005?lang=ja")]);
    assert!(dom.contains("スケジュールされたタスク"));
    let link = href_after(&dom, "<ul><li>").replace("&amp;", "&");
    let next = chromium(&["--dump-dom", &format!("{base}{link}")]);
    assert!(next.contains("<h1>"), "the link opens a page: {link}");
    // Paste the seed command line: T1053.005 first, its spans underlined.
    let seed = r#""schtasks.exe" /create /SC ONCE /TN Troj /TR C:\Users\vmadmin\Desktop\WinATP-Intro-Backdoor.exe /ST 13:36 /F"#;
    let url = format!("{base}/explain?lang=ja&cmd={}", enc(seed));
    let dom = chromium(&["--dump-dom", &url]);
    let techniques = &dom[dom.find("id=\"techniques\"").expect("techniques")..];
    assert!(href_after(techniques, "<li>").starts_with("/objects/T1053.005"));
    let line = &dom[dom.find("id=\"line\"").expect("the line")..];
    assert!(
        line[..line.find("</div>").expect("end")]
            .matches("<u")
            .count()
            >= 5
    );
    // A screenshot to look at, kept as a test artefact.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("explain-page.png");
    let _ = std::fs::remove_file(&shot);
    chromium(&[
        "--window-size=1200,1400",
        &format!("--screenshot={}", shot.display()),
        &url,
    ]);
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 20_000,
        "screenshot of {size} bytes at {}",
        shot.display()
    );
}

/// 60 s of load (KB_SOAK_SECS to change it) while the index is rebuilt and swapped five
/// times: no request may fail. Four client threads, each bounded in time and count.
#[test]
fn soak_under_load_across_five_rebuilds() {
    let secs: u64 = std::env::var("KB_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = scratch("serve-soak").join("index");
    build_index(&dir);
    let s = serve_with(
        &["--index", dir.to_str().expect("utf-8")],
        &["--watch", "--no-access-log"],
    );
    let addr = s.addr;
    let stop = Instant::now() + Duration::from_secs(secs);
    let clients: Vec<_> = (0..4)
        .map(|k| {
            std::thread::spawn(move || {
                let queries = ["schtasks", "%E5%B8%B8%E8%A8%AD", "T1053.005", "APT29"];
                let (mut ok, mut failed) = (0u64, Vec::new());
                let mut n = 0;
                while Instant::now() < stop && n < 200_000 {
                    let q = queries[(n + k) % queries.len()];
                    let r = get(addr, &format!("/v1/search?q={q}&limit=3"));
                    if r.status == 200 && r.body.contains("\"results\":[{") {
                        ok += 1;
                    } else {
                        failed.push(format!("{} {}", r.status, r.body));
                    }
                    n += 1;
                }
                (ok, failed)
            })
        })
        .collect();
    let spacing = Duration::from_secs(secs / 6);
    for _ in 0..5 {
        std::thread::sleep(spacing);
        build_index(&dir);
    }
    let mut total = 0;
    for c in clients {
        let (ok, failed) = c.join().expect("client thread");
        assert!(
            failed.is_empty(),
            "{} failed, e.g. {:?}",
            failed.len(),
            failed.first()
        );
        total += ok;
    }
    assert!(total > 100, "only {total} requests");
    wait_for("the fifth swap", || generation(addr) == 6);
    eprintln!("soak: {total} requests over {secs} s, 5 swaps, none failed");
}
