//! A one-shot process's resident memory, kept to the phase it is in.
//!
//! The `kb` binary carries IPADIC (46 MB) and 12 MB of code, both mapped from the executable
//! file. The kernel maps up to 64 KiB of already cached file pages around each page a process
//! touches (fault-around), so one Japanese analysis leaves about 9 MB of dictionary resident and
//! starting up and opening an index leave 6 MB of code: a `kb search` of a Japanese sentence
//! peaked at 24 MB, nearly all of it pages it no longer used. [`phase_done`] hands the clean
//! pages of the executable's read-only mappings back (`madvise(MADV_DONTNEED)`); whatever is
//! touched again is mapped again from the page cache, so the next phase holds only its own pages.
//!
//! Owns the decision and the system call; the callers (the query path) say where a phase ends.
//! Off until a frontend turns it on with [`trim_between_phases`]: a server touches the same
//! pages on every request, and mapping them again each time would cost time for nothing.
//! Linux only; elsewhere [`phase_done`] does nothing.

use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);

/// Turns trimming on for this process (the CLI's one-shot commands) or off.
pub fn trim_between_phases(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

/// Ends a phase: the executable's clean read-only pages are dropped if trimming is on.
pub fn phase_done() {
    if ON.load(Ordering::Relaxed) {
        trim();
    }
}

#[cfg(target_os = "linux")]
fn trim() {
    // Trimming only ever saves memory: any failure (no /proc, a mapping that changed meanwhile)
    // leaves the pages where they are.
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return;
    };
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    for m in clean_mappings(&smaps, &exe) {
        // SAFETY: the range is a whole mapping of the executable file, read-only and private,
        // with no anonymous page: every page in it equals the file's bytes, so dropping it only
        // makes the next read fault it in again, with the same contents. Pages that relocation
        // or a debugger wrote are anonymous copies, and their mappings are skipped (dropping
        // those would undo the writes).
        unsafe {
            libc::madvise(m.start as *mut libc::c_void, m.len, libc::MADV_DONTNEED);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn trim() {}

#[derive(Debug, PartialEq)]
struct Range {
    start: usize,
    len: usize,
}

/// The mappings of `exe` in a `/proc/self/smaps` text that are read-only and private and that
/// smaps says hold no anonymous (copied-on-write) page; a mapping it says nothing about is kept.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn clean_mappings(smaps: &str, exe: &std::path::Path) -> Vec<Range> {
    let mut out = Vec::new();
    let mut candidate: Option<Range> = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else {
            continue;
        };
        if let Some((a, b)) = first.split_once('-')
            && let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        {
            // A mapping's header: address range, permissions, offset, device, inode, path.
            let perms = fields.next().unwrap_or("");
            let path = fields.nth(3).unwrap_or("");
            candidate = (perms.len() == 4
                && perms.starts_with("r-")
                && perms.ends_with('p')
                && std::path::Path::new(path) == exe
                && b > a)
                .then_some(Range {
                    start: a,
                    len: b - a,
                });
        } else if first == "Anonymous:"
            && let Some(r) = candidate.take()
            && fields.next() == Some("0")
        {
            out.push(r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
00400000-00500000 r--p 00000000 08:01 42 /opt/kb
Rss:                 512 kB
Anonymous:             0 kB
00500000-00600000 r-xp 00100000 08:01 42 /opt/kb
Anonymous:             0 kB
00600000-00610000 r--p 00200000 08:01 42 /opt/kb
Anonymous:            64 kB
00610000-00620000 rw-p 00210000 08:01 42 /opt/kb
Anonymous:             0 kB
00700000-00800000 r--p 00000000 08:01 43 /usr/lib/libc.so.6
Anonymous:             0 kB
00900000-00a00000 r--s 00000000 08:01 44 /opt/kb
Anonymous:             0 kB
";

    #[test]
    fn only_the_executables_clean_read_only_private_mappings_are_trimmed() {
        let got = clean_mappings(SMAPS, std::path::Path::new("/opt/kb"));
        assert_eq!(
            got,
            vec![
                Range {
                    start: 0x400000,
                    len: 0x100000
                },
                Range {
                    start: 0x500000,
                    len: 0x100000
                },
            ]
        );
    }

    #[test]
    fn a_mapping_smaps_says_nothing_about_is_kept() {
        let smaps =
            "00400000-00500000 r--p 00000000 08:01 42 /x\nRss: 4 kB\ngarbage\n-\nzz-yy r--p\n";
        assert!(clean_mappings(smaps, std::path::Path::new("/x")).is_empty());
    }
}
