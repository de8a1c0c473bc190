//! The `kb` binary end to end: output formats, languages, errors, atomic rebuilds and fetch.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use attack_kb::index::KbIndex;
use common::{ICS, attack_dir, bundle, kb, open, scratch, search, stdout};

fn kb_in(index: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kb"));
    c.args(["--index", index.to_str().expect("utf-8")])
        .args(args)
        .env_remove("KB_ATTACK")
        .env("LANG", "C");
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().expect("kb runs")
}

#[test]
fn search_json_has_the_documented_shape() {
    let o = kb(&["search", "--json", "--limit", "5", "schtasks"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v["query"], "schtasks");
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 5);
    let r = &results[0];
    assert_eq!(r["id"], "schtasks.exe");
    assert_eq!(r["kind"], "binary");
    for key in ["name", "name_ja", "tactics", "score", "snippet"] {
        assert!(!r[key].is_null(), "missing {key} in {r}");
    }
    assert_eq!(
        r["tactics"][0]["id"].as_str().map(|s| s.starts_with("TA")),
        Some(true)
    );
}

#[test]
fn japanese_output_by_flag_and_by_locale() {
    let o = kb(&["search", "--lang", "ja", "常設"]);
    let text = stdout(&o);
    assert!(
        text.contains("TA0003") && text.contains("永続化") && text.contains("戦術"),
        "{text}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_kb"))
        .args([
            "--index",
            common::index_dir().to_str().expect("utf-8"),
            "show",
            "schtasks.exe",
        ])
        .env("LANG", "ja_JP.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .output()
        .expect("kb runs");
    let text = stdout(&o);
    assert!(
        text.contains("攻撃者による悪用") && text.contains("T1053.005"),
        "{text}"
    );
    let text = stdout(&kb(&["show", "--lang", "en", "schtasks.exe"]));
    assert!(
        text.contains("How attackers abuse it") && text.contains("/create"),
        "{text}"
    );
}

