//! Shared test fixtures: the real ATT&CK bundles in ../shared/attack and one real index per test
//! binary, built once from Enterprise 18.1, Mobile 18.1 and ICS 18.1 with the curated kb/.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use attack_kb::index::{self, KbIndex};
use attack_kb::model::{self, Kb};
use attack_kb::query::{self, Hit, SearchRequest};
use attack_kb::source::curated::Curated;
use attack_kb::source::stix;

pub fn attack_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/attack");
    assert!(
        dir.is_dir(),
        "the ATT&CK bundles are expected in {}",
        dir.display()
    );
    dir
}

pub fn bundle(name: &str) -> PathBuf {
    attack_dir().join(name)
}

pub const ENTERPRISE: &str = "enterprise-attack-18.1.json";
pub const ENTERPRISE_17: &str = "enterprise-attack-17.1.json";
pub const MOBILE: &str = "mobile-attack-18.1.json";
pub const ICS: &str = "ics-attack-18.1.json";

pub fn load_kb(files: &[&str]) -> Kb {
    let bundles = files
        .iter()
        .map(|f| stix::read_bundle(&bundle(f)).expect("bundle reads"))
        .collect();
    model::build(bundles, &Curated::embedded().expect("kb/ parses"))
}

/// A scratch folder under target/, removed by nobody: tests must not share one.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A curator's kb/ folder in a fresh scratch folder, holding one file `ja/<file>`.
pub fn kb_dir(name: &str, file: &str, text: &str) -> PathBuf {
    let kbdir = scratch(name).join("kb");
    std::fs::create_dir_all(kbdir.join("ja")).expect("mkdir");
    std::fs::write(kbdir.join("ja").join(file), text).expect("write");
    kbdir
}

/// The index every search test reads: all three 18.1 domains.
pub fn index_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let kb = load_kb(&[ENTERPRISE, MOBILE, ICS]);
        let dir = scratch("index");
        index::build(&kb, &dir, &|_, _| {}).expect("index builds");
        dir
    })
}

pub fn open() -> KbIndex {
    KbIndex::open(index_dir()).expect("index opens")
}

pub fn search(kb: &KbIndex, q: &str) -> Vec<Hit> {
    let req = SearchRequest {
        query: q.to_string(),
        limit: 10,
        ..Default::default()
    };
    query::search(kb, &req).expect("search never fails").results
}

pub fn ids(hits: &[Hit]) -> Vec<String> {
    hits.iter().map(|h| h.stored.id.clone()).collect()
}

/// Runs the real `kb` binary with the test index.
pub fn kb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kb"))
        .args(["--index", index_dir().to_str().expect("utf-8 path")])
        .args(args)
        .env_remove("KB_ATTACK")
        .env("LANG", "C")
        .output()
        .expect("kb runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs the real `kb` binary with the test index and `input` on its standard input.
pub fn kb_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kb"))
        .args(["--index", index_dir().to_str().expect("utf-8 path")])
        .args(args)
        .env_remove("KB_ATTACK")
        .env("LANG", "C")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("kb runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    child.wait_with_output().expect("kb ends")
}

/// A running `kb serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `kb GLOBAL… serve --listen 127.0.0.1:0 EXTRA…`
pub fn serve_with(global: &[&str], extra: &[&str]) -> Server {
    serve_env(global, extra, &[])
}

/// [`serve_with`] with these environment variables set (`KB_CACHE` for a `--bundle`).
pub fn serve_env(global: &[&str], extra: &[&str], env: &[(&str, &Path)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kb"))
        .args(global)
        .args(["serve", "--listen", "127.0.0.1:0", "--request-timeout", "2"])
        .args(extra)
        .envs(env.iter().copied())
        .env_remove("KB_ATTACK")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("kb serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log2 = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("kb: serving on http://") {
                let addr = rest.split('/').next().unwrap_or("").to_string();
                let _ = tx.send(addr);
            }
            if let Ok(mut l) = log2.lock() {
                l.push(line);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server says where it listens");
    Server {
        child,
        addr: addr.parse().expect("an address"),
        log,
    }
}

pub fn serve(global: &[&str]) -> Server {
    serve_with(global, &[])
}

/// The Python interpreter of the real client libraries (tests/python/requirements.txt), made by
/// scripts/py-clients.sh, which scripts/test runs first; `KB_PYTHON` overrides it.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("KB_PYTHON") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        p.is_file(),
        "the Python clients are missing: run scripts/py-clients.sh (scripts/test does)"
    );
    p
}

/// Runs tests/python/<script> with the real clients and `args`; panics with its output on a
/// non-zero exit, else returns its standard output.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let out = Command::new(python())
        .arg(&path)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
