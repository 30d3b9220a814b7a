#!/usr/bin/env bash
# Consent-filtered reads against /healthz in the same run (issue 4's benchmark).
#
#   bash bench/consent.sh                       # 20 practices x 50 patients, 15 s per scenario
#   DURATION=10s ROUNDS=3 bash bench/consent.sh
#
# The world (bench/consent_seed.py): per practice, patients with a plan shared with their GP, a
# plan not shared, and a housing consent for every third. Scenarios, each with the GP token of the
# first practice (role gp, org P00001), 32 connections:
#   healthz  GET /healthz (no token, no store: the framework's floor)
#   read     GET CarePlan/<id> over that practice's shared plans (token check, relationship query,
#            consents, decision)
#   search   GET CarePlan?status=active&_count=20 (narrowed in SQL to registered patients, every
#            match decided before paging)
# Environment: DURATION (15s), WARMUP (3s), CONNECTIONS (32), THREADS (2), ROUNDS (2),
# PRACTICES (20), PATIENTS (50), SKIP_BUILD=1, BENCH_BIN.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${DURATION:-15s}"; WARMUP="${WARMUP:-3s}"; CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"; ROUNDS="${ROUNDS:-2}"; PRACTICES="${PRACTICES:-20}"; PATIENTS="${PATIENTS:-50}"
BIN="${BENCH_BIN:-$ROOT/target/release/carebridge}"
export BENCH_WRK_DIR="$ROOT/bench/wrk"
log() { printf '[consent-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

command -v wrk >/dev/null 2>&1 || { log "installing wrk"; if [[ $(id -u) -eq 0 ]]; then apt-get update && apt-get install -y wrk; else sudo apt-get update && sudo apt-get install -y wrk; fi; }
if [[ "${SKIP_BUILD:-0}" != 1 && -z "${BENCH_BIN:-}" ]]; then
  log "building carebridge (release)"
  cargo build --release --bin carebridge
fi

source bench/world.sh
WORK="$(mktemp -d "${TMPDIR:-/tmp}/carebridge-consent.XXXXXX")"
WORLD_PID=""
cleanup() { if [[ -n "$WORLD_PID" ]]; then kill -TERM "$WORLD_PID" 2>/dev/null || true; wait "$WORLD_PID" 2>/dev/null || true; fi; rm -rf "$WORK"; }
trap cleanup EXIT
start_world "$BIN" "$WORK"
run() { wrk_scenario "$WORLD_PORT" "$WORK" "$1"; }

OUT="bench/results/consent-$(date -u +%Y-%m-%dT%H%M%SZ).md"
{
  echo "# Consent-filtered reads, $(date -u +%FT%TZ)"
  echo
  echo "\`$(basename "$0")\`: $PRACTICES practices x $PATIENTS patients, $CONNECTIONS connections, $DURATION per scenario, $ROUNDS rounds; commit $(git rev-parse --short HEAD)."
  echo
  echo "| round | scenario | req/s | p50 ms | p99 ms | % of healthz | errors |"
  echo "|---|---|---|---|---|---|---|"
} >"$OUT"
for r in $(seq "$ROUNDS"); do
  declare -A rps=()
  for s in healthz read search; do
    line="$(run "$s")"
    json="${line#BENCH }"
    rps[$s]="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["rps"])' "$json")"
    python3 - "$json" "$r" "$s" "${rps[healthz]}" >>"$OUT" <<'PY'
import json, sys
j, r, s, h = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
errs = j["errors_status"] + j["errors_connect"] + j["errors_read"] + j["errors_timeout"]
print("| %s | %s | %.0f | %.2f | %.2f | %.0f%% | %d |" % (r, s, j["rps"], j["p50_ms"], j["p99_ms"], 100 * j["rps"] / h, errs))
PY
    log "round $r $s: ${rps[$s]} req/s"
  done
done
cat "$OUT"
