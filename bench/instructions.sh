#!/usr/bin/env bash
# Instructions per request of the GP's audited, consent-filtered read (or search) under several
# gateway builds, counted by valgrind's callgrind: the same for the same binary and requests
# whatever else the machine is doing, so two builds can be compared where wrk's requests/s on a
# shared 2-core machine vary by 10% between runs of one binary.
#
#   VARIANTS="before:/tmp/carebridge-old after:target/release/carebridge" bash bench/instructions.sh
#   SCENARIO=search REQUESTS=500 VARIANTS="..." bash bench/instructions.sh
#
# Each variant is `name:binary`. The consent world (bench/world.sh) is seeded once with the first
# binary; each variant then serves a copy of it under callgrind (one worker) twice, once answering
# no requests and once answering REQUESTS requests over one keep-alive connection (after a warm-up
# of WARMUP requests in both), and waits for the audit copy to catch up before it stops. The
# difference of the two totals over REQUESTS is what one request costs, start-up and shutdown taken
# out, including the audit's journal write and its copy into the store; each later variant is also
# given as a change against the first. Kernel time (write, fdatasync, wake-ups) is not counted, so
# this complements the throughput benchmarks rather than replacing them. The table goes to
# bench/results/instructions-*.md.
# Environment: VARIANTS (required), SCENARIO (read), REQUESTS (2000), WARMUP (200),
# PRACTICES (20), PATIENTS (50), KEEP (a directory to keep the callgrind files in, for
# `callgrind_annotate`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VARIANTS="${VARIANTS:?set VARIANTS to name:binary items}"
SCENARIO="${SCENARIO:-read}"; REQUESTS="${REQUESTS:-2000}"; WARMUP="${WARMUP:-200}"
PRACTICES="${PRACTICES:-20}"; PATIENTS="${PATIENTS:-50}"
log() { printf '[instructions %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
command -v valgrind >/dev/null 2>&1 || { log "installing valgrind"; apt-get update && apt-get install -y valgrind; }
source bench/world.sh
scratch instructions

first_bin="$(cut -d: -f2 <<<"${VARIANTS%% *}")"
mkdir -p "$WORK/world"
start_world "$first_bin" "$WORK/world"
kill -TERM "$WORLD_PID"; wait "$WORLD_PID" 2>/dev/null || true; WORLD_PID=""

# send PORT COUNT: COUNT GETs of the scenario's paths, in turn, over one keep-alive connection;
# fails on any status but 200.
send() {
  python3 - "$1" "$2" "$WORK/world/paths-$SCENARIO.txt" "$GP" <<'PY'
import http.client, sys
port, count, paths, token = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
paths = [p.strip() for p in open(paths) if p.strip()]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
for i in range(count):
    conn.request("GET", paths[i % len(paths)], headers={"Authorization": "Bearer " + token})
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("status %d for %s" % (r.status, paths[i % len(paths)]))
PY
}

# measure BINARY DIR COUNT NAME: the callgrind total (instructions) of a server that answers COUNT
# requests after the warm-up.
measure() {
  local bin="$1" dir="$2" count="$3" port metrics
  rm -rf "$dir"; cp -r "$WORK/world" "$dir"; rm -f "$dir/server.log"
  port="$(free_port)"; metrics="$(free_port)"
  CAREBRIDGE_DATABASE_URL="sqlite://$dir/bench.db" CAREBRIDGE_LISTEN="127.0.0.1:$port" \
    CAREBRIDGE_BASE_URL="http://127.0.0.1:$port/fhir" CAREBRIDGE_LOG=warn CAREBRIDGE_WORKERS=1 \
    CAREBRIDGE_METRICS_LISTEN="127.0.0.1:$metrics" \
    valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" "$bin" serve \
    >"$dir/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1200); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.25; done
  send "$port" "$WARMUP"
  (( count > 0 )) && send "$port" "$count"
  settle "$metrics"
  kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  [[ -n "${KEEP:-}" ]] && mkdir -p "$KEEP" && cp "$dir/callgrind.out" "$KEEP/$(basename "$bin")-$4-$count.out"
  awk '/^totals:/ {print $2}' "$dir/callgrind.out"
}

OUT="bench/results/instructions-$(date -u +%Y-%m-%dT%H%M%SZ).md"
{
  echo "# Instructions per request ($SCENARIO), $(date -u +%FT%TZ)"
  echo
  echo "\`$(basename "$0")\`: $REQUESTS requests after $WARMUP, one keep-alive client, one worker; $PRACTICES practices x $PATIENTS patients; commit $(git rev-parse --short HEAD)."
  echo
  echo "| variant | binary | instructions, idle | instructions, $REQUESTS requests | per request | against the first |"
  echo "|---|---|---|---|---|---|"
} >"$OUT"
first=""
for item in $VARIANTS; do
  IFS=: read -r name bin <<<"$item"
  log "$name: idle"
  idle="$(measure "$bin" "$WORK/run" 0 "$name")"
  log "$name: $REQUESTS requests"
  busy="$(measure "$bin" "$WORK/run" "$REQUESTS" "$name")"
  per=$(( (busy - idle) / REQUESTS ))
  first="${first:-$per}"
  against="$(python3 -c 'import sys; a, f = int(sys.argv[1]), int(sys.argv[2]); print("%+.1f%%" % (100.0 * (a - f) / f))' "$per" "$first")"
  echo "| $name | \`$bin\` | $idle | $busy | $per | $against |" >>"$OUT"
done
cat "$OUT"
