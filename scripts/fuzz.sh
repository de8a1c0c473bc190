#!/usr/bin/env bash
# Long fuzzing runs of the command-line readers and the STIX bundle reader (cargo-fuzz, nightly
# toolchain):
#   scripts/fuzz.sh [SECONDS per target, default 300]
# The explain target reads a real index, built here from the ATT&CK bundles
# ($KB_ATTACK, else ../shared/attack). Prints libFuzzer's final statistics (executions).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-300}"
"$root/scripts/build-ipadic-cache.sh" "$root/.lindera-cache" >/dev/null
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
(cd "$root" && cargo build --release --quiet)
export KB_FUZZ_INDEX="$root/target/fuzz-index"
"$root/target/release/kb" index --attack "${KB_ATTACK:-$root/../shared/attack}" --out "$KB_FUZZ_INDEX" >/dev/null 2>&1
cd "$root/fuzz"
for target in cmdline explain bundle; do
  echo "== $target ($secs s)"
  # A target with hand-written seeds starts from them as well as from its grown corpus.
  dirs=()
  if [ -d "seeds/$target" ]; then
    mkdir -p "corpus/$target"
    dirs=("corpus/$target" "seeds/$target")
  fi
  cargo +nightly fuzz run "$target" "${dirs[@]}" -- -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 2>&1 \
    | grep -E "^(#[0-9]+ +DONE|Done [0-9]+ runs|SUMMARY|==[0-9]+==ERROR)" || true
done
