#!/usr/bin/env bash
# Benchmarks on Enterprise 18.1: index build time, cold-process search latency (a new `kb`
# process per query, median of N runs) and index size. Prints figures; asserts nothing.
# usage: scripts/bench.sh [BUNDLE] (default ../shared/attack/enterprise-attack-18.1.json)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bundle="${1:-$root/../shared/attack/enterprise-attack-18.1.json}"
runs="${RUNS:-30}"
scripts/build-ipadic-cache.sh "$root/.lindera-cache" >/dev/null
cargo build --release --quiet
kb="$root/target/release/kb"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$kb" "$bundle" "$work/index" "$runs" <<'PY'
import statistics, subprocess, sys, time, os
kb, bundle, index, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def timed(args):
    t = time.perf_counter()
    subprocess.run([kb, "--index", index] + args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t
builds = [timed(["index", "--attack", bundle]) for _ in range(5)]
print(f"index build (Enterprise 18.1, whole process): median {statistics.median(builds):.3f} s, min {min(builds):.3f} s over 5")
for q in ["schtasks", "常設", "An anomalous scheduled task was created",
          r'"schtasks.exe" /create /SC ONCE /TN Troj /TR C:\Users\vmadmin\Desktop\WinATP-Intro-Backdoor.exe /ST 13:36 /F']:
    t = sorted(timed(["search", q]) for _ in range(runs))
    print(f"cold search {q[:40]!r:<44} median {statistics.median(t)*1000:6.1f} ms  p90 {t[int(len(t)*0.9)-1]*1000:6.1f} ms  ({runs} runs)")
# kb explain of a line against kb search of the same line (goal: explain within 2x search).
for q in [r'"schtasks.exe" /create /SC ONCE /TN Troj /TR C:\Users\vmadmin\Desktop\WinATP-Intro-Backdoor.exe /ST 13:36 /F',
          r'cmd.exe /c "powershell -nop -w hidden -enc UwBlAHQALQBNAHAAUAByAGUAZgBlAHIAZQBuAGMAZQAgAC0ARABpAHMAYQBiAGwAZQBSAGUAYQBsAHQAaQBtAGUATQBvAG4AaQB0AG8AcgBpAG4AZwAgACQAdAByAHUAZQA="',
          r'reg add HKCU\Software\Microsoft\Windows\CurrentVersion\Run /v Updater /t REG_SZ /d "C:\Users\Public\up.exe" /f']:
    e = statistics.median(sorted(timed(["explain", "--", q]) for _ in range(runs)))
    s = statistics.median(sorted(timed(["search", "--", q]) for _ in range(runs)))
    print(f"cold explain {q[:38]!r:<42} median {e*1000:6.1f} ms; search of the same line {s*1000:6.1f} ms; ratio {e/s:.2f}")
t = sorted(timed(["show", "T1059"]) for _ in range(runs))
print(f"cold show 'T1059'                              median {statistics.median(t)*1000:6.1f} ms")
size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(index) for f in fs)
print(f"index size: {size/1e6:.1f} MB")
print(f"binary size: {os.path.getsize(kb)/1e6:.1f} MB")
PY