#[test]
fn show_a_technique_lists_its_world() {
    let text = stdout(&kb(&["show", "--lang", "en", "T1218"]));
    for section in [
        "Sub-techniques",
        "Mitigations",
        "Detection strategies",
        "Windows binaries (LOLBins) for it",
        "Groups that use it",
    ] {
        assert!(text.contains(section), "no {section} in:\n{text}");
    }
    assert!(
        text.contains("mshta.exe") || text.contains("regsvr32.exe"),
        "{text}"
    );
    let o = kb(&["show", "--json", "T1053.005"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["id"], "T1053.005");
    assert!(
        v["relations"]["detection_strategies"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    assert!(
        v["relations"]["analytics"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
}

#[test]
fn show_by_name_alias_and_revoked_id() {
    let v: serde_json::Value =
        serde_json::from_slice(&kb(&["show", "--json", "Cozy", "Bear"]).stdout).expect("JSON");
    assert_eq!(v["id"], "G0016");
    let v: serde_json::Value =
        serde_json::from_slice(&kb(&["show", "--json", "常設"]).stdout).expect("JSON");
    assert_eq!(v["id"], "TA0003");
    let o = kb(&["show", "--lang", "en", "T1574.002"]);
    let text = stdout(&o);
    assert!(
        text.contains("revoked") && text.starts_with("note:") && text.contains("T1574.001"),
        "{text}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&kb(&["show", "--json", "t1574.002"]).stdout).expect("JSON");
    assert_eq!(v["id"], "T1574.001");
    assert_eq!(v["redirected_from"]["id"], "T1574.002");
}

#[test]
fn unknown_show_key_exits_3_with_a_hint() {
    let o = kb(&["show", "no-such-thing"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("kb search"));
}

#[test]
fn first_search_builds_the_missing_index() {
    let dir = scratch("autobuild").join("index");
    let err = search_ics_t0800(&dir);
    assert!(err.contains("building it first"), "{err}");
}

/// `kb search T0800` with the ICS bundle as the default source: must find T0800 first, whatever
/// it had to build on the way. Returns what kb said on stderr.
fn search_ics_t0800(index: &std::path::Path) -> String {
    let ics = bundle(ICS);
    let o = kb_in(
        index,
        &["search", "--json", "T0800"],
        &[("KB_ATTACK", ics.to_str().expect("utf-8"))],
    );
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["results"][0]["id"], "T0800");
    err
}

#[test]
fn no_sources_is_a_clear_error() {
    let dir = scratch("nosources");
    let o = kb_in(
        &dir.join("index"),
        &[
            "--data",
            dir.join("nothing").to_str().expect("utf-8"),
            "search",
            "x",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("kb fetch") && err.contains("--attack"),
        "{err}"
    );
}

#[test]
fn malformed_bundle_fails_the_build_and_keeps_the_old_index() {
    let dir = scratch("malformed");
    let index = dir.join("index");
    let ics = bundle(ICS);
    let ok = kb_in(
        &index,
        &["index", "--attack", ics.to_str().expect("utf-8")],
        &[],
    );
    assert!(ok.status.success());
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"objects\": [\n{\"type\": }]}").expect("write");
    let o = kb_in(
        &index,
        &["index", "--attack", bad.to_str().expect("utf-8")],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.json") && err.contains("line 2"), "{err}");
    let kb = KbIndex::open(&index).expect("old index still opens");
    assert_eq!(kb.manifest.sources[0].domain, "ics-attack");
}

#[test]
fn rebuilding_is_atomic_for_readers() {
    let dir = scratch("atomic");
    let index = dir.join("index");
    let ics = bundle(ICS);
    let build = || {
        kb_in(
            &index,
            &["index", "--attack", ics.to_str().expect("utf-8")],
            &[],
        )
    };
    assert!(build().status.success());
    let writer = std::thread::spawn({
        let build_index = index.clone();
        let ics = ics.clone();
        move || {
            for _ in 0..4 {
                let o = kb_in(
                    &build_index,
                    &["index", "--attack", ics.to_str().expect("utf-8")],
                    &[],
                );
                assert!(o.status.success());
            }
        }
    });
    let mut reads = 0;
    while !writer.is_finished() || reads == 0 {
        let kb = KbIndex::open(&index).expect("a reader always finds a whole index");
        let hits = search(&kb, "T0800");
        assert_eq!(hits[0].stored.id, "T0800");
        reads += 1;
    }
    writer.join().expect("writer");
    let gens = std::fs::read_dir(&index)
        .expect("dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("gen-"))
        })
        .count();
    assert!(gens <= 2, "old generations are cleaned up ({gens} left)");
}

#[test]
fn index_reports_counts_versions_and_time() {
    let dir = scratch("report");
    let ics = bundle(ICS);
    let o = kb_in(
        &dir.join("index"),
        &["index", "--attack", ics.to_str().expect("utf-8")],
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("ics-attack ATT&CK 18.1 (STIX 2.1)") && err.contains("technique 83"),
        "{err}"
    );
    let o = kb_in(&dir.join("index"), &["info", "--json"], &[]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["counts"]["technique"], 83);
    assert!(v["build_seconds"].as_f64().is_some_and(|s| s > 0.0));
}

/// python3's http.server on 127.0.0.1 serving ../shared/attack, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start() -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(attack_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "http.server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `kb --data DATA fetch --domain D --version V --from FROM`
fn fetch(data: &std::path::Path, domain: &str, version: &str, from: &str) -> std::process::Output {
    let data = data.to_str().expect("utf-8");
    let args = [
        "--data",
        data,
        "fetch",
        "--domain",
        domain,
        "--version",
        version,
        "--from",
        from,
    ];
    kb_in(&data_index(data), &args, &[])
}

fn data_index(data: &str) -> std::path::PathBuf {
    std::path::Path::new(data).with_file_name("index")
}

#[test]
fn fetch_from_a_local_http_mirror_and_from_a_folder() {
    let server = Server::start();
    let dir = scratch("fetch");
    let data = dir.join("data");
    let url = format!("http://127.0.0.1:{}", server.port);
    let o = fetch(&data, "ics", "18.1", &url);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = data.join("ics-attack-18.1.json");
    assert_eq!(
        std::fs::read(&got).expect("fetched"),
        std::fs::read(bundle(ICS)).expect("original")
    );
    // The data folder is the default source of `kb index`.
    let o = kb_in(
        &dir.join("index"),
        &["--data", data.to_str().expect("utf-8"), "index"],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let o = fetch(
        &data,
        "mobile",
        "18.1",
        attack_dir().to_str().expect("utf-8"),
    );
    assert!(o.status.success());
    assert!(data.join("mobile-attack-18.1.json").is_file());

    let o = fetch(&data, "ics", "9.9", &url);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ics-attack-9.9.json"));
    assert!(!data.join("ics-attack-9.9.json").exists());
}

#[test]
fn library_search_and_show_are_plain_functions() {
    let kb = open();
    let shown = attack_kb::query::show(&kb, "schtasks.exe").expect("show");
    let b = shown.entity.binary.expect("catalogue entry");
    assert!(b.ships_with_windows);
    assert_eq!(b.techniques[0].id, "T1053.005");
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kb"))
        // Far more than a pipe buffer holds, so kb is still writing when the reader goes away.
        .args([
            "--index",
            common::index_dir().to_str().expect("utf-8"),
            "search",
            "--json",
            "--limit",
            "500",
            "a",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kb runs");
    let mut first = [0u8; 16];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("some output");
    let out = child.wait_with_output().expect("kb ends");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "{err}");
}

#[test]
fn an_index_of_another_kb_version_is_rebuilt_from_its_own_bundles() {
    let dir = scratch("unreadable");
    let index = dir.join("index");
    std::fs::create_dir_all(index.join("gen-old")).expect("mkdir");
    std::fs::write(index.join("CURRENT"), "gen-old").expect("write");
    let manifest = serde_json::json!({
        "schema_version": 0,
        "sources": [{"path": bundle(ICS)}],
    });
    std::fs::write(index.join("gen-old/manifest.json"), manifest.to_string()).expect("write");
    // The default source is Mobile: the rebuild must read ICS again, as the manifest says.
    let mobile = bundle(common::MOBILE);
    let o = kb_in(
        &index,
        &["search", "--json", "T0800"],
        &[("KB_ATTACK", mobile.to_str().expect("utf-8"))],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("rebuilding it now from the same bundles"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["results"][0]["id"], "T0800");
    let kb = KbIndex::open(&index).expect("rebuilt");
    assert_eq!(kb.manifest.sources.len(), 1);
    assert_eq!(kb.manifest.sources[0].domain, "ics-attack");

    // Without readable bundles, an outdated index is an error, not a build from elsewhere.
    std::fs::write(index.join("CURRENT"), "gen-old").expect("write");
    let manifest = serde_json::json!({
        "schema_version": 0,
        "sources": [{"path": dir.join("gone.json")}],
    });
    std::fs::write(index.join("gen-old/manifest.json"), manifest.to_string()).expect("write");
    let o = kb_in(
        &index,
        &["search", "T0800"],
        &[("KB_ATTACK", mobile.to_str().expect("utf-8"))],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not all readable") && err.contains("kb index --attack"),
        "{err}"
    );
}

#[test]
fn an_index_of_other_curated_data_is_pointed_out() {
    let kbdir = common::kb_dir(
        "stale",
        "t.toml",
        "[[tactic]]\nid = \"TA0108\"\ndomain = \"ics-attack\"\nname = \"初期アクセス\"\n",
    );
    let index = kbdir.with_file_name("index");
    let ics = bundle(ICS);
    let args = [
        "index",
        "--kb",
        kbdir.to_str().expect("utf-8"),
        "--attack",
        ics.to_str().expect("utf-8"),
    ];
    assert!(kb_in(&index, &args, &[]).status.success());
    let o = kb_in(&index, &["search", "T0800"], &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("`kb index` rebuilds it"));
    let fresh = kb_in(
        &index,
        &["index", "--attack", ics.to_str().expect("utf-8")],
        &[],
    );
    assert!(fresh.status.success());
    let o = kb_in(&index, &["search", "T0800"], &[]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("rebuilds it"));
}
