//! cargo-fuzz target for the bundle reader: any bytes give a bundle or an error, never a panic,
//! and a bundle that is accepted links into a knowledge base.
//! Run with scripts/fuzz.sh; `seeds/bundle/` holds a small hand-written bundle to start from.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use attack_kb::model;
use attack_kb::source::curated::Curated;
use attack_kb::source::stix;
use libfuzzer_sys::fuzz_target;

fn curated() -> &'static Curated {
    static C: OnceLock<Curated> = OnceLock::new();
    C.get_or_init(|| Curated::embedded().expect("the embedded kb/ parses"))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = stix::parse_bundle(Path::new("fuzz.json"), data) {
        let _ = model::build(vec![b], curated());
    }
});
