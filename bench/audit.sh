#!/usr/bin/env bash
# What the durable audit costs (issue 5): consent-filtered reads on the normal build against the
# same reads on a bench-only build whose durable audit write is a no-op (feature bench-no-audit:
# the event is still built and serialised), in the same run, rounds alternating.
#
#   bash bench/audit.sh                   # 15 s per run, 3 rounds
#   SKIP_BUILD=1 DURATION=10s bash bench/audit.sh
#
# Both gateways serve the consent world (bench/world.sh) and the GP token of practice P00001
# reads that practice's shared plans (scenario `read`, 32 connections). Afterwards the audited
# gateway's chain is verified and its event count compared with the requests wrk completed.
# Environment: DURATION (15s), WARMUP (3s), CONNECTIONS (32), THREADS (2), ROUNDS (3),
# PRACTICES (20), PATIENTS (50), SKIP_BUILD=1 (use target/bench/carebridge-{audited,no-audit}).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${DURATION:-15s}"; WARMUP="${WARMUP:-3s}"; CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"; ROUNDS="${ROUNDS:-3}"; PRACTICES="${PRACTICES:-20}"; PATIENTS="${PATIENTS:-50}"
export BENCH_WRK_DIR="$ROOT/bench/wrk"
log() { printf '[audit-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
command -v wrk >/dev/null 2>&1 || { log "installing wrk"; if [[ $(id -u) -eq 0 ]]; then apt-get update && apt-get install -y wrk; else sudo apt-get update && sudo apt-get install -y wrk; fi; }

AUDITED="$ROOT/target/bench/carebridge-audited"
NOOP="$ROOT/target/bench/carebridge-no-audit"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  mkdir -p target/bench
  # The no-op build first, so that target/release/carebridge ends as the production build.
  log "building the bench-only no-op build"
  cargo build --release --bin carebridge --features bench-no-audit
  cp target/release/carebridge "$NOOP"
  log "building the production build"
  cargo build --release --bin carebridge
  cp target/release/carebridge "$AUDITED"
fi

source bench/world.sh
WORK="$(mktemp -d "${TMPDIR:-/tmp}/carebridge-audit.XXXXXX")"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/audited" "$WORK/noop"
start_world "$AUDITED" "$WORK/audited"; PIDS+=("$WORLD_PID"); PORT_A="$WORLD_PORT"; GP_A="$GP"
start_world "$NOOP" "$WORK/noop"; PIDS+=("$WORLD_PID"); PORT_N="$WORLD_PORT"; GP_N="$GP"

OUT="bench/results/audit-$(date -u +%Y-%m-%dT%H%M%SZ).md"
{
  echo "# Audited reads against the no-op audit build, $(date -u +%FT%TZ)"
  echo
  echo "\`$(basename "$0")\`: $PRACTICES practices x $PATIENTS patients, scenario read, $CONNECTIONS connections, $DURATION per run, $ROUNDS rounds; commit $(git rev-parse --short HEAD)."
  echo
  echo "| round | build | req/s | p50 ms | p99 ms | errors | audit cost |"
  echo "|---|---|---|---|---|---|---|"
} >"$OUT"
row() {  # round, build name, BENCH json, no-op req/s (or empty)
  python3 - "$@" <<'PY'
import json, sys
r, name, j, base = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
errs = j["errors_status"] + j["errors_connect"] + j["errors_read"] + j["errors_timeout"]
cost = "" if not base else "%.1f%%" % (100 * (1 - j["rps"] / float(base)))
print("| %s | %s | %.0f | %.2f | %.2f | %d | %s |" % (r, name, j["rps"], j["p50_ms"], j["p99_ms"], errs, cost))
PY
}
rps() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["rps"])' "$1"; }
for r in $(seq "$ROUNDS"); do
  noop="$(wrk_scenario "$PORT_N" "$WORK/noop" read "$GP_N")"; noop="${noop#BENCH }"
  audited="$(wrk_scenario "$PORT_A" "$WORK/audited" read "$GP_A")"; audited="${audited#BENCH }"
  row "$r" "no-op audit (bench-only)" "$noop" "" >>"$OUT"
  row "$r" "durable audit" "$audited" "$(rps "$noop")" >>"$OUT"
  log "round $r: no-op $(rps "$noop") req/s, audited $(rps "$audited") req/s"
done
AUDITOR="$(CAREBRIDGE_DATABASE_URL="sqlite://$WORK/audited/bench.db" "$AUDITED" token --role auditor --minutes 60)"
# The copy into the store is throttled while busy: this first auditor request copies the backlog
# (and then verifies every chain), so its time shows what copying costs.
started=$(date +%s.%N)
verify="$(curl -sf -H "Authorization: Bearer $AUDITOR" "http://127.0.0.1:$PORT_A/fhir/\$audit-verify")"
took=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$started" "$(date +%s.%N)")
summary="$(python3 -c '
import json, sys
p = {x["name"]: x for x in json.loads(sys.argv[1])["parameter"]}
v = p["verified"].get("valueInteger", p["verified"].get("valueDecimal"))
print("chain intact: %s, %s events verified" % (p["intact"]["valueBoolean"], v))' "$verify")"
{ echo; echo "After the runs: $summary; the first \$audit-verify (copying the backlog, then verifying) took $took s."; } >>"$OUT"
cat "$OUT"
