//! The command-line splitters on arbitrary bytes: argv (CRT rules), cmd.exe, PowerShell.
#![no_main]

use attack_kb::cmdline::{Mapped, argv, cmd, powershell};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let m = Mapped::new(&s, 0);
    for a in argv::split(&m) {
        assert!(a.raw.1 <= s.len());
    }
    for seg in cmd::split(&m) {
        assert!(seg.text.span().1 <= s.len());
    }
    for c in powershell::commands(&m) {
        for t in c.tokens {
            assert!(t.raw.1 <= s.len());
        }
    }
});
