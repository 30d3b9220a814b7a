#!/usr/bin/env bash
# Outcome-report benchmark: seeds HNAS (default 100000) HNAs of one organisation, with their Patients
# and PCSP care plans, through the FHIR API (transaction Bundles), then times
# `carebridge outcomes --format json` (release build) RUNS times on the seeded SQLite file.
#
#   bash bench/outcomes.sh                 # seed 100k HNAs and time the report
#   KEEP_DB=1 bash bench/outcomes.sh       # keep/reuse target/bench-db/outcomes-<HNAS>.db
#   HNAS=10000 RUNS=5 bash bench/outcomes.sh
#
# Every HNA answers all 54 concerns (most 0), the Distress Thermometer and point of pathway, per the
# contract in src/hna/mod.rs; about 35% of people have a second HNA and 5% a third; every HNA has a
# care plan of 3 activities (one in four a referral to a typed Organization), about 60% shared with
# the GP.
set -euo pipefail

cd "$(dirname "$0")/.."
HNAS="${HNAS:-100000}"
RUNS="${RUNS:-3}"
KEEP_DB="${KEEP_DB:-0}"
SKIP_BUILD="${SKIP_BUILD:-0}"
SEED_THREADS="${SEED_THREADS:-4}"
BIN="${BENCH_BIN:-target/release/carebridge}"
ODS="BENCH01"

die() { echo "outcomes.sh: $*" >&2; exit 1; }
command -v python3 >/dev/null || die "python3 is needed"
command -v curl >/dev/null || die "curl is needed"

if [[ "$SKIP_BUILD" != 1 && -z "${BENCH_BIN:-}" ]]; then
  cargo build --release --bin carebridge
fi
[[ -x "$BIN" ]] || die "no binary at $BIN"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

CACHE="target/bench-db/outcomes-$HNAS.db"
DB="$WORK/outcomes.db"

seed() {
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
  CAREBRIDGE_LISTEN="127.0.0.1:$port" CAREBRIDGE_DATABASE_URL="sqlite://$DB" \
  CAREBRIDGE_BASE_URL="http://127.0.0.1:$port/fhir" CAREBRIDGE_LOG=warn \
    "$BIN" serve >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 600); do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 40 "$WORK/server.log" >&2; die "server exited"; }
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)" == 200 ]] && break
    sleep 0.1
  done
  BENCH_TOKEN="$(CAREBRIDGE_DATABASE_URL="sqlite://$DB" "$BIN" token --role system --org BENCH --minutes 1440)"
  export BENCH_TOKEN
  python3 - "http://127.0.0.1:$port/fhir" "$HNAS" "$SEED_THREADS" "$ODS" <<'PY'
import concurrent.futures as cf, json, os, random, sys, time, urllib.request
sys.path.insert(0, "bench")
import fixtures as fx

base, total, threads, ods = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
C = "https://fhir.carebridge.uk"
CONCERNS = [l.split(",")[:2] for l in open("profiles/source/concerns.csv").read().splitlines()[1:] if l]
DOMAINS = ["physical", "practical", "family", "emotional", "spiritual", "lifestyle"]
STAGES = ["diagnosis", "start-of-treatment", "during-treatment", "end-of-treatment", "recurrence", "palliative"]
ACTIONS = ["discussion", "information-advice", "signposting", "referral"]
DESTS = ["gp", "cns", "welfare-benefits", "housing", "psychological-support", "community"]
HDR = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json",
       "Authorization": "Bearer " + os.environ["BENCH_TOKEN"]}

def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body, separators=(",", ":")).encode(), method="POST", headers=HDR)
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        sys.exit(f"seed: HTTP {e.code}: {e.read().decode()[:3000]}")

org = post(f"{base}/Organization", {"resourceType": "Organization", "name": "Bench link-worker service",
    "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": ods}]})["id"]
dests = [post(f"{base}/Organization", {"resourceType": "Organization", "name": f"Service {d}",
    "type": [{"coding": [{"system": f"{C}/CodeSystem/referral-destination", "code": d}]}]})["id"] for d in DESTS]

