#!/usr/bin/env bash
# Bulk Data export with consent, and PATCH against PUT (issue 14's benchmark).
#
#   bash bench/export.sh                              # 20,000 patients x 5 = 100,000 HNAs
#   PATIENTS=2000 DURATION=5s bash bench/export.sh
#
# The world (bench/export_seed.py): one practice, its registered patients with HNAs, every tenth
# patient denying GPs. After seeding the server is restarted (so its peak memory is the export's),
# then:
#   export-gp      $export?_type=QuestionnaireResponse by the practice's GP token: every HNA
#                  decided by consent (a tenth withheld), files written, then fetched (audited)
#   export-system  the same export by a system token (no consent to decide): the floor
#   put / patch    PUT QuestionnaireResponse/<id> (the whole HNA, one answer changed) against PATCH
#                  of the same change as a JSON Patch, system token, each HNA written once per run,
#                  rounds alternating; validated, versioned and audited alike
# Environment: PATIENTS (20000), HNAS (5 per patient), DURATION (5s), WARMUP (1s), CONNECTIONS (32),
# THREADS (2), ROUNDS (2), SKIP_BUILD=1, BENCH_BIN, KEEP_DIR=1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PATIENTS="${PATIENTS:-20000}"; HNAS="${HNAS:-5}"; DURATION="${DURATION:-5s}"; WARMUP="${WARMUP:-1s}"
CONNECTIONS="${CONNECTIONS:-32}"; THREADS="${THREADS:-2}"; ROUNDS="${ROUNDS:-2}"
BIN="${BENCH_BIN:-$ROOT/target/release/carebridge}"
export BENCH_WRK_DIR="$ROOT/bench/wrk" BENCH_THREADS="$THREADS"
log() { printf '[export-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

command -v wrk >/dev/null 2>&1 || { log "installing wrk"; if [[ $(id -u) -eq 0 ]]; then apt-get update && apt-get install -y wrk; else sudo apt-get update && sudo apt-get install -y wrk; fi; }
if [[ "${SKIP_BUILD:-0}" != 1 && -z "${BENCH_BIN:-}" ]]; then
  log "building carebridge (release)"
  cargo build --release --bin carebridge
fi

DIR="$(mktemp -d "${TMPDIR:-/tmp}/carebridge-export.XXXXXX")"
PID=""
stop() { if [[ -n "$PID" ]]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; PID=""; }
cleanup() { stop; [[ -n "${KEEP_DIR:-}" ]] || rm -rf "$DIR"; }
trap cleanup EXIT
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export CAREBRIDGE_DATABASE_URL="sqlite://$DIR/bench.db" CAREBRIDGE_LISTEN="127.0.0.1:$PORT" \
  CAREBRIDGE_BASE_URL="http://127.0.0.1:$PORT/fhir" CAREBRIDGE_LOG=warn
start() {
  "$BIN" serve >>"$DIR/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.1; done
  log "the server did not start: $(tail -n 5 "$DIR/server.log")"; exit 1
}
token() { "$BIN" token --role "$1" --org "$2" --minutes 600; }
start
SYSTEM="$(token system BENCH)"
log "seeding $PATIENTS patients x $HNAS HNAs"
t0=$(date +%s)
python3 bench/export_seed.py "http://127.0.0.1:$PORT/fhir" "$SYSTEM" "$DIR" "$PATIENTS" "$HNAS" >&2
log "seeded in $(( $(date +%s) - t0 )) s; restarting the server"
stop
start
GP="$(token gp P00001)"

OUT="bench/results/export-$(date -u +%Y-%m-%dT%H%M%SZ).md"
{
  echo "# Bulk export and PATCH against PUT, $(date -u +%FT%TZ)"
  echo
  echo "\`$(basename "$0")\`: $PATIENTS patients, $((PATIENTS * HNAS)) HNAs (a tenth of the patients deny GPs), SQLite, consent and durable audit on; commit $(git rev-parse --short HEAD); $(nproc) cores."
  echo
  echo "| export | resources | files | job s | resources/s | fetch s | server peak RSS MB (before → after) |"
  echo "|---|---|---|---|---|---|---|"
} >"$OUT"
for who in gp system; do
  tok="$GP"; [[ "$who" == system ]] && tok="$SYSTEM"
  python3 - "http://127.0.0.1:$PORT/fhir" "$tok" "$PID" "$who" >>"$OUT" <<'PY'
import json, sys, time, urllib.request
base, token, pid, who = sys.argv[1:5]
def peak():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
def get(url, extra=None):
    h = {"Authorization": "Bearer " + token, "Accept": "application/fhir+json"}
    h.update(extra or {})
    with urllib.request.urlopen(urllib.request.Request(url, headers=h)) as r:
        return r.status, r.headers, r.read()
before = peak()
t0 = time.time()
status, headers, _ = get(base + "/$export?_type=QuestionnaireResponse", {"Prefer": "respond-async"})
assert status == 202, status
poll = headers["Content-Location"]
while True:
    status, _, body = get(poll)
    if status == 200:
        break
    time.sleep(0.05)
job = time.time() - t0
manifest = json.loads(body)
t1 = time.time()
lines = 0
for o in manifest["output"]:
    _, _, text = get(o["url"])
    lines += text.count(b"\n")
fetch = time.time() - t1
assert lines == sum(o["count"] for o in manifest["output"])
print("| %s | %d | %d | %.1f | %.0f | %.1f | %.0f → %.0f |" % (who, lines, len(manifest["output"]), job, lines / job, fetch, before, peak()))
PY
  log "$(tail -n1 "$OUT")"
done

python3 - "$DIR" "$SYSTEM" "$ROUNDS" <<'PY'
import json, sys
d, token, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
hnas = [line.rstrip("\n").split("\t", 1) for line in open(d + "/hnas.tsv")]
part = len(hnas) // (2 * rounds)
for r in range(rounds):
    for k, kind in enumerate(("put", "patch")):
        chunk = hnas[(2 * r + k) * part:(2 * r + k + 1) * part]
        with open("%s/lines-%s%d.tsv" % (d, kind, r + 1), "w") as f:
            for rid, text in chunk:
                body = json.loads(text)
                value = (body["item"][0]["item"][0]["answer"][0]["valueInteger"] + 1 + r) % 11
                path = "/fhir/QuestionnaireResponse/" + rid
                if kind == "put":
                    body["item"][0]["item"][0]["answer"][0]["valueInteger"] = value
                    f.write("PUT\t%s\t%s\t\t%s\n" % (path, token, json.dumps(body, separators=(",", ":"))))
                else:
                    op = [{"op": "replace", "path": "/item/0/item/0/answer/0/valueInteger", "value": value}]
                    f.write("PATCH\t%s\t%s\t\t%s\n" % (path, token, json.dumps(op, separators=(",", ":"))))
PY
run() { # run SCENARIO FROM TO DURATION
  BENCH_SCENARIO="$1" BENCH_FROM="$2" BENCH_TO="$3" wrk -c "$CONNECTIONS" -t "$THREADS" -d "$4" \
    -s "$ROOT/bench/wrk/lines.lua" "http://127.0.0.1:$PORT" -- "$DIR" | grep '^BENCH '
}
{
  echo
  echo "PATCH against PUT: $CONNECTIONS connections, $DURATION per run after $WARMUP of warm-up on other HNAs of the same part, each HNA written once."
  echo
  echo "| round | scenario | req/s | p50 ms | p99 ms | errors |"
  echo "|---|---|---|---|---|---|"
} >>"$OUT"
for r in $(seq "$ROUNDS"); do
  for s in put patch; do
    run "$s$r" 0 0.1 "$WARMUP" >/dev/null
    line="$(run "$s$r" 0.1 1 "$DURATION")"
    python3 - "${line#BENCH }" "$r" "$s" >>"$OUT" <<'PY'
import json, sys
j, r, s = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
errs = j["errors_status"] + j["errors_connect"] + j["errors_read"] + j["errors_timeout"]
print("| %s | %s | %.0f | %.2f | %.2f | %d |" % (r, s, j["rps"], j["p50_ms"], j["p99_ms"], errs))
PY
    log "round $r $s: $(tail -n1 "$OUT")"
  done
done
log "results in $OUT"
cat "$OUT"
