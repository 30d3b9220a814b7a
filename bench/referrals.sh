#!/usr/bin/env bash
# The referral workflow under load (issue 13's benchmark), with consent and the durable audit on:
#   post      POST /fhir: a transaction of one referral and its Task, by the hospital (cns) for
#             one of its patients (relationship checked, profiles, state machine, audit in the
#             write's transaction)
#   update    PUT /fhir/Task/<id> with If-Match: the receiving housing provider accepts a Task
#             (the referral follows it in the same transaction); each Task once
#   worklist  GET /fhir/Task?owner=Organization/<id>&status=requested,received by each of the
#             worklist receivers with its own token, over all the Tasks (narrowed in SQL, each
#             match decided by its referral's consent, totals counted)
#   healthz   the framework's floor, in the same run
#
#   bash bench/referrals.sh                          # 20,000 patients = 100,000 referrals and Tasks
#   PATIENTS=2000 DURATION=5s bash bench/referrals.sh
# Environment: PATIENTS (20000), POOL_RECEIVERS (100), WORKLIST_RECEIVERS (300), DURATION (10s),
# WARMUP (2s), CONNECTIONS (32), THREADS (2), ROUNDS (2), SCENARIOS ("healthz worklist post update"),
# SKIP_BUILD=1, BENCH_BIN, KEEP_DIR=1 (keep the data directory), PERF=<scenario> (record the server
# with `perf record -g` during that scenario's first measured run; the report is left in the
# data directory).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PATIENTS="${PATIENTS:-20000}"; POOL="${POOL_RECEIVERS:-100}"; WORK="${WORKLIST_RECEIVERS:-300}"
DURATION="${DURATION:-10s}"; WARMUP="${WARMUP:-2s}"; CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"; ROUNDS="${ROUNDS:-2}"
BIN="${BENCH_BIN:-$ROOT/target/release/carebridge}"
export BENCH_WRK_DIR="$ROOT/bench/wrk" BENCH_THREADS="$THREADS"
log() { printf '[referral-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

command -v wrk >/dev/null 2>&1 || { log "installing wrk"; if [[ $(id -u) -eq 0 ]]; then apt-get update && apt-get install -y wrk; else sudo apt-get update && sudo apt-get install -y wrk; fi; }
if [[ "${SKIP_BUILD:-0}" != 1 && -z "${BENCH_BIN:-}" ]]; then
  log "building carebridge (release)"
  cargo build --release --bin carebridge
fi

DIR="$(mktemp -d "${TMPDIR:-/tmp}/carebridge-referrals.XXXXXX")"
PID=""
cleanup() { if [[ -n "$PID" ]]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; [[ -n "${KEEP_DIR:-}" ]] || rm -rf "$DIR"; }
trap cleanup EXIT
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export CAREBRIDGE_DATABASE_URL="sqlite://$DIR/bench.db"
CAREBRIDGE_LISTEN="127.0.0.1:$PORT" CAREBRIDGE_BASE_URL="http://127.0.0.1:$PORT/fhir" CAREBRIDGE_LOG=warn \
  "$BIN" serve >"$DIR/server.log" 2>&1 &
PID=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
token() { "$BIN" token --role "$1" --org "$2" --minutes 600; }
SYSTEM="$(token system BENCH)"
log "seeding $PATIENTS patients x 5 referrals with their Tasks"
start=$(date +%s)
python3 bench/referral_seed.py "http://127.0.0.1:$PORT/fhir" "$SYSTEM" "$DIR" "$PATIENTS" "$POOL" "$WORK" >&2
log "seeded in $(( $(date +%s) - start )) s; minting tokens"
HOSPITAL="$(token cns RH0001)"
while read -r code id kind; do echo "$code $(token housing "$code")"; done <"$DIR/receivers.txt" >"$DIR/tokens.txt"

python3 - "$DIR" "$HOSPITAL" <<'PY'
import json, random, sys
d, hospital = sys.argv[1], sys.argv[2]
tokens = dict(line.split() for line in open(d + "/tokens.txt"))
receivers = [line.split() for line in open(d + "/receivers.txt")]
hospital_id = open(d + "/hospital.txt").read().strip()
rng = random.Random(13)
with open(d + "/lines-worklist.tsv", "w") as f:
    work = [(c, i) for c, i, k in receivers if k == "worklist"]
    for c, i in work:
        f.write("GET\t/fhir/Task?owner=Organization/%s&status=requested,received\t%s\t\t\n" % (i, tokens[c]))
with open(d + "/lines-update.tsv", "w") as f:
    pool = [line.rstrip("\n").split("\t") for line in open(d + "/tasks-pool.tsv")]
    rng.shuffle(pool)
    for code, tid, body in pool:
        f.write('PUT\t/fhir/Task/%s\t%s\tW/"1"\t%s\n' % (tid, tokens[code], body))
with open(d + "/lines-post.tsv", "w") as f:
    patients = [p for p in open(d + "/patients.txt").read().split() if p]
    pool_ids = [i for c, i, k in receivers if k == "pool"]
    for n in range(2000):
        p, r = rng.choice(patients), rng.choice(pool_ids)
        subject = {"reference": "Patient/" + p}
        org = lambda i: {"reference": "Organization/" + i}
        sr = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
              "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005"}]}],
              "subject": subject, "authoredOn": "2026-12-03T09:00:00Z", "requester": org(hospital_id),
              "performer": [org(r)],
              "reasonCode": [{"coding": [{"system": "https://fhir.carebridge.uk/CodeSystem/hna-concern", "code": "housing"}]}]}
        task = {"resourceType": "Task", "status": "requested", "intent": "order",
                "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
                "focus": {"reference": "urn:uuid:6f1c1e2a-0000-4000-8000-000000000001"}, "for": subject,
                "requester": org(hospital_id), "owner": org(r)}
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:6f1c1e2a-0000-4000-8000-000000000001", "resource": sr,
             "request": {"method": "POST", "url": "ServiceRequest"}},
            {"resource": task, "request": {"method": "POST", "url": "Task"}}]}
        f.write("POST\t/fhir\t%s\t\t%s\n" % (hospital, json.dumps(bundle, separators=(",", ":"))))