def hna(rng, p, day):
    groups = []
    for d in DOMAINS:
        items = [{"linkId": code, "answer": [{"valueInteger": rng.choice([0, 0, 0, 0, 0, 0, rng.randint(1, 10)])}]}
                 for code, dom in CONCERNS if dom == d]
        groups.append({"linkId": d, "item": items})
    groups.append({"linkId": "distress-thermometer", "answer": [{"valueInteger": rng.randint(0, 10)}]})
    groups.append({"linkId": "point-of-pathway", "answer": [{"valueCoding": {
        "system": f"{C}/CodeSystem/hna-point-of-pathway", "code": rng.choice(STAGES)}}]})
    return {"resourceType": "QuestionnaireResponse", "meta": {"profile": [f"{C}/StructureDefinition/hna-questionnaireresponse"]},
            "questionnaire": f"{C}/Questionnaire/hna", "status": "completed", "subject": {"reference": p},
            "author": {"reference": f"Organization/{org}"}, "authored": f"2026-01-01T10:00:00Z" if day is None else day,
            "item": groups}

def plan(rng, p, q, created):
    acts = []
    for _ in range(3):
        code, dom = rng.choice(CONCERNS)
        kind = "referral" if rng.random() < 0.25 else rng.choice(ACTIONS[:3])
        detail = {"extension": [{"url": f"{C}/StructureDefinition/concern-domain",
                                 "valueCoding": {"system": f"{C}/CodeSystem/hna-domain", "code": dom}}],
                  "reasonCode": [{"coding": [{"system": f"{C}/CodeSystem/hna-concern", "code": code}]}],
                  "code": {"coding": [{"system": f"{C}/CodeSystem/pcsp-action-type", "code": kind}]},
                  "status": "scheduled"}
        if kind == "referral":
            detail["performer"] = [{"reference": f"Organization/{rng.choice(dests)}"}]
        acts.append({"detail": detail})
    cp = {"resourceType": "CarePlan", "meta": {"profile": [f"{C}/StructureDefinition/pcsp-careplan"]},
          "status": "active", "intent": "plan", "created": created,
          "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "734163000"}]}],
          "subject": {"reference": p}, "author": {"reference": f"Organization/{org}"},
          "supportingInfo": [{"reference": q}], "activity": acts}
    if rng.random() < 0.6:
        cp["extension"] = [{"url": f"{C}/StructureDefinition/pcsp-shared-with", "valueCode": "gp"}]
    return cp

def bundles():
    rng = random.Random(7)
    nhs = fx.valid_nhs_numbers(0)
    made, entries = 0, []
    while made < total:
        n = min(total - made, 1 if rng.random() < 0.6 else (2 if rng.random() < 0.875 else 3))
        p = fx.urn()
        entries.append(fx.entry(p, fx.patient(rng, next(nhs))))
        day = rng.randint(0, 300 - 100 * n)
        for _ in range(n):
            day += rng.randint(30, 99)
            d = time.strftime("%Y-%m-%d", time.gmtime(1767225600 + 86400 * min(day, 364)))
            q = fx.urn()
            entries.append(fx.entry(q, hna(rng, p, f"{d}T10:00:00Z")))
            c = time.strftime("%Y-%m-%d", time.gmtime(1767225600 + 86400 * (min(day, 364) + rng.randint(0, 4))))
            entries.append(fx.entry(fx.urn(), plan(rng, p, q, c)))
        made += n
        if len(entries) >= 250:
            yield fx.transaction(entries); entries = []
    if entries:
        yield fx.transaction(entries)

start, done = time.monotonic(), 0
with cf.ThreadPoolExecutor(max_workers=threads) as pool:
    pending = set()
    for b in bundles():
        pending.add(pool.submit(post, base, b))
        if len(pending) >= threads * 2:
            fin, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for f in fin:
                done += len(f.result().get("entry", []))
    for f in cf.as_completed(pending):
        done += len(f.result().get("entry", []))
print(f"seeded {done} resources ({total} HNAs) in {time.monotonic() - start:.0f}s", flush=True)
PY
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.execute("PRAGMA journal_mode=DELETE"); c.close()' "$DB"
}

if [[ "$KEEP_DB" == 1 && -f "$CACHE" ]]; then
  cp "$CACHE" "$DB"
else
  seed
  if [[ "$KEEP_DB" == 1 ]]; then mkdir -p "$(dirname "$CACHE")"; cp "$DB" "$CACHE"; fi
fi

echo "database: $(du -h "$DB" | cut -f1)"
for i in $(seq "$RUNS"); do
  s=$(date +%s.%N)
  CAREBRIDGE_DATABASE_URL="sqlite://$DB" CAREBRIDGE_LOG=warn \
    "$BIN" outcomes --organization "$ODS" --start 2026-01-01 --end 2026-12-31 --format json >"$WORK/report.json"
  e=$(date +%s.%N)
  printf 'run %d: %.3f s\n' "$i" "$(echo "$e - $s" | bc -l 2>/dev/null || python3 -c "print($e - $s)")"
done
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("population:", r["tables"]["population"])' "$WORK/report.json"
