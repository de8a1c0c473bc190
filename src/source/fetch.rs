//! `kb fetch`: downloads an ATT&CK bundle from MITRE's public repository (attack-stix-data), or
//! copies it from a mirror (a URL or a folder), into the data folder. A download is checked to be
//! a readable bundle of the domain asked for, about as large as the file it replaces, before it
//! replaces anything; every network step has a deadline.

use crate::msg;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::source::stix;
use crate::{Error, Result};

pub const MITRE_BASE: &str =
    "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master";

/// A server that does not accept the connection in this time is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// A server that sends nothing for this long has stalled.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The default deadline for one whole download (Enterprise is ~45 MB).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(600);
/// A replacement with fewer objects than this share of the file it replaces is refused without
/// --force: a one-object bundle served in place of Enterprise is not an update.
const MIN_KEPT_PERCENT: usize = 50;

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
    /// Replace the file even when the download has far fewer objects.
    pub force: bool,
    /// The deadline for each download as a whole.
    pub deadline: Duration,
}

/// Download progress: bytes so far and the announced total, if any.
pub type Progress<'a> = &'a dyn Fn(u64, Option<u64>);

/// What was fetched and where it went.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub path: PathBuf,
    /// The release the bundle declares (or "unknown"), and its object count.
    pub version: String,
    pub objects: usize,
}

pub fn file_name(domain: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{domain}-attack-{v}.json"),
        None => format!("{domain}-attack.json"),
    }
}

/// Fetches one bundle; returns where it was written and what it holds.
pub fn fetch(req: &FetchRequest, progress: Progress) -> Result<Fetched> {
    let domain = req.domain.trim().to_ascii_lowercase();
    let domain = domain.trim_end_matches("-attack");
    if !matches!(domain, "enterprise" | "mobile" | "ics") {
        return Err(Error::Fetch(msg!(
            "fetch.unknown_domain",
            domain = format!("{:?}", req.domain)
        )));
    }
    if let Some(v) = &req.version
        && !(v.contains('.') && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    {
        return Err(Error::Fetch(msg!(
            "fetch.bad_version",
            version = format!("{v:?}")
        )));
    }
    let name = file_name(domain, req.version.as_deref());
    let base = req.from.clone().unwrap_or_else(|| MITRE_BASE.to_string());
    let candidates = [format!("{domain}-attack/{name}"), name.clone()];
    let mut tried = Vec::new();
    let mut got = None;
    for rel in &candidates {
        let (origin, r) = if base.starts_with("http://") || base.starts_with("https://") {
            let url = format!("{}/{rel}", base.trim_end_matches('/'));
            // A deadline or a broken connection is the answer: other names would fare no better.
            let r = download(&url, req.deadline, progress)?.ok_or("not found".to_string());
            (url, r)
        } else {
            let p = Path::new(&base).join(rel);
            let r = stix::read_file(&p).map_err(|e| e.to_string());
            (p.display().to_string(), r)
        };
        match r {
            Ok(b) => {
                got = Some((origin, b));
                break;
            }
            Err(e) => tried.push(format!("{origin} ({e})")),
        }
    }
    let Some((origin, bytes)) = got else {
        return Err(Error::Fetch(msg!(
            "fetch.not_found",
            name = name,
            tried = tried.join(", ")
        )));
    };
    // Checked under the name it came from: a bad download is not the local file's fault.
    let bundle = stix::parse_bundle(Path::new(&origin), &bytes)?;
    let want = format!("{domain}-attack");
    if bundle.info.domain != want {
        return Err(Error::Fetch(msg!(
            "fetch.wrong_domain",
            origin = origin,
            domain = bundle.info.domain,
            want = want
        )));
    }
    let dest = req.dest.join(&name);
    if !req.force
        && let Ok(old) = stix::read_bundle(&dest)
    {
        let techniques = |b: &stix::Bundle| {
            b.objects
                .iter()
                .filter(|o| o.kind == "attack-pattern")
                .count()
        };
        for (what, new, was) in [
            ("objects", bundle.info.objects, old.info.objects),
            ("techniques", techniques(&bundle), techniques(&old)),
        ] {
            if new * 100 < was * MIN_KEPT_PERCENT {
                return Err(Error::Fetch(msg!(
                    "fetch.shrinks",
                    origin = origin,
                    new = new,
                    what = what,
                    was = was,
                    dest = dest.display()
                )));
            }
        }
    }
    std::fs::create_dir_all(&req.dest).map_err(|e| Error::io(&req.dest, e))?;
    let part = req.dest.join(format!("{name}.part"));
    std::fs::write(&part, &bytes).map_err(|e| Error::io(&part, e))?;
    std::fs::rename(&part, &dest).map_err(|e| Error::io(&dest, e))?;
    Ok(Fetched {
        path: dest,
        version: bundle.info.version,
        objects: bundle.info.objects,
    })
}

/// The body at `url`, or None where the server has no such file.
fn download(url: &str, deadline: Duration, progress: Progress) -> Result<Option<Vec<u8>>> {
    let started = Instant::now();
    let failed = |e: &dyn std::fmt::Display| {
        let late = started.elapsed() >= deadline;
        Error::Fetch(if late {
            msg!(
                "fetch.too_slow",
                url = url,
                seconds = deadline.as_secs(),
                detail = e
            )
        } else {
            format!("{url}: {e}").into()
        })
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT.min(deadline)))
        .timeout_per_read(Some(READ_TIMEOUT.min(deadline)))
        .timeout_global(Some(deadline))
        .build()
        .into();
    let mut resp = match agent.get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::StatusCode(404)) => return Ok(None),
        Err(e) => return Err(failed(&e)),
    };
    let total = resp.body().content_length();
    let mut reader = resp
        .body_mut()
        .with_config()
        .limit(stix::MAX_BUNDLE_BYTES)
        .reader();
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut chunk).map_err(|e| failed(&e))?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&chunk[..n]);
        progress(bytes.len() as u64, total);
    }
    Ok(Some(bytes))
}
