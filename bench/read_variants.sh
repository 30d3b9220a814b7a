#!/usr/bin/env bash
# The GP's audited, consent-filtered read (bench/peer.sh's `read`) under several gateway variants
# in one run, rounds alternating: for trying a change (two binaries) or a setting (environment)
# side by side. Each variant is `name:binary[:VAR=value,VAR=value]`; all serve the same consent
# world, seeded once with the first binary. Per run it prints requests/s, p50 and p99 (ms), the
# journal's syncs and the server's CPU seconds, so CPU per request can be compared as well as
# throughput (less noisy on a shared machine).
#
#   VARIANTS="before:/tmp/carebridge-old after:target/release/carebridge" bash bench/read_variants.sh
#   VARIANTS="plain:target/release/carebridge small:target/release/carebridge:CAREBRIDGE_AUDIT_SEGMENT_BYTES=1048576" \
#     ROUNDS=3 bash bench/read_variants.sh
# Environment: VARIANTS (required), ROUNDS (2), DURATION (8s), WARMUP (3s), CONNECTIONS (32),
# THREADS (2), PRACTICES (20), PATIENTS (50), SCENARIO (read).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VARIANTS="${VARIANTS:?set VARIANTS to name:binary[:VAR=value,...] items}"
ROUNDS="${ROUNDS:-2}"; DURATION="${DURATION:-8s}"; WARMUP="${WARMUP:-3s}"
CONNECTIONS="${CONNECTIONS:-32}"; THREADS="${THREADS:-2}"; PRACTICES="${PRACTICES:-20}"
PATIENTS="${PATIENTS:-50}"; SCENARIO="${SCENARIO:-read}"
export BENCH_WRK_DIR="$ROOT/bench/wrk"
log() { printf '[read-variants %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
command -v wrk >/dev/null 2>&1 || { log "wrk is needed (bench/peer.sh installs it)"; exit 1; }
source bench/world.sh
scratch variants
metric() { curl -s "http://127.0.0.1:$2/metrics" | awk -v n="$1" '$1 == n {print $2}'; }

first_bin="$(cut -d: -f2 <<<"${VARIANTS%% *}")"
start_world "$first_bin" "$WORK"
kill -TERM "$WORLD_PID"; wait "$WORLD_PID" 2>/dev/null || true; WORLD_PID=""

printf '| round | variant | req/s | p50 ms | p99 ms | syncs | server CPU s | CPU us / request |\n|---|---|---|---|---|---|---|---|\n'
for round in $(seq "$ROUNDS"); do
  for variant in $VARIANTS; do
    IFS=: read -r name bin settings <<<"$variant"
    port="$(free_port)"; metrics="$(free_port)"
    env ${settings//,/ } CAREBRIDGE_DATABASE_URL="sqlite://$WORK/bench.db" CAREBRIDGE_LISTEN="127.0.0.1:$port" \
      CAREBRIDGE_BASE_URL="http://127.0.0.1:$port/fhir" CAREBRIDGE_LOG=warn \
      CAREBRIDGE_METRICS_LISTEN="127.0.0.1:$metrics" "$bin" serve >"$WORK/server-$name.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    BENCH_SCENARIO="$SCENARIO" wrk -c "$CONNECTIONS" -t "$THREADS" -d "$WARMUP" -H "Authorization: Bearer $GP" \
      -s bench/wrk/paths.lua "http://127.0.0.1:$port" -- "$WORK" >/dev/null
    ticks0="$(awk '{print $14 + $15}' "/proc/$SERVER/stat")"
    syncs0="$(metric 'carebridge_audit_journal_sync_seconds_count{}' "$metrics")"
    line="$(BENCH_SCENARIO="$SCENARIO" wrk -c "$CONNECTIONS" -t "$THREADS" -d "$DURATION" -H "Authorization: Bearer $GP" \
      -s bench/wrk/paths.lua "http://127.0.0.1:$port" -- "$WORK" | grep '^BENCH ')"
    ticks1="$(awk '{print $14 + $15}' "/proc/$SERVER/stat")"
    syncs1="$(metric 'carebridge_audit_journal_sync_seconds_count{}' "$metrics")"
    kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
    python3 - "$round" "$name" "${line#BENCH }" "${syncs0:-0}" "${syncs1:-0}" "$((ticks1 - ticks0))" "$(getconf CLK_TCK)" <<'PY'
import json, sys
round_, name, line, s0, s1, ticks, hz = sys.argv[1:]
d = json.loads(line)
cpu = int(ticks) / int(hz)
per = 1e6 * cpu / max(1, d["requests"])
print(f"| {round_} | {name} | {d['rps']:.0f} | {d['p50_ms']:.2f} | {d['p99_ms']:.2f} | {float(s1) - float(s0):.0f} | {cpu:.1f} | {per:.1f} |")
PY
  done
done
