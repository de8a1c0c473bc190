//! Property tests of every reader of untrusted command lines: the argv, cmd.exe and PowerShell
//! splitters, and `kb explain` over them. Arbitrary text, deep nesting and long inputs never
//! panic, every span points inside the input, and the output stays bounded. (Long runs use the
//! cargo-fuzz target in fuzz/.)

mod common;

use attack_kb::cmdline::{Mapped, argv, cmd, powershell};
use attack_kb::explain::{self, Lang};
use proptest::prelude::*;

/// Text made of the characters that matter to the parsers, and some that never should.
fn command_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("^".to_string()),
        Just("&".to_string()),
        Just("|".to_string()),
        Just(">".to_string()),
        Just("<".to_string()),
        Just("'".to_string()),
        Just("`".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just(" ".to_string()),
        Just(":".to_string()),
        Just("=".to_string()),
        Just("/c ".to_string()),
        Just("-enc ".to_string()),
        Just("cmd ".to_string()),
        Just("powershell ".to_string()),
        Just("schtasks /tr ".to_string()),
        Just("reg add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /d ".to_string()),
        Just("常設".to_string()),
        "[a-zA-Z0-9.%$]{1,8}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(pieces, 0..64).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn splitters_never_panic_and_spans_stay_inside(s in command_text()) {
        let m = Mapped::new(&s, 0);
        for a in argv::split(&m) {
            prop_assert!(a.raw.0 <= a.raw.1 && a.raw.1 <= s.len());
            let (x, y) = a.text.span();
            prop_assert!(x <= y && y <= s.len());
        }
        for seg in cmd::split(&m) {
            let (x, y) = seg.text.span();
            prop_assert!(x <= y && y <= s.len());
            for r in seg.redirects {
                prop_assert!(r.target.span().1 <= s.len());
            }
        }
        for c in powershell::commands(&m) {
            for t in c.tokens {
                prop_assert!(t.raw.0 <= t.raw.1 && t.raw.1 <= s.len());
            }
        }
    }

    #[test]
    fn explain_answers_any_text_with_spans_inside_it(s in command_text()) {
        let kb = common::open();
        let e = explain::explain(&kb, &s, Lang::En).expect("explain never fails");
        let n = s.chars().count();
        for a in &e.arguments {
            prop_assert!(a.start <= a.end && a.end <= n, "{:?} in {:?}", a, s);
        }
        for t in &e.techniques {
            if let Some(sp) = t.span {
                prop_assert!(sp.start <= sp.end && sp.end <= n);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_as_text_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let s = String::from_utf8_lossy(&bytes);
        let kb = common::open();
        let e = explain::explain(&kb, &s, Lang::Ja).expect("explain never fails");
        prop_assert!(serde_json::to_string(&e).is_ok());
    }
}

#[test]
fn deep_nesting_and_megabyte_inputs_stay_bounded() {
    let kb = common::open();
    let cases = [
        format!("{}x", "cmd /c ".repeat(10_000)),
        format!("powershell -c {}", "(".repeat(100_000)),
        format!("powershell -c {}", "{ iex ".repeat(50_000)),
        "\"".repeat(1 << 20),
        "^".repeat(1 << 20),
        format!("schtasks /tr \"{}\"", "schtasks /tr \\\"".repeat(5_000)),
    ];
    for line in &cases {
        let started = std::time::Instant::now();
        let e = explain::explain(&kb, line, Lang::En).expect("explain never fails");
        let size = serde_json::to_string(&e).expect("json").len();
        assert!(size < 4_000_000, "output of {size} bytes");
        // Generous: a hang, not a speed target (speed is in scripts/bench.sh).
        assert!(
            started.elapsed().as_secs() < 20,
            "took {:?}",
            started.elapsed()
        );
    }
}
