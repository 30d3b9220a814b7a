#!/usr/bin/env bash
# The cost of TLS on the listener, or of exporting traces (issue 16's benchmarks): the consent world
# (bench/world.sh) served by two gateways on copies of one seeded store, measured alternately in the
# same run: the GP's consent-filtered, audited read and search, and /healthz, over kept-alive
# connections. Rounds alternate which gateway goes first, and each measured run starts once both
# gateways have copied their audit journals (a copy running behind would load the other's run).
#   MODE=tls (default): one plain HTTP, one TLS 1.3 (an ECDSA P-256 certificate made with openssl).
#   MODE=traces: both plain HTTP, one exporting every request's spans over OTLP/HTTP to a local
#   sink (bench/otlp_sink.py), one with traces off.
#
#   bash bench/overhead.sh                         # 20 practices x 50 patients, 10 s a scenario, 2 rounds
#   MODE=traces bash bench/overhead.sh
#   MODE=traces OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1 bash bench/overhead.sh
# Environment: DURATION (10s), WARMUP (3s), CONNECTIONS (32), THREADS (2), ROUNDS (2), PRACTICES,
# PATIENTS, SKIP_BUILD=1, BENCH_BIN.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${DURATION:-10s}"; WARMUP="${WARMUP:-3s}"; CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"; ROUNDS="${ROUNDS:-2}"; PRACTICES="${PRACTICES:-20}"; PATIENTS="${PATIENTS:-50}"
MODE="${MODE:-tls}"
BIN="${BENCH_BIN:-$ROOT/target/release/carebridge}"
export BENCH_WRK_DIR="$ROOT/bench/wrk"
log() { printf '[tls-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
command -v wrk >/dev/null 2>&1 || { log "installing wrk"; if [[ $(id -u) -eq 0 ]]; then apt-get update && apt-get install -y wrk; else sudo apt-get update && sudo apt-get install -y wrk; fi; }
if [[ "${SKIP_BUILD:-0}" != 1 && -z "${BENCH_BIN:-}" ]]; then
  log "building carebridge (release)"
  cargo build --release --bin carebridge
fi
source bench/world.sh
WORK="$(mktemp -d "${TMPDIR:-/tmp}/carebridge-tls.XXXXXX")"
WORLD_PID=""; TLS_PID=""; SINK_PID=""
cleanup() {
  # `|| true` throughout: under `set -e`, a failing last command of the trap would skip the rm.
  local p
  for p in "$WORLD_PID" "$TLS_PID" "$SINK_PID"; do
    [[ -n "$p" ]] || continue
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/plain"
start_world "$BIN" "$WORK/plain"
kill -TERM "$WORLD_PID"; wait "$WORLD_PID" 2>/dev/null || true
cp -a "$WORK/plain" "$WORK/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
serve() { # serve DIR PORT METRICS_PORT [tls|traces]
  local extra=(CAREBRIDGE_METRICS_LISTEN="127.0.0.1:$3")
  [[ "${4:-}" == tls ]] && extra+=(CAREBRIDGE_TLS_CERT_FILE="$WORK/cert.pem" CAREBRIDGE_TLS_KEY_FILE="$WORK/key.pem")
  [[ "${4:-}" == traces ]] && extra+=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$SINK" OTEL_SERVICE_NAME=carebridge-bench
    OTEL_TRACES_SAMPLER="${OTEL_TRACES_SAMPLER:-parentbased_always_on}" OTEL_TRACES_SAMPLER_ARG="${OTEL_TRACES_SAMPLER_ARG:-1}")
  env CAREBRIDGE_DATABASE_URL="sqlite://$1/bench.db" CAREBRIDGE_LISTEN="127.0.0.1:$2" \
    CAREBRIDGE_BASE_URL="http://127.0.0.1:$2/fhir" CAREBRIDGE_LOG=warn "${extra[@]}" \
    "$BIN" serve >"$1/server.log" 2>&1 &
}
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SINK="$(free)"
if [[ "$MODE" == traces ]]; then python3 bench/otlp_sink.py "$SINK" & SINK_PID=$!; fi
SCHEME=https; [[ "$MODE" == traces ]] && SCHEME=http
PLAIN="$(free)"; PLAIN_METRICS="$(free)"; serve "$WORK/plain" "$PLAIN" "$PLAIN_METRICS"; WORLD_PID=$!
TLS="$(free)"; TLS_METRICS="$(free)"; serve "$WORK/tls" "$TLS" "$TLS_METRICS" "$MODE"; TLS_PID=$!
# Before each measured run, both gateways' audit copies are idle (world.sh settle).
export SETTLE_PORTS="$PLAIN_METRICS $TLS_METRICS"
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PLAIN/healthz" >/dev/null && curl -skf "$SCHEME://127.0.0.1:$TLS/healthz" >/dev/null && break; sleep 0.1; done
curl -skf -H "Authorization: Bearer $GP" "$SCHEME://127.0.0.1:$TLS$(head -n1 "$WORK/plain/paths-read.txt")" >/dev/null || { log "the GP cannot read on the $MODE gateway"; exit 1; }

OUT="bench/results/$MODE-$(date -u +%Y-%m-%dT%H%M%SZ).md"
WITH="TLS"; [[ "$MODE" == traces ]] && WITH="traced"
{
  echo "# $WITH against plain, $(date -u +%FT%TZ)"
  echo
  echo "\`$(basename "$0")\` (MODE=$MODE${OTEL_TRACES_SAMPLER:+, $OTEL_TRACES_SAMPLER ${OTEL_TRACES_SAMPLER_ARG:-}}): $PRACTICES practices x $PATIENTS patients, $CONNECTIONS kept-alive connections, $DURATION per scenario, $ROUNDS rounds, alternating; commit $(git rev-parse --short HEAD), $(nproc) cores."
  echo
  echo "| round | scenario | plain req/s | $WITH req/s | $WITH / plain | plain p99 ms | $WITH p99 ms |"
  echo "|---|---|---|---|---|---|---|"
} >"$OUT"
for r in $(seq "$ROUNDS"); do
  for s in healthz read search; do
    wrk_pair "$r" "$s" "$PLAIN" "$WORK/plain" http "$TLS" "$WORK/plain" "$SCHEME"
    plain="$PAIR_A"; tls="$PAIR_B"
    python3 - "${plain#BENCH }" "${tls#BENCH }" "$r" "$s" >>"$OUT" <<'PY'
import json, sys
p, t, r, s = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
print("| %s | %s | %.0f | %.0f | %.2f | %.2f | %.2f |" % (r, s, p["rps"], t["rps"], t["rps"] / p["rps"], p["p99_ms"], t["p99_ms"]))
PY
    log "round $r $s done"
  done
done
if [[ "$MODE" == traces ]]; then
  echo >>"$OUT"; echo "Spans received by the sink: $(curl -s "http://127.0.0.1:$SINK/stats")" >>"$OUT"
fi
cat "$OUT"
