//! Issue 7: kb never loses a good index or bundle, never hangs and never panics, whatever it is
//! given. Each test reproduces one failure found by attacking kb, on the real bundles, a real
//! index and the real binary. Servers listen on 127.0.0.1 only and are bounded in time and count.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use attack_kb::index::{self, KbIndex};
use attack_kb::query::{self, SearchRequest};
use attack_kb::source::stix;
use common::{ENTERPRISE, ENTERPRISE_17, ICS, MOBILE, bundle, ids, load_kb, open, scratch, search};
use serde_json::Value;

fn kb_at(index: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kb"));
    c.args(["--index", path_str(index)])
        .args(args)
        .env_remove("KB_ATTACK")
        .env("LANG", "C");
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().expect("kb runs")
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh ICS index at `<scratch>/index`, built by the binary.
fn ics_index(name: &str) -> PathBuf {
    let index = scratch(name).join("index");
    let o = kb_at(&index, &["index", "--attack", path_str(&bundle(ICS))], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    index
}

fn live_gen(index: &Path) -> PathBuf {
    let name = std::fs::read_to_string(index.join("CURRENT")).expect("CURRENT");
    index.join(name.trim())
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).expect("read")).expect("JSON")
}

fn write_json(p: &Path, v: &Value) {
    std::fs::write(p, serde_json::to_vec(v).expect("serialise")).expect("write");
}

/// The ICS bundle with `edit` applied to its objects, written to `path`.
fn edited_ics(path: &Path, edit: impl FnOnce(&mut Vec<Value>)) {
    let mut b = read_json(&bundle(ICS));
    edit(b["objects"].as_array_mut().expect("objects"));
    write_json(path, &b);
}

/// Runs `cmd`, killing it if it outlives `limit`; returns its output and how long it took.
fn run_bounded(cmd: &mut Command, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    (out, started.elapsed())
}

fn kb_cmd(index: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kb"));
    c.args(["--index", path_str(index)])
        .args(args)
        .env_remove("KB_ATTACK")
        .env("LANG", "C");
    c
}

/// A local HTTP server answering up to `count` connections with `answer`, each in its own
/// thread. Returns its base URL.
fn serve(count: usize, answer: fn(TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(count).flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn read_request(s: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.read(&mut buf);
}

fn fetch_args<'a>(data: &'a Path, domain: &'a str, from: &'a str) -> Vec<&'a str> {
    vec![
        "--data",
        path_str(data),
        "fetch",
        "--domain",
        domain,
        "--version",
        "18.1",
        "--from",
        from,
    ]
}

