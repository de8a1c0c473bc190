//! `kb explain` on arbitrary bytes, over a real index: KB_FUZZ_INDEX names an index folder
//! built beforehand with `kb index` (see scripts/fuzz.sh).
#![no_main]

use std::sync::OnceLock;

use attack_kb::explain::{self, Lang};
use attack_kb::index::KbIndex;
use libfuzzer_sys::fuzz_target;

fn index() -> &'static KbIndex {
    static KB: OnceLock<KbIndex> = OnceLock::new();
    KB.get_or_init(|| {
        let dir = std::env::var("KB_FUZZ_INDEX").expect("set KB_FUZZ_INDEX to an index folder");
        KbIndex::open(std::path::Path::new(&dir)).expect("the index opens")
    })
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let e = explain::explain(index(), &s, Lang::En).expect("explain never fails");
    assert!(serde_json::to_string(&e).map(|j| j.len() < 8 << 20).unwrap_or(false));
});
