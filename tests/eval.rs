//! Search quality on the shared dev set (../shared/eval/queries-dev.tsv), scored like score.py:
//! hit@1 per category must stay at or above 0.9.

mod common;

use std::collections::BTreeMap;

use common::{ids, open, search};

#[test]
fn dev_set_hit_at_1_is_at_least_0_9_in_every_category() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/queries-dev.tsv");
    let text = std::fs::read_to_string(&path).expect("dev set");
    let kb = open();
    let mut per: BTreeMap<String, (usize, usize, f64)> = BTreeMap::new();
    let mut misses = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (q, rel, cat) = (cols[0], cols[1], cols[2]);
        let rel: Vec<String> = rel.split_whitespace().map(str::to_lowercase).collect();
        let got: Vec<String> = ids(&search(&kb, q))
            .into_iter()
            .map(|s| s.to_lowercase())
            .collect();
        let rank = got.iter().position(|id| rel.contains(id));
        let e = per.entry(cat.to_string()).or_default();
        e.0 += 1;
        if rank == Some(0) {
            e.1 += 1;
        } else {
            misses.push(format!("{cat}: {q:?} -> {:?}", &got[..got.len().min(3)]));
        }
        e.2 += rank.map_or(0.0, |r| 1.0 / (r + 1) as f64);
    }
    for (cat, (n, hits, mrr)) in &per {
        let h1 = *hits as f64 / *n as f64;
        println!("{cat:<12} hit@1={h1:.2} mrr={:.2} n={n}", mrr / *n as f64);
        assert!(
            h1 >= 0.9,
            "{cat}: hit@1 {h1:.2}; misses:\n{}",
            misses.join("\n")
        );
    }
}
