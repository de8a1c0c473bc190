//! Embeds the curated `kb/` files into the binary, so `kb index` works from any folder and the
//! catalogue always matches the program. `--kb DIR` still reads a working copy instead.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let kb = root.join("kb");
    println!("cargo:rerun-if-changed=kb");
    let mut files = Vec::new();
    collect(&kb, &mut files);
    files.sort();
    let mut out = String::from("pub static FILES: &[(&str, &str)] = &[\n");
    let mut hasher = std::hash::DefaultHasher::new();
    for f in files {
        let rel = f
            .strip_prefix(&kb)
            .expect("under kb/")
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&f).expect("kb/ files are UTF-8");
        (&rel, &text).hash(&mut hasher);
        out.push_str(&format!(
            "    ({rel:?}, include_str!({:?})),\n",
            f.display().to_string()
        ));
    }
    out.push_str("];\n");
    // The same hash Curated::from_files computes at run time (same compiler, fixed keys).
    let fingerprint = hasher.finish();
    out.push_str(&format!(
        "pub const FINGERPRINT: &str = \"{fingerprint:016x}\";\n"
    ));
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("kb_files.rs");
    std::fs::write(dest, out).expect("write kb_files.rs");
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}
