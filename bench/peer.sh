#!/usr/bin/env bash
# carebridge side by side with an open-source FHIR server (issue 18): the peer is Medplum's
# FhirRouter over its in-memory repository behind a bare node:http server (bench/peer/server.mjs:
# no authentication, no consent, no audit, no validation), holding the same resources under the
# same ids. Both are measured alternately in one run, on the same cores:
#   read            carebridge: the GP's audited, consent-filtered read of a plan its practice's
#                   patients shared with it, with a bearer token; peer: a plain read of the same plan
#                   (paths-read.txt of bench/consent_seed.py, 50 plans);
#   patient-search  QuestionnaireResponse?subject=Patient/<id>&_count=20 for 20 patients of the GP's
#                   practice with exactly 20 HNAs each (bench/peer_seed.py): carebridge as the GP
#                   (consent-filtered, audited), the peer plain; both answer 20 entries.
#                   SEARCH_PARAM=patient asks `patient=` instead (the same search; Medplum evaluates
#                   its FHIRPath, `subject.where(resolve() is Patient)`, more slowly).
# Rounds alternate which server goes first. Before each measured run (of either server), once the
# warm-up is over, carebridge's audit journal has been copied into its store (world.sh settle), so
# that copy never runs during a measurement.
#
#   bash bench/peer.sh                              # 20 practices x 50 patients, 10 s a scenario, 2 rounds
#   SKIP_BUILD=1 ROUNDS=3 DURATION=15s bash bench/peer.sh
# Environment: DURATION (10s), WARMUP (3s), CONNECTIONS (32), THREADS (2), ROUNDS (2), PRACTICES
# (20), PATIENTS (50), SEARCH_PATIENTS (20), MATCHES (20), SEARCH_PARAM (subject), SKIP_BUILD=1,
# BENCH_BIN, SCENARIOS ("read patient-search"; `SCENARIOS=read` leaves an audit store of reads alone,
# whose bytes per event the run reports at its end).
# Needs node (>= 20.19) and npm: `npm ci` in bench/peer when its node_modules is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${DURATION:-10s}"; WARMUP="${WARMUP:-3s}"; CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"; ROUNDS="${ROUNDS:-2}"; PRACTICES="${PRACTICES:-20}"; PATIENTS="${PATIENTS:-50}"
SEARCH_PATIENTS="${SEARCH_PATIENTS:-20}"; MATCHES="${MATCHES:-20}"; SEARCH_PARAM="${SEARCH_PARAM:-subject}"
SCENARIOS="${SCENARIOS:-read patient-search}"
BIN="${BENCH_BIN:-$ROOT/target/release/carebridge}"
export BENCH_WRK_DIR="$ROOT/bench/wrk"
log() { printf '[peer-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
command -v wrk >/dev/null 2>&1 || { log "installing wrk"; if [[ $(id -u) -eq 0 ]]; then apt-get update && apt-get install -y wrk; else sudo apt-get update && sudo apt-get install -y wrk; fi; }
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { log "node and npm are needed for the peer"; exit 1; }
if [[ "${SKIP_BUILD:-0}" != 1 && -z "${BENCH_BIN:-}" ]]; then
  log "building carebridge (release)"
  cargo build --release --bin carebridge
fi
if [[ ! -d bench/peer/node_modules ]]; then
  log "installing the peer (npm ci in bench/peer)"
  (cd bench/peer && npm ci --no-audit --no-fund)
fi
source bench/world.sh
WORK="$(mktemp -d "${TMPDIR:-/tmp}/carebridge-peer.XXXXXX")"
WORLD_PID=""; PEER_PID=""
cleanup() {
  # `|| true` throughout: under `set -e`, a failing last command of the trap would skip the rm.
  local p
  for p in "$WORLD_PID" "$PEER_PID"; do
    [[ -n "$p" ]] || continue
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_busy() { # percent of all CPU time that was not idle over the next 2 seconds (as bench/run.sh)
  local a b total=0 idle i
  read -r -a a </proc/stat; sleep 2; read -r -a b </proc/stat
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  idle=$(( b[4] - a[4] + b[5] - a[5] ))
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

# carebridge: the consent world, seeded, then served again with a metrics listener (for settle).
mkdir -p "$WORK/cb"
start_world "$BIN" "$WORK/cb"
kill -TERM "$WORLD_PID"; wait "$WORLD_PID" 2>/dev/null || true; WORLD_PID=""
CB="$(free)"; CB_METRICS="$(free)"
CAREBRIDGE_DATABASE_URL="sqlite://$WORK/cb/bench.db" CAREBRIDGE_LISTEN="127.0.0.1:$CB" \
  CAREBRIDGE_BASE_URL="http://127.0.0.1:$CB/fhir" CAREBRIDGE_LOG=warn CAREBRIDGE_METRICS_LISTEN="127.0.0.1:$CB_METRICS" \
  "$BIN" serve >"$WORK/cb/server.log" 2>&1 &
WORLD_PID=$!
# The peer: one node process (JavaScript runs on its one event-loop thread).
PEER="$(free)"
node bench/peer/server.mjs "$PEER" >"$WORK/peer.log" 2>&1 &
PEER_PID=$!
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$CB/healthz" >/dev/null && curl -sf "http://127.0.0.1:$PEER/healthz" >/dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$PEER/healthz" >/dev/null || { log "the peer did not start"; cat "$WORK/peer.log" >&2; exit 1; }
SYSTEM="$(CAREBRIDGE_DATABASE_URL="sqlite://$WORK/cb/bench.db" "$BIN" token --role system --org BENCH --minutes 600)"
log "seeding $SEARCH_PATIENTS x $MATCHES HNAs, copying the world into the peer"
SEED_OUT="$(python3 bench/peer_seed.py "http://127.0.0.1:$CB/fhir" "$SYSTEM" "$GP" "http://127.0.0.1:$PEER/fhir" \
  "$WORK/cb" "$SEARCH_PATIENTS" "$MATCHES" "$SEARCH_PARAM")"
printf '%s\n' "$SEED_OUT" | grep -v '^SIZES ' >&2
SIZES="$(printf '%s\n' "$SEED_OUT" | sed -n 's/^SIZES //p')"

# Both servers' measured runs start with carebridge's audit copy idle (world.sh settle).
export SETTLE_PORTS="$CB_METRICS"
MEDPLUM="$(node -p 'require("./bench/peer/node_modules/@medplum/fhir-router/package.json").version')"
OUT="bench/results/peer-$(date -u +%Y-%m-%dT%H%M%SZ).md"
BUSY_START="$(cpu_busy)"
(( BUSY_START > 20 )) && log "warning: the CPUs were ${BUSY_START}% busy before starting; other work on the machine will skew the figures"
ROWS="$WORK/rows.md"; : >"$ROWS"
for r in $(seq "$ROUNDS"); do
  for s in $SCENARIOS; do
    # Both get the GP's token (the peer ignores it), so the requests are byte for byte the same.
    wrk_pair "$r" "$s" "$CB" "$WORK/cb" http "$PEER" "$WORK/cb" http
    mine="$PAIR_A"; theirs="$PAIR_B"
    python3 - "${mine#BENCH }" "${theirs#BENCH }" "$r" "$s" >>"$ROWS" <<'PY'
import json, sys
c, p, r, s = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
err = lambda b: b["errors_status"] + b["errors_connect"] + b["errors_read"] + b["errors_write"] + b["errors_timeout"]
print("| %s | %s | %.0f | %.2f | %.2f | %.0f | %.2f | %.2f | %.2f | %d / %d |" % (
    r, s, c["rps"], c["p50_ms"], c["p99_ms"], p["rps"], p["p50_ms"], p["p99_ms"], c["rps"] / p["rps"], err(c), err(p)))
PY
    log "round $r $s: $(tail -n1 "$ROWS")"
  done
done
BUSY_END="$(cpu_busy)"
# The audit store's bytes per event, after the gateway stops (its journal fully copied).
kill -TERM "$WORLD_PID"; wait "$WORLD_PID" 2>/dev/null || true; WORLD_PID=""
AUDIT_BYTES="$(python3 bench/audit_bytes.py "$WORK/cb/bench.db")"

{
  echo "# carebridge against a peer FHIR server (Medplum), $(date -u +%FT%TZ)"
  echo
  echo "\`$([[ "${SKIP_BUILD:-0}" == 1 ]] && echo 'SKIP_BUILD=1 ')bash bench/peer.sh\`: $PRACTICES practices x $PATIENTS patients (consent world), $SEARCH_PATIENTS patients x $MATCHES HNAs for the search; wrk $CONNECTIONS kept-alive connections, $THREADS threads, $WARMUP warm-up + $DURATION measured per scenario and server, $ROUNDS rounds, order alternating."
  echo
  echo "- carebridge: commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src crates Cargo.toml Cargo.lock 2>/dev/null || echo ' (the work tree differs in src/, crates/ or Cargo)'), \`$(basename "$BIN")\` release built $(date -u -r "$BIN" +%FT%TZ)$([[ "${SKIP_BUILD:-0}" == 1 || -n "${BENCH_BIN:-}" ]] && echo ' (not rebuilt for this run: it may predate the commit)'), SQLite store, audit on, consent on, a GP bearer token."
  echo "- peer: @medplum/fhir-router $MEDPLUM (MemoryRepository) behind node:http (bench/peer/server.mjs), node $(node --version), one process; JavaScript runs on one thread, so the peer uses about one core, carebridge both."
  echo "- machine: $(nproc) cores, shared by wrk, both servers (the idle one waits) and anything else running; CPU busy (all cores, 2 s) before the run ${BUSY_START}%, after ${BUSY_END}%."
  python3 - "$SIZES" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
print("- requests: read `%s` (one of %s plans), search `%s` (one of its patients)." % (d["read_path"], d["plans"], d["search_path"]))
print("- response bytes (read, search): carebridge %s, peer %s; the GP's read has the peer's content, meta aside: %s." % (
    tuple(d["carebridge"]), tuple(d["peer"]), "yes" if d["same_read_content"] else "no"))
print("- the peer holds what carebridge holds: " + ", ".join("%d %s" % (n, t) for t, n in d["copied"].items()) + ".")
PY
  echo
  echo "| round | scenario | carebridge req/s | p50 ms | p99 ms | peer req/s | p50 ms | p99 ms | carebridge / peer | errors (cb / peer) |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  cat "$ROWS"
  echo
  echo "Audit store after the run (\`python3 bench/audit_bytes.py\`, SQLite dbstat: tables and their indexes):"
  echo
  echo '```'
  echo "$AUDIT_BYTES"
  echo '```'
} >"$OUT"
cat "$OUT"
log "wrote $OUT"
