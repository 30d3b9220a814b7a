#!/usr/bin/env bash
# Notifications under load (issue 15's benchmark): 100 subscribers (housing providers, one
# `referral-addressed` Subscription each, id-only, to a local receiver that checks signatures),
# a hospital posting referrals (a ServiceRequest and its Task: two changes, each an event for the
# receiving provider) at RATE transactions a second; reported: the delay from each change's write
# to its notification's arrival (p50, p99), events delivered a second, events lost.
#
#   bash bench/notify.sh                      # RATE=100 (200 changes a second), DURATION=20
#   MODE=drain bash bench/notify.sh           # delivery throughput: the receiver holds every
#                                             # notification while the load runs, then lets go;
#                                             # reported: events delivered a second from then on
# Environment: RATE, DURATION (seconds), PATIENTS (2000), MODE (latency|drain), SKIP_BUILD=1,
# BENCH_BIN, KEEP_DIR=1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RATE="${RATE:-100}"; SECS="${DURATION:-20}"; PATIENTS="${PATIENTS:-2000}"; MODE="${MODE:-latency}"
BIN="${BENCH_BIN:-$ROOT/target/release/carebridge}"
log() { printf '[notify-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
if [[ "${SKIP_BUILD:-0}" != 1 && -z "${BENCH_BIN:-}" ]]; then
  log "building carebridge (release)"
  cargo build --release --bin carebridge
fi
DIR="$(mktemp -d "${TMPDIR:-/tmp}/carebridge-notify.XXXXXX")"
PID=""; RPID=""
cleanup() {
  if [[ -n "$PID" ]]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [[ -n "$RPID" ]]; then kill "$RPID" 2>/dev/null || true; fi
  [[ -n "${KEEP_DIR:-}" ]] || rm -rf "$DIR"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"; RPORT="$(free_port)"
SECRET="bench-signing-secret-of-thirty-two-plus-chars"
export CAREBRIDGE_DATABASE_URL="sqlite://$DIR/bench.db"
CAREBRIDGE_LISTEN="127.0.0.1:$PORT" CAREBRIDGE_BASE_URL="http://127.0.0.1:$PORT/fhir" CAREBRIDGE_LOG=warn \
  "$BIN" serve >"$DIR/server.log" 2>&1 &
PID=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
python3 bench/notify_receiver.py "$RPORT" "$SECRET" &
RPID=$!
token() { "$BIN" token --role "$1" --org "$2" --minutes 600; }
SYSTEM="$(token system BENCH)"; echo "$SYSTEM" >"$DIR/system.txt"
log "seeding $PATIENTS patients (referral_seed.py)"
python3 bench/referral_seed.py "http://127.0.0.1:$PORT/fhir" "$SYSTEM" "$DIR" "$PATIENTS" 100 5 >&2
token cns RH0001 >"$DIR/hospital-token.txt"
while read -r code id kind; do echo "$code $(token housing "$code")"; done <"$DIR/receivers.txt" >"$DIR/tokens.txt"
log "subscribing 100 providers"
python3 bench/notify_load.py subscribe "http://127.0.0.1:$PORT/fhir" "$DIR" "http://127.0.0.1:$RPORT/hook" "$SECRET" >&2
if [[ "$MODE" == drain ]]; then
  log "drain: the receiver holds notifications during the load"
  curl -s -X POST "http://127.0.0.1:$RPORT/hold" >/dev/null
fi
log "load: $RATE referrals a second ($((RATE * 2)) changes) for $SECS s"
load="$(python3 bench/notify_load.py load "http://127.0.0.1:$PORT/fhir" "$DIR" "$RATE" "$SECS")"
changes="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["changes"])' "$load")"
log "committed: $load; waiting for every event"
if [[ "$MODE" == drain ]]; then
  sleep 2  # matching done: every event waits behind a held request
  curl -s -X POST "http://127.0.0.1:$RPORT/release" >/dev/null
fi
for _ in $(seq 600); do
  got="$(curl -s "http://127.0.0.1:$RPORT/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')"
  [[ "$got" -ge "$changes" ]] && break
  sleep 0.1
done
stats="$(curl -s "http://127.0.0.1:$RPORT/stats")"
OUT="bench/results/notify-$(date -u +%Y-%m-%dT%H%M%SZ).md"
python3 - "$load" "$stats" "$RATE" "$SECS" "$(git rev-parse --short HEAD)" "$(nproc)" "$MODE" >"$OUT" <<'PY'
import json, sys
load, stats = json.loads(sys.argv[1]), json.loads(sys.argv[2])
rate, secs, commit, cores, mode = sys.argv[3:8]
lost = load["changes"] - stats["events"]
print("# Notifications, %s cores, commit %s\n" % (cores, commit))
print("`notify.sh` (%s): 100 subscribers (one referral-addressed Subscription each, id-only, signed), %s referral transactions a second for %s s (%d changes a second), SQLite, consent and durable audit on.\n" % (mode, rate, secs, 2 * int(float(rate))))
print("| measure | value |\n|---|---|")
print("| changes committed | %d in %s s |" % (load["changes"], load["seconds"]))
print("| events delivered | %d (lost: %d; bad signatures: %d) |" % (stats["events"], lost, stats["bad_signatures"]))
if mode == "drain":
    d = stats["drain"]
    span = (d["last_ms"] - d["at_ms"]) / 1000 if d["last_ms"] else 0
    print("| held back, then released | %d events in %d requests |" % (d["events"], d["requests"]))
    print("| drained in | %.2f s |" % span)
    print("| delivery throughput (id-only) | **%.0f events/s**, %.0f notifications/s |" % (d["events"] / span if span else 0, d["requests"] / span if span else 0))
else:
    print("| write to arrival, p50 | %s ms |" % stats["p50_ms"])
    print("| write to arrival, p99 | %s ms |" % stats["p99_ms"])
    print("| write to arrival, max | %s ms |" % stats["max_ms"])
PY
cat "$OUT"