with open(d + "/lines-healthz.tsv", "w") as f:
    f.write("GET\t/healthz\t\t\t\n")
PY

# Sanity: each request of each scenario answers as it should before it is measured.
check() { local want="$1"; shift; local got; got="$(curl -s -o "$DIR/check.json" -w '%{http_code}' "$@")"; [[ "$got" == "$want" ]] || { log "expected $want, got $got: $(head -c 400 "$DIR/check.json")"; exit 1; }; }
field() { head -n1 "$DIR/lines-$1.tsv" | cut -f "$2"; } # (tabs in a row are empty fields for cut, not for read)
path="$(field worklist 2)"; tok="$(field worklist 3)"
check 200 -H "Authorization: Bearer $tok" "http://127.0.0.1:$PORT$path"
total="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"])' "$DIR/check.json")"
[[ "$total" -ge 1 ]] || { log "an empty worklist ($total)"; exit 1; }
log "a worklist holds $total open Tasks"
path="$(field post 2)"; tok="$(field post 3)"; body="$(field post 5)"
check 200 -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/fhir+json' -d "$body" "http://127.0.0.1:$PORT$path"

run() { # run SCENARIO FROM TO DURATION (FROM, TO: the part of the scenario's lines, as fractions)
  BENCH_SCENARIO="$1" BENCH_FROM="$2" BENCH_TO="$3" wrk -c "$CONNECTIONS" -t "$THREADS" -d "$4" \
    -s "$ROOT/bench/wrk/lines.lua" "http://127.0.0.1:$PORT" -- "$DIR" | grep '^BENCH '
}
OUT="bench/results/referrals-$(date -u +%Y-%m-%dT%H%M%SZ).md"
{
  echo "# Referral workflow, $(date -u +%FT%TZ)"
  echo
  echo "\`$(basename "$0")\`: $PATIENTS patients, $((PATIENTS * 5)) referrals and Tasks ($POOL pooled and $WORK worklist receivers, $total open Tasks per worklist), SQLite, consent and durable audit on; $CONNECTIONS connections, $DURATION per scenario, $ROUNDS rounds; commit $(git rev-parse --short HEAD); $(nproc) cores."
  echo
  echo "| round | scenario | req/s | p50 ms | p99 ms | target | errors |"
  echo "|---|---|---|---|---|---|---|"
} >"$OUT"
for r in $(seq "$ROUNDS"); do
  # Each round's updates take their own Tasks: a fifth of its share to warm up, the rest measured.
  read -r w0 w1 m1 < <(python3 -c "r,n=$r,$ROUNDS; b=(r-1)/n; print(b, b+0.2/n, b+1/n)")
  for s in ${SCENARIOS:-healthz worklist post update}; do
    run "$s" "$w0" "$w1" "$WARMUP" >/dev/null
    PERF_PID=""
    if [[ "${PERF:-}" == "$s" && "$r" == 1 ]]; then
      perf record -g -p "$PID" -o "$DIR/perf-$s.data" -- sleep "${DURATION%s}" >/dev/null 2>&1 &
      PERF_PID=$!
    fi
    line="$(run "$s" "$w1" "$m1" "$DURATION")"
    # Only the profiler: a bare `wait` would wait for the server too, for ever.
    [[ -z "$PERF_PID" ]] || wait "$PERF_PID"
    python3 - "${line#BENCH }" "$r" "$s" >>"$OUT" <<'PY'
import json, sys
j, r, s = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
target = {"post": "1,000/s", "update": "2,000/s", "worklist": "5,000/s, p99 10 ms"}.get(s, "")
errs = j["errors_status"] + j["errors_connect"] + j["errors_read"] + j["errors_timeout"]
print("| %s | %s | %.0f | %.2f | %.2f | %s | %d |" % (r, s, j["rps"], j["p50_ms"], j["p99_ms"], target, errs))
PY
    log "round $r $s: $(tail -n1 "$OUT")"
  done
done
echo >>"$OUT"
echo "Server peak RSS: $(grep VmHWM /proc/$PID/status | awk '{print $2, $3}')." >>"$OUT"
cat "$OUT"
