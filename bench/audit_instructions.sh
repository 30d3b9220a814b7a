#!/usr/bin/env bash
# What the durable audit costs a read in instructions (issue 5), counted by callgrind: the same
# count for the same binary and requests whatever else the machine is doing, so the comparison is
# free of the round-to-round noise of bench/audit.sh. It counts the user-space instructions of
# every thread of the gateway (request threads, the journal's flusher, the copy into the store at
# shutdown); kernel time (write, fdatasync, wake-ups) is not in it, so it complements, not
# replaces, the throughput comparison.
#
#   bash bench/audit_instructions.sh        # 3,000 reads per build
#   READS=1000 bash bench/audit_instructions.sh
#
# Each build (target/bench/carebridge-{no-audit,audited}, made by bench/audit.sh) is run twice on
# copies of one seeded consent world: with no reads and with READS reads of the GP's shared plans by
# one keep-alive client; (instructions with reads - instructions without) / READS is per read.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
READS="${READS:-3000}"; PRACTICES="${PRACTICES:-20}"; PATIENTS="${PATIENTS:-50}"
log() { printf '[audit-instructions %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
command -v valgrind >/dev/null 2>&1 || { log "installing valgrind"; apt-get update && apt-get install -y valgrind; }
source bench/world.sh
WORK="$(mktemp -d "${TMPDIR:-/tmp}/carebridge-instr.XXXXXX")"
[[ "${KEEP:-0}" == 1 ]] || trap 'rm -rf "$WORK"' EXIT

count() {  # bin, world dir, reads -> prints total instructions
  local bin="$1" dir="$2" n="$3" port pid
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  CAREBRIDGE_DATABASE_URL="sqlite://$dir/bench.db" CAREBRIDGE_LISTEN="127.0.0.1:$port" \
    CAREBRIDGE_BASE_URL="http://127.0.0.1:$port/fhir" CAREBRIDGE_LOG=warn CAREBRIDGE_WORKERS=1 \
    valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" "$bin" serve >"$dir/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  python3 - "$port" "$dir/paths-read.txt" "$n" "$GP" <<'PY'
import http.client, sys
port, paths, n, token = int(sys.argv[1]), open(sys.argv[2]).read().split(), int(sys.argv[3]), sys.argv[4]
c = http.client.HTTPConnection("127.0.0.1", port)
for i in range(n):
    c.request("GET", paths[i % len(paths)], headers={"Authorization": "Bearer " + token})
    r = c.getresponse(); r.read()
    if r.status != 200: sys.exit("read %d: HTTP %d" % (i, r.status))
PY
  kill -TERM "$pid"; wait "$pid" || true
  awk '/^(summary|totals):/ {print $2; exit}' "$dir/callgrind.out"
}

OUT="bench/results/audit-instructions-$(date -u +%Y-%m-%dT%H%M%SZ).md"
{
  echo "# Instructions per read, durable audit against the no-op build, $(date -u +%FT%TZ)"
  echo
  echo "\`$(basename "$0")\`: $READS reads of the GP's shared plans, one keep-alive client, one worker; commit $(git rev-parse --short HEAD)."
  echo
  echo "| build | instructions, no reads | instructions, $READS reads | per read |"
  echo "|---|---|---|---|"
} >"$OUT"
declare -A per=() total=()
for build in no-audit audited; do
  bin="$ROOT/target/bench/carebridge-$build"
  mkdir -p "$WORK/$build/seed"
  start_world "$bin" "$WORK/$build/seed"
  kill -TERM "$WORLD_PID"; wait "$WORLD_PID" || true
  for n in 0 "$READS"; do
    rm -rf "$WORK/$build/$n"; cp -r "$WORK/$build/seed" "$WORK/$build/$n"
    log "$build: $n reads under callgrind"
    total[$n]="$(count "$bin" "$WORK/$build/$n" "$n")"
  done
  per[$build]="$(python3 -c "import sys; print(round((int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3])))" "${total[0]}" "${total[$READS]}" "$READS")"
  echo "| $build | ${total[0]} | ${total[$READS]} | ${per[$build]} |" >>"$OUT"
done
python3 -c "import sys; a, n = int(sys.argv[1]), int(sys.argv[2]); print('\nThe durable audit adds %d instructions a read: %.1f%%.' % (a - n, 100.0 * (a - n) / n))" "${per[audited]}" "${per[no-audit]}" >>"$OUT"
cat "$OUT"
