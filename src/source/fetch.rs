//! `kb fetch`: downloads an ATT&CK bundle from MITRE's public repository (attack-stix-data), or
//! copies it from a mirror (a URL or a folder), into the data folder. A download is checked to be
//! a readable bundle before it replaces anything.

use std::path::{Path, PathBuf};

use crate::source::stix;
use crate::{Error, Result};

pub const MITRE_BASE: &str =
    "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master";

/// Bundles are large (Enterprise is ~40 MB) and ureq caps bodies at 10 MB by default.
const MAX_BUNDLE_BYTES: u64 = 1 << 30;

#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// enterprise, mobile or ics.
    pub domain: String,
    /// An ATT&CK release such as "18.1"; None takes the latest.
    pub version: Option<String>,
    /// A mirror: an http(s) URL or a folder, laid out like attack-stix-data or flat.
    pub from: Option<String>,
    /// The data folder to write into.
    pub dest: PathBuf,
}

pub fn file_name(domain: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{domain}-attack-{v}.json"),
        None => format!("{domain}-attack.json"),
    }
}

/// Fetches one bundle; returns where it was written.
pub fn fetch(req: &FetchRequest) -> Result<PathBuf> {
    let domain = req.domain.trim().to_ascii_lowercase();
    let domain = domain.trim_end_matches("-attack");
    if !matches!(domain, "enterprise" | "mobile" | "ics") {
        return Err(Error::Fetch(format!(
            "unknown domain {:?}: use enterprise, mobile or ics",
            req.domain
        )));
    }
    if let Some(v) = &req.version
        && !(v.contains('.') && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    {
        return Err(Error::Fetch(format!(
            "--version {v:?} is not an ATT&CK release such as 18.1"
        )));
    }
    let name = file_name(domain, req.version.as_deref());
    let base = req.from.clone().unwrap_or_else(|| MITRE_BASE.to_string());
    let candidates = [format!("{domain}-attack/{name}"), name.clone()];
    let mut tried = Vec::new();
    let mut bytes = None;
    for rel in &candidates {
        let got = if base.starts_with("http://") || base.starts_with("https://") {
            let url = format!("{}/{rel}", base.trim_end_matches('/'));
            let r = download(&url);
            tried.push(url);
            r
        } else {
            let p = Path::new(&base).join(rel);
            let r = std::fs::read(&p).map_err(|e| Error::io(&p, e));
            tried.push(p.display().to_string());
            r
        };
        match got {
            Ok(b) => {
                bytes = Some(b);
                break;
            }
            Err(e) => tried.push(format!("  ({e})")),
        }
    }
    let Some(bytes) = bytes else {
        return Err(Error::Fetch(format!(
            "no {name} at {}; check --domain/--version, or pass a mirror with --from",
            tried.join(", ")
        )));
    };
    std::fs::create_dir_all(&req.dest).map_err(|e| Error::io(&req.dest, e))?;
    let dest = req.dest.join(&name);
    let part = req.dest.join(format!("{name}.part"));
    // Refuse anything that is not an ATT&CK bundle before it can replace a good one.
    stix::parse_bundle(&dest, &bytes)?;
    std::fs::write(&part, &bytes).map_err(|e| Error::io(&part, e))?;
    std::fs::rename(&part, &dest).map_err(|e| Error::io(&dest, e))?;
    Ok(dest)
}

fn download(url: &str) -> Result<Vec<u8>> {
    let mut resp = ureq::get(url)
        .call()
        .map_err(|e| Error::Fetch(format!("{url}: {e}")))?;
    resp.body_mut()
        .with_config()
        .limit(MAX_BUNDLE_BYTES)
        .read_to_vec()
        .map_err(|e| Error::Fetch(format!("{url}: {e}")))
}
