#!/usr/bin/env bash
# `kb diff` beside MITRE's own changelog tool (mitreattack-python's diff_stix, from .venv) on
# the same two bundles, in one run: wall time and peak memory (maximum resident set, from
# /usr/bin/time) of each, whole processes, outputs to files. Prints figures; asserts nothing.
# diff_stix wants folders holding enterprise-attack.json: made under target/ with symlinks.
# usage: scripts/bench-diff.sh [OLD NEW] (default ../shared/attack/enterprise-attack-{17.1,18.1}.json)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
old="$(realpath "${1:-$root/../shared/attack/enterprise-attack-17.1.json}")"
new="$(realpath "${2:-$root/../shared/attack/enterprise-attack-18.1.json}")"
[ -x .venv/bin/diff_stix ] || scripts/py-clients.sh
cargo build --release --quiet
work="$root/target/bench-diff"
rm -rf "$work"
mkdir -p "$work/old" "$work/new"
ln -s "$old" "$work/old/enterprise-attack.json"
ln -s "$new" "$work/new/enterprise-attack.json"
measure() { # label, command...: wall seconds and peak RSS of the whole process
  local label="$1"
  shift
  local t0 t1
  t0=$(date +%s.%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%M" -o "$work/$label.rss" "$@" >"$work/$label.out" 2>"$work/$label.err"
  else
    "$@" >"$work/$label.out" 2>"$work/$label.err"
    echo "?" >"$work/$label.rss"
  fi
  t1=$(date +%s.%N)
  printf '%-48s %7.2f s  peak RSS %s KB\n' "$label" "$(echo "$t1 - $t0" | bc)" "$(tail -1 "$work/$label.rss")"
}
echo "Enterprise $(basename "$old") -> $(basename "$new")"
measure "kb diff --json" target/release/kb diff "$old" "$new" --json
measure "kb diff (text, --lang ja)" target/release/kb diff "$old" "$new" --lang ja
measure "kb diff --markdown" target/release/kb diff "$old" "$new" --markdown
measure "diff_stix --json-file (mitreattack-python)" \
  .venv/bin/diff_stix --old "$work/old" --new "$work/new" --domains enterprise-attack \
  --json-file "$work/diff_stix.json"
measure "diff_stix --markdown-file (mitreattack-python)" \
  .venv/bin/diff_stix --old "$work/old" --new "$work/new" --domains enterprise-attack \
  --markdown-file "$work/diff_stix.md"
