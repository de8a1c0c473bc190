#!/usr/bin/env bash
# Benchmarks on Enterprise 18.1: index build time, cold-process search latency (a new `kb`
# process per query, median of N runs) and index size; peak memory (maximum resident set, from
# /usr/bin/time) of `kb index` on Enterprise+Mobile+ICS and of `kb search`, hostile queries
# included. Prints figures; asserts nothing.
# usage: scripts/bench.sh [BUNDLE] (default ../shared/attack/enterprise-attack-18.1.json)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bundle="${1:-$root/../shared/attack/enterprise-attack-18.1.json}"
attack="$(dirname "$bundle")"
runs="${RUNS:-30}"
scripts/build-ipadic-cache.sh "$root/.lindera-cache" >/dev/null
cargo build --release --quiet
kb="$root/target/release/kb"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
[ -x /usr/bin/time ] || echo "note: /usr/bin/time is missing (apt-get install time): no peak memory figures"
python3 - "$kb" "$bundle" "$work/index" "$runs" "$attack" <<'PY'
import random, statistics, subprocess, sys, time, os
kb, bundle, index, runs, attack = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
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

def peak_mb(index, args):
    # GNU time's %M: the maximum resident set size in KB, on the last line of stderr.
    r = subprocess.run(["/usr/bin/time", "-f", "%M", kb, "--index", index] + args,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(r.stderr.strip().splitlines()[-1]) / 1024
if os.access("/usr/bin/time", os.X_OK):
    full = index + "-all"
    domains = [os.path.join(attack, f"{d}-attack-18.1.json") for d in ("enterprise", "mobile", "ics")]
    args = ["index"] + [a for d in domains for a in ("--attack", d)]
    print(f"peak memory, kb index Enterprise+Mobile+ICS 18.1: {peak_mb(full, args):.0f} MB")
    rng = random.Random(7)
    kanji = "".join(chr(rng.randint(0x4e00, 0x9fff)) for _ in range(40_000))  # 120 KB
    for q in ["schtasks", "常設", "T1053.999", "スケジュールされたタスクを使った永続化の手口を教えてください", kanji]:
        label = repr(q[:20]) + ("… (120 KB of random kanji)" if q is kanji else "")
        print(f"peak memory, kb search {label:<48} {peak_mb(full, ['search', q]):.0f} MB")
PY
