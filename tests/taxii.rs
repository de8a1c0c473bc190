//! The TAXII 2.1 server of `kb serve` as real clients use it: taxii2-client and stix2 (from
//! .venv) and raw HTTP against the real server on a real index of the three 18.1 bundles, and
//! the same objects, byte for byte, from a packed index.

mod common;

use std::path::Path;

use attack_kb::source::stix;
use common::*;

const TAXII: &str = "application/taxii+json;version=2.1";
const ENTERPRISE_COLLECTION: &str = "x-mitre-collection--1f5f1533-f617-4ca8-9ab4-6a02367fa019";

fn index_arg() -> [&'static str; 2] {
    ["--index", index_dir().to_str().expect("utf-8 path")]
}

fn discovery(s: &Server) -> String {
    format!("http://{}/taxii2/", s.addr)
}

fn attack() -> String {
    attack_dir().to_str().expect("utf-8 path").to_string()
}

fn figures(out: &str) -> serde_json::Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn taxii2_client_pages_every_collection_and_fetches_t1053_005() {
    let server = serve_with(&index_arg(), &["--no-access-log"]);
    let page_size = 1000;
    let out = run_python(
        "taxii_client.py",
        &[&discovery(&server), &attack(), &page_size.to_string()],
    );
    let f = figures(&out);
    println!("taxii2-client: {out}");
    // The counts the client saw, against kb's own reading of each bundle.
    for file in [ENTERPRISE, MOBILE, ICS] {
        let b = stix::read_bundle(&bundle(file)).expect("bundle reads");
        let c = &f["collections"][file];
        assert_eq!(c["served_objects"], b.raw.len(), "{file}");
        assert_eq!(c["pages"], b.raw.len().div_ceil(page_size), "{file}");
    }
    assert!(
        f["T1053.005"]
            .as_str()
            .is_some_and(|id| id.starts_with("attack-pattern--"))
    );
}

#[test]
fn stix2_reads_the_2_0_and_2_1_collections_and_the_japanese_language_content() {
    let server = serve_with(&index_arg(), &["--no-access-log", "--taxii-ja"]);
    let out = run_python("taxii_stix2.py", &[&discovery(&server), &attack(), "--ja"]);
    let f = figures(&out);
    println!("stix2: {out}");
    // The Japanese name a client reads is kb's own, as `kb show` gives it.
    let shown: serde_json::Value =
        serde_json::from_slice(&kb(&["show", "T1053.005", "--json"]).stdout).expect("json");
    assert!(shown["name_ja"].is_string());
    assert_eq!(f["language_content"]["T1053.005"], shown["name_ja"]);
    assert_eq!(f["enterprise"]["tactics"], 14);
}

#[test]
fn raw_http_negotiation_errors_filters_and_paging_headers() {
    let server = serve_with(&index_arg(), &["--no-access-log"]);
    let out = run_python(
        "taxii_http.py",
        &[&format!("http://{}", server.addr), &attack()],
    );
    let f = figures(&out);
    let enterprise = stix::read_bundle(&bundle(ENTERPRISE)).expect("bundle reads");
    assert_eq!(f["manifest"], enterprise.raw.len());
}

/// The object as one GET of it answers, and what that answer must be: the bundle's bytes of
/// the object in TAXII's envelope.
fn object_answer(server: &Server, id: &str) -> (String, String) {
    let url = format!(
        "http://{}/api/v21/collections/{ENTERPRISE_COLLECTION}/objects/{id}/",
        server.addr
    );
    let mut resp = ureq::get(&url)
        .header("Accept", TAXII)
        .call()
        .expect("the object answers");
    let body = resp.body_mut().read_to_string().expect("a body");
    let b = stix::read_bundle(&bundle(ENTERPRISE)).expect("bundle reads");
    let needle = format!("\"id\": \"{id}\"");
    let raw = b
        .raw
        .iter()
        .find(|o| String::from_utf8_lossy(o).contains(&needle))
        .expect("the object is in the bundle");
    let expected = format!(
        "{{\"more\":false,\"objects\":[{}]}}",
        String::from_utf8_lossy(raw)
    );
    (body, expected)
}

#[test]
fn objects_are_served_byte_for_byte_also_from_a_packed_index() {
    let work = scratch("taxii-pack");
    let zip = work.join("attack-kb.zip");
    let o = kb(&["pack", "-o", zip.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cache = work.join("cache");
    let packed = serve_env(
        &["--bundle", zip.to_str().expect("utf-8")],
        &["--no-access-log"],
        &[("KB_CACHE", cache.as_path())],
    );
    let plain = serve_with(&index_arg(), &["--no-access-log"]);
    let technique = stix::read_bundle(&bundle(ENTERPRISE))
        .expect("bundle reads")
        .objects
        .into_iter()
        .find(|o| o.attack_id().as_deref() == Some("T1053.005") && o.kind == "attack-pattern")
        .expect("T1053.005 is in the bundle");
    for server in [&packed, &plain] {
        let (body, expected) = object_answer(server, &technique.id);
        assert_eq!(body, expected);
    }
    // The packed index unpacked its STIX objects beside the tantivy files.
    assert!(
        has_stix_files(&cache),
        "no STIX objects under {}",
        cache.display()
    );
}

fn has_stix_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let p = e.path();
            p.is_dir() && has_stix_files(&p)
                || p.file_name()
                    .is_some_and(|n| n.to_string_lossy() == "stix-enterprise-attack.objects")
        })
}
