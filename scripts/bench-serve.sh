#!/usr/bin/env bash
# Load benchmark of `kb serve` on loopback: wrk (Debian's) against /v1/search with a mix of
# English, Japanese and ID queries at 1, 16 and 128 connections, each run bounded in time.
# Prints requests/s, p50/p99 latency, errors and the server's peak RSS. Asserts nothing.
# usage: [UNIQUE=1] scripts/bench-serve.sh [SECONDS per run, default 10]
# (UNIQUE=1 makes every request distinct, measuring searches without the repeat cache.)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-10}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
"$root/scripts/build-ipadic-cache.sh" "$root/.lindera-cache" >/dev/null
(cd "$root" && cargo build --release --quiet)
kb="$root/target/release/kb"
work="$(mktemp -d)"
"$kb" index --attack "${KB_ATTACK:-$root/../shared/attack}" --out "$work/index" >/dev/null 2>&1
port=$((20000 + RANDOM % 20000))
"$kb" --index "$work/index" serve --listen "127.0.0.1:$port" --no-access-log 2>"$work/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
cat > "$work/mix.lua" <<'LUA'
local paths = {
  "/v1/search?q=schtasks", "/v1/search?q=%E5%B8%B8%E8%A8%AD", "/v1/search?q=T1053.005",
  "/v1/search?q=credential%20dumping", "/v1/search?q=%E6%A8%AA%E7%A7%BB%E5%8B%95",
  "/v1/search?q=APT29", "/v1/search?q=TA0003", "/v1/search?q=mimikatz",
  "/v1/search?q=%E3%83%A9%E3%83%B3%E3%82%B5%E3%83%A0%E3%82%A6%E3%82%A7%E3%82%A2",
  "/v1/search?q=T1059",
}
local i, n = 0, 0
local unique = os.getenv("UNIQUE") == "1"
request = function()
  i = i % #paths + 1
  n = n + 1
  -- UNIQUE=1: every request differs (an unknown parameter), so none is answered from the
  -- server's cache of repeated searches.
  if unique then
    return wrk.format("GET", paths[i] .. "&n=" .. n)
  end
  return wrk.format("GET", paths[i])
end
LUA
for c in 1 16 128; do
  threads=$(( c < 2 ? c : 2 ))  # wrk needs at least one connection per thread
  out="$(wrk -t"$threads" -c"$c" -d"${secs}s" --latency -s "$work/mix.lua" "http://127.0.0.1:$port" 2>&1)"
  rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
  p50="$(echo "$out" | awk '$1=="50%" {print $2}')"
  p99="$(echo "$out" | awk '$1=="99%" {print $2}')"
  errs="$(echo "$out" | grep -E "Socket errors|Non-2xx" | tr "\n" " " || true)"
  echo "connections $c: ${rps} req/s, p50 ${p50}, p99 ${p99} ${errs:-errors: none}"
done
echo "server peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