// 1. Only kb's own generations are removed, and never one that a reader holds.
#[test]
fn cleanup_removes_only_kb_generations_that_no_reader_holds() {
    let index = ics_index("cleanup");
    // A user's folder, older than the age after which kb treats its own leftovers as garbage.
    let foreign = index.join("gen-x");
    std::fs::create_dir_all(&foreign).expect("mkdir");
    std::fs::write(foreign.join("notes.txt"), "mine").expect("write");
    let old = std::fs::File::open(&foreign).expect("open dir");
    old.set_modified(std::time::SystemTime::now() - Duration::from_secs(7200))
        .expect("backdate");
    let held = KbIndex::open(&index).expect("opens");
    let held_gen = live_gen(&index);
    for _ in 0..3 {
        let o = kb_at(&index, &["index", "--attack", path_str(&bundle(ICS))], &[]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert!(
        foreign.join("notes.txt").is_file(),
        "a folder kb did not write is kept"
    );
    assert!(held_gen.is_dir(), "a generation a reader holds is kept");
    assert_eq!(search(&held, "T0800")[0].stored.id, "T0800");
}

// 2. A damaged index is an error naming the file and the fix; it is never rebuilt from other
// sources (here the default source is Mobile, the index was ICS).
#[test]
fn a_damaged_index_is_an_error_naming_the_file_never_a_rebuild() {
    let mobile = bundle(MOBILE);
    let env = [("KB_ATTACK", path_str(&mobile))];
    type Damage = fn(&Path);
    let cases: [(&str, Damage, &str); 4] = [
        (
            "truncated-manifest",
            |i| {
                let p = live_gen(i).join("manifest.json");
                let text = std::fs::read(&p).expect("read");
                std::fs::write(&p, &text[..text.len() / 2]).expect("truncate");
            },
            "manifest.json",
        ),
        (
            "truncated-redirects",
            |i| {
                let p = live_gen(i).join("redirects.json");
                let text = std::fs::read(&p).expect("read");
                std::fs::write(&p, &text[..text.len() / 2]).expect("truncate");
            },
            "redirects.json",
        ),
        (
            "no-current",
            |i| std::fs::remove_file(i.join("CURRENT")).expect("rm"),
            "CURRENT",
        ),
        (
            "current-outside",
            |i| std::fs::write(i.join("CURRENT"), "../elsewhere").expect("write"),
            "CURRENT",
        ),
    ];
    for (name, damage, file) in cases {
        let index = ics_index(name);
        damage(&index);
        let before: Vec<_> = std::fs::read_dir(&index)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        let o = kb_at(&index, &["search", "T0800"], &env);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains("damaged") && err.contains(file) && err.contains("kb index"),
            "{name}: {err}"
        );
        assert!(
            err.contains(path_str(&bundle(ICS))) || file != "redirects.json",
            "{name}: the fix names the bundles the index was built from: {err}"
        );
        let after: Vec<_> = std::fs::read_dir(&index)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(before, after, "{name}: nothing was rebuilt");
    }
}

// 3. Gutted bundles: every technique unreadable is refused, with the per-object errors (13).
#[test]
fn a_bundle_whose_techniques_all_fail_is_refused_with_its_errors() {
    let index = ics_index("gutted");
    let bad = index.with_file_name("gutted.json");
    edited_ics(&bad, |objects| {
        for o in objects.iter_mut().filter(|o| o["type"] == "attack-pattern") {
            o["name"] = Value::from(42);
        }
    });
    let o = kb_at(&index, &["index", "--attack", path_str(&bad)], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("attack-pattern") && err.contains("object #") && err.contains("invalid type"),
        "{err}"
    );
    let kb = KbIndex::open(&index).expect("the old index is kept");
    assert_eq!(kb.manifest.counts[&attack_kb::model::Kind::Technique], 83);

    // A per-type error rate above 10% is refused too: here a fifth of the relationships.
    edited_ics(&bad, |objects| {
        for o in objects
            .iter_mut()
            .filter(|o| o["type"] == "relationship")
            .step_by(5)
        {
            o["relationship_type"] = Value::from(5);
        }
    });
    let o = kb_at(&index, &["index", "--attack", path_str(&bad)], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("relationship objects could not be read"),
        "{err}"
    );
}

#[test]
fn a_much_smaller_bundle_replaces_the_index_only_with_force() {
    let index = ics_index("smaller");
    let small = index.with_file_name("small.json");
    edited_ics(&small, |objects| {
        let mut techniques = 0;
        objects.retain(|o| {
            o["type"] != "attack-pattern" || {
                techniques += 1;
                techniques <= 3
            }
        });
    });
    let o = kb_at(&index, &["index", "--attack", path_str(&small)], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("far fewer") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        KbIndex::open(&index).expect("kept").manifest.counts[&attack_kb::model::Kind::Technique],
        83
    );
    let o = kb_at(
        &index,
        &["index", "--force", "--attack", path_str(&small)],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn fetch_refuses_another_domain_a_gutted_bundle_and_garbage_naming_the_source() {
    let dir = scratch("fetch-gates");
    let data = dir.join("data");
    let good = data.join("ics-attack-18.1.json");
    let o = kb_at(
        &dir.join("index"),
        &fetch_args(&data, "ics", path_str(&common::attack_dir())),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // 11: the release is read from the bundle and reported.
    assert!(stderr(&o).contains("ATT&CK 18.1"), "{}", stderr(&o));
    let original = std::fs::read(&good).expect("fetched");

    // A Mobile bundle served as ICS.
    let mirror = dir.join("mirror");
    std::fs::create_dir_all(&mirror).expect("mkdir");
    std::fs::copy(bundle(MOBILE), mirror.join("ics-attack-18.1.json")).expect("copy");
    let o = kb_at(
        &dir.join("index"),
        &fetch_args(&data, "ics", path_str(&mirror)),
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("mobile-attack"), "{}", stderr(&o));

    // A bundle of a few objects in place of the whole domain.
    edited_ics(&mirror.join("ics-attack-18.1.json"), |objects| {
        objects.retain(|o| o["type"] == "x-mitre-collection" || o["type"] == "x-mitre-tactic");
    });
    let o = kb_at(
        &dir.join("index"),
        &fetch_args(&data, "ics", path_str(&mirror)),
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&good).expect("kept"), original);

    // Garbage from a server is blamed on the server, not on the good local file.
    let url = serve(4, |mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world");
    });
    let o = kb_at(&dir.join("index"), &fetch_args(&data, "ics", &url), &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.contains(&url) && !err.contains(path_str(&good)),
        "{err}"
    );
    assert_eq!(std::fs::read(&good).expect("kept"), original);

    let mut args = fetch_args(&data, "ics", path_str(&mirror));
    args.push("--force");
    let o = kb_at(&dir.join("index"), &args, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}

// 4. Deadlines: a server that never answers, and one that trickles its body.
#[test]
fn fetch_gives_up_on_silent_and_trickling_servers() {
    let silent = serve(2, |mut s| {
        read_request(&mut s);
        std::thread::sleep(Duration::from_secs(20));
    });
    let trickle = serve(2, |mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n{");
        for _ in 0..200 {
            std::thread::sleep(Duration::from_millis(100));
            if s.write_all(b" ").is_err() {
                return;
            }
        }
    });
    let dir = scratch("deadlines");
    let data = dir.join("data");
    for url in [silent, trickle] {
        let mut args = fetch_args(&data, "ics", &url);
        args.extend(["--timeout", "2"]);
        let (o, took) = run_bounded(
            &mut kb_cmd(&dir.join("index"), &args),
            Duration::from_secs(15),
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{url}: {err}");
        assert!(err.contains("within 2 s"), "{err}");
        assert!(took < Duration::from_secs(8), "{url}: took {took:?}");
    }
}

// 5. A symlink loop in a kb/ folder is not followed.
#[test]
fn symlink_loops_in_a_kb_folder_are_not_followed() {
    let kbdir = common::kb_dir(
        "symloop",
        "t.toml",
        "[[tactic]]\nid = \"TA0108\"\ndomain = \"ics-attack\"\nname = \"初期アクセス\"\n",
    );
    std::os::unix::fs::symlink("..", kbdir.join("ja/up")).expect("symlink");
    std::os::unix::fs::symlink(".", kbdir.join("ja/self")).expect("symlink");
    let ics = bundle(ICS);
    let args = ["lint", "--kb", path_str(&kbdir), "--attack", path_str(&ics)];
    let (o, took) = run_bounded(
        &mut kb_cmd(&kbdir.with_file_name("index"), &args),
        Duration::from_secs(30),
    );
    assert!(o.status.code().is_some(), "killed after {took:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(!stderr(&o).contains("also translated"), "{}", stderr(&o));
}

// 6. Zip entries: capped in size, and exactly one bundle (16).
#[test]
fn zip_entries_are_capped_and_must_be_one_bundle() {
    use zip::write::SimpleFileOptions;
    let dir = scratch("zips");
    let big = dir.join("big.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&big).expect("create"));
        let opts = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        z.start_file("enterprise-attack.json", opts).expect("entry");
        z.write_all(b"{\"type\": \"bundle\", \"objects\": [")
            .expect("write");
        let spaces = vec![b' '; 1 << 20];
        for _ in 0..300 {
            z.write_all(&spaces).expect("write");
        }
        z.write_all(b"]}").expect("write");
        z.finish().expect("finish");
    }
    assert!(std::fs::metadata(&big).expect("meta").len() < 4 << 20);
    let started = Instant::now();
    let err = stix::read_bundle(&big).err().expect("refused");
    assert!(err.to_string().contains("larger than 256 MiB"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let two = dir.join("two.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&two).expect("create"));
        let ics = std::fs::read(bundle(ICS)).expect("read");
        for name in ["a/ics-attack.json", "b/mobile-attack.json"] {
            z.start_file(name, SimpleFileOptions::default())
                .expect("entry");
            z.write_all(&ics).expect("write");
        }
        z.finish().expect("finish");
    }
    let err = stix::read_bundle(&two).err().expect("refused").to_string();
    assert!(
        err.contains("a/ics-attack.json") && err.contains("b/mobile-attack.json"),
        "{err}"
    );
}

/// Deterministic random kanji (CJK Unified Ideographs), `bytes` long in UTF-8.
fn random_kanji(bytes: usize) -> String {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..bytes / 3)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from_u32(0x4e00 + (x % 0x5200) as u32).expect("kanji")
        })
        .collect()
}

// 7. The work per query is bounded: 512 KB of random kanji answers quickly.
#[test]
fn any_query_answers_quickly() {
    let kb = open();
    let q = random_kanji(512 * 1024);
    let req = SearchRequest {
        query: q,
        limit: 10,
        ..Default::default()
    };
    let started = Instant::now();
    let resp = query::search(&kb, &req).expect("answers");
    let took = started.elapsed();
    println!("512 KB of random kanji: {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(resp.notes.iter().any(|n| n.contains("first 4096 bytes")));
    // The same through the binary: one argument is at most 128 KB on Linux.
    let started = Instant::now();
    let o = common::kb(&["search", "--json", &random_kanji(120 * 1024)]);
    println!(
        "120 KB of random kanji, whole process: {:?}",
        started.elapsed()
    );
    assert!(o.status.success());
    assert!(started.elapsed() < Duration::from_secs(5));
}

// 8. A corrupted index is an error, never a panic.
#[test]
fn a_corrupted_index_is_an_error_never_a_panic() {
    let base = ics_index("corrupt");
    for ext in ["fast", "term", "idx", "store", "fieldnorm"] {
        let index = base.with_file_name(format!("index-{ext}"));
        let o = Command::new("cp")
            .args(["-a", path_str(&base), path_str(&index)])
            .status()
            .expect("cp");
        assert!(o.success());
        let gen_dir = live_gen(&index);
        let file = std::fs::read_dir(&gen_dir)
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == ext))
            .expect("segment file");
        let mut bytes = std::fs::read(&file).expect("read");
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x5a;
        std::fs::write(&file, &bytes).expect("write");
        for args in [&["search", "T0800"][..], &["show", "T0800"]] {
            let o = kb_at(&index, args, &[]);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{ext}: {err}");
            assert!(
                err.contains("damaged") && err.contains(ext) && err.contains("kb index"),
                "{ext}: {err}"
            );
        }
    }
}

#[test]
fn damage_under_an_open_index_never_panics_the_reader() {
    let kb = load_kb(&[ICS]);
    let dir = scratch("damaged-open");
    index::build(&kb, &dir, &|_, _| {}).expect("build");
    let opened = KbIndex::open(&dir).expect("opens");
    // The files are mapped: writing them in place changes what the open index reads.
    for entry in std::fs::read_dir(live_gen(&dir)).expect("dir").flatten() {
        let p = entry.path();
        let segment = p
            .extension()
            .is_some_and(|x| ["store", "term", "idx", "fast"].contains(&x.to_str().unwrap_or("")));
        if !segment {
            continue;
        }
        let mut bytes = std::fs::read(&p).expect("read");
        let n = bytes.len();
        for i in (n / 7..n).step_by((n / 31).max(1)) {
            bytes[i] ^= 0xff;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .expect("open");
        f.write_all(&bytes).expect("write in place");
    }
    for q in ["T0800", "ICS", "Modify Parameter", "firmware", "T0", "a"] {
        let req = SearchRequest {
            query: q.into(),
            limit: 10,
            ..Default::default()
        };
        // Either answer is fine; a panic escaping here fails the test.
        let _ = query::search(&opened, &req);
        let _ = query::show(&opened, q);
    }
}

// 9. A closed stderr changes no exit code.
#[test]
fn a_closed_stderr_changes_no_exit_code() {
    let index = ics_index("closed-stderr");
    let warned = index.with_file_name("warned.json");
    edited_ics(&warned, |objects| {
        let r = objects
            .iter_mut()
            .find(|o| o["type"] == "relationship")
            .expect("a relationship");
        r.as_object_mut().expect("object").remove("source_ref");
    });
    let run = |args: &[&str]| {
        Command::new("sh")
            .args(["-c", "exec \"$@\" 2>&-", "sh", env!("CARGO_BIN_EXE_kb")])
            .args(["--index", path_str(&index)])
            .args(args)
            .env_remove("KB_ATTACK")
            .stdout(Stdio::null())
            .status()
            .expect("sh runs")
            .code()
    };
    assert_eq!(run(&["show", "T9999"]), Some(3));
    assert_eq!(run(&["index", "--attack", path_str(&warned)]), Some(0));
    assert_eq!(run(&["search", "T0800"]), Some(0));
}

// 10. A reader writes nothing: a read-only index serves searches.
#[test]
fn a_read_only_index_serves_searches() {
    let index = ics_index("readonly");
    let listing = |dir: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        v.sort();
        v
    };
    let gen_before = listing(&live_gen(&index));
    let root_before = listing(&index);
    let o = kb_at(&index, &["search", "T0800"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        listing(&live_gen(&index)),
        gen_before,
        "a search wrote into the generation"
    );
    assert_eq!(
        listing(&index),
        root_before,
        "a search wrote into the index folder"
    );

    // A read-only mount where we may mount (root in a container), else permissions.
    let ro = index.with_file_name("ro");
    std::fs::create_dir_all(&ro).expect("mkdir");
    let mounted = Command::new("mount")
        .args(["--bind", path_str(&index), path_str(&ro)])
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("mount")
            .args(["-o", "remount,bind,ro", path_str(&ro)])
            .status()
            .is_ok_and(|s| s.success());
    let target = if mounted {
        ro.clone()
    } else {
        let _ = Command::new("chmod")
            .args(["-R", "a-w", path_str(&index)])
            .status();
        index.clone()
    };
    let o = kb_at(&target, &["search", "--json", "T0800"], &[]);
    if mounted {
        let _ = Command::new("umount").arg(&ro).status();
    }
    let _ = Command::new("chmod")
        .args(["-R", "u+w", path_str(&index)])
        .status();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["results"][0]["id"], "T0800");
}

// 11. The newest release is read from the content, not the file name.
#[test]
fn the_newest_release_is_read_from_the_bundle_not_its_name() {
    let dir = scratch("newest");
    // What `kb fetch` writes without --version, beside an older named release.
    std::os::unix::fs::symlink(bundle(ENTERPRISE), dir.join("enterprise-attack.json"))
        .expect("symlink");
    std::os::unix::fs::symlink(
        bundle(ENTERPRISE_17),
        dir.join("enterprise-attack-17.1.json"),
    )
    .expect("symlink");
    let files = attack_kb::source::bundle_files(std::slice::from_ref(&dir)).expect("files");
    let bundles = files
        .iter()
        .map(|f| stix::read_bundle(f).expect("reads"))
        .collect();
    let kb = attack_kb::model::build(
        bundles,
        &attack_kb::source::curated::Curated::embedded().expect("kb/"),
    );
    assert_eq!(kb.sources.len(), 1);
    assert!(
        kb.sources[0].path.ends_with("enterprise-attack.json"),
        "{:?}",
        kb.sources
    );
    assert!(
        kb.warnings
            .iter()
            .any(|w| w.contains("enterprise-attack-17.1.json")),
        "{:?}",
        kb.warnings
    );
}

// 12. Made-up and deprecated IDs say so, and offer the nearest live ID.
#[test]
fn made_up_and_deprecated_ids_are_named_as_such() {
    let kb = open();
    let req = SearchRequest {
        query: "T1053.999".into(),
        limit: 5,
        ..Default::default()
    };
    let resp = query::search(&kb, &req).expect("search");
    assert_eq!(resp.results[0].stored.id, "T1053");
    assert!(
        resp.notes[0].contains("T1053.999 does not exist"),
        "{:?}",
        resp.notes
    );

    let o = common::kb(&["show", "T1053.999"]);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(
        err.contains("does not exist") && err.contains("kb show T1053`"),
        "{err}"
    );

    let o = common::kb(&["show", "T1064"]);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(
        err.contains("T1064 (Scripting) is deprecated") && err.contains("20"),
        "{err}"
    );
}

// 13. Messages that name the right thing.
#[test]
fn a_fifo_or_device_is_not_reported_as_missing() {
    let dir = scratch("fifo");
    let fifo = dir.join("bundle.json");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    for p in [fifo.as_path(), Path::new("/dev/zero")] {
        let (o, took) = run_bounded(
            &mut kb_cmd(&dir.join("index"), &["index", "--attack", path_str(p)]),
            Duration::from_secs(10),
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err} after {took:?}");
        assert!(
            err.contains("not a regular file") && !err.contains("does not exist"),
            "{err}"
        );
    }
}

#[test]
fn a_bundle_with_a_byte_order_mark_reads() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(std::fs::read(bundle(ICS)).expect("read"));
    let b = stix::parse_bundle(Path::new("bom.json"), &bytes).expect("a BOM is accepted");
    assert_eq!(b.info.domain, "ics-attack");
}

#[test]
fn a_full_disk_says_so_and_keeps_the_index() {
    let dir = scratch("enospc");
    let small = dir.join("small");
    std::fs::create_dir_all(&small).expect("mkdir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs", path_str(&small)])
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        println!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let o = kb_at(
        &small.join("index"),
        &["index", "--attack", path_str(&bundle(ICS))],
        &[],
    );
    let left = std::fs::read_dir(small.join("index"))
        .map(|d| d.count())
        .unwrap_or(0);
    let _ = Command::new("umount").arg(&small).status();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("disk is full") && !err.contains("rebuild it with"),
        "{err}"
    );
    assert!(
        left <= 2,
        "the half-written generation is removed ({left} entries left)"
    );
}

// 14. Checks that stayed silent.
#[test]
fn a_translation_with_a_short_domain_is_still_checked() {
    let kbdir = common::kb_dir(
        "short-domain",
        "t.toml",
        "[[technique]]\nid = \"T9999\"\ndomain = \"enterprise\"\nname = \"存在しない技術\"\n",
    );
    let o = kb_at(
        &kbdir.with_file_name("index"),
        &[
            "lint",
            "--kb",
            path_str(&kbdir),
            "--attack",
            path_str(&bundle(ENTERPRISE)),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let out = common::stdout(&o);
    assert!(out.contains("T9999 does not exist"), "{out}");
}

#[test]
fn index_refuses_a_kb_folder_that_lint_rejects() {
    let kbdir = common::kb_dir(
        "lint-gate",
        "t.toml",
        "[[technique]]\nid = \"T0999\"\ndomain = \"ics-attack\"\nname = \"存在しない技術\"\n",
    );
    let index = kbdir.with_file_name("index");
    let o = kb_at(
        &index,
        &[
            "index",
            "--kb",
            path_str(&kbdir),
            "--attack",
            path_str(&bundle(ICS)),
        ],
        &[],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("kb lint") && err.contains("T0999"), "{err}");
    assert!(!index::exists(&index));
}

#[test]
fn duplicate_attack_ids_in_a_bundle_are_reported() {
    let dir = scratch("duplicates");
    let dup = dir.join("dup.json");
    edited_ics(&dup, |objects| {
        let mut copy = objects
            .iter()
            .find(|o| o["type"] == "attack-pattern")
            .expect("a technique")
            .clone();
        copy["id"] = "attack-pattern--00000000-0000-4000-8000-000000000000".into();
        objects.push(copy);
    });
    let o = kb_at(
        &dir.join("index"),
        &["index", "--attack", path_str(&dup)],
        &[],
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("duplicate ATT&CK ID T0"), "{err}");
}

// 15. Control characters typed by the user come back escaped.
#[test]
fn control_characters_are_escaped_in_hints() {
    let o = common::kb(&["show", "\u{1b}[31mred\u{7}"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(!o.stderr.contains(&0x1b) && !o.stderr.contains(&0x07));
    assert!(stderr(&o).contains("\\u{1b}[31mred"), "{}", stderr(&o));
}

// 16. Small ones.
#[test]
fn zero_width_characters_do_not_change_the_answer() {
    let kb = open();
    for q in [
        "T1053\u{200b}.005",
        "\u{feff}T1053.005",
        "T1053.\u{200d}005",
    ] {
        assert_eq!(ids(&search(&kb, q))[0], "T1053.005", "{q:?}");
        let shown = query::show(&kb, q).expect("show");
        assert_eq!(shown.entity.id, "T1053.005");
    }
}

#[test]
fn concurrent_first_searches_build_the_index_once() {
    let index = scratch("first-run").join("index");
    let ics = bundle(ICS);
    let children: Vec<_> = (0..6)
        .map(|_| {
            kb_cmd(&index, &["search", "--json", "T0800"])
                .env("KB_ATTACK", &ics)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawns")
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("ends"))
        .collect();
    let builders = outputs
        .iter()
        .filter(|o| stderr(o).contains("building it first"))
        .count();
    for o in &outputs {
        assert!(o.status.success(), "{}", stderr(o));
        let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
        assert_eq!(v["results"][0]["id"], "T0800");
    }
    assert_eq!(builders, 1, "one search builds, the others wait");
}
