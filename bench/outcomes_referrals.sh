#!/usr/bin/env bash
# Outcome-report benchmark for the referral tables: seeds REFERRALS (default 10000) referrals of one
# organisation and OTHERS (default 10000) between other organisations, as clients write them
# (bench/outcomes_referrals_seed.py: ServiceRequest and Task in one transaction, then Task updates), and times
# `carebridge outcomes --format json` (release build) RUNS times for that organisation, and once for
# an organisation with nothing to report (the command's fixed cost: start-up, opening the store).
# A last run logs the report's own phases (CAREBRIDGE_LOG=carebridge::outcomes=debug).
#
#   bash bench/outcomes_referrals.sh
#   KEEP_DB=1 bash bench/outcomes_referrals.sh     # keep/reuse target/bench-db/referrals-<N>-<OTHERS>.db
#   REFERRALS=50000 OTHERS=0 RUNS=5 bash bench/outcomes_referrals.sh
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/refbench bash bench/outcomes_referrals.sh
#       # on an empty PostgreSQL database you created (seeded every time; KEEP_DB is for SQLite)
set -euo pipefail

cd "$(dirname "$0")/.."
REFERRALS="${REFERRALS:-10000}"
OTHERS="${OTHERS:-10000}"
RUNS="${RUNS:-3}"
KEEP_DB="${KEEP_DB:-0}"
SKIP_BUILD="${SKIP_BUILD:-0}"
SEED_THREADS="${SEED_THREADS:-2}"
BIN="${BENCH_BIN:-target/release/carebridge}"

die() { echo "outcomes_referrals.sh: $*" >&2; exit 1; }
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

CACHE="target/bench-db/referrals-$REFERRALS-$OTHERS.db"
DB="$WORK/referrals.db"
URL="${BENCH_DATABASE_URL:-sqlite://$DB}"

seed() {
  local port token
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
  CAREBRIDGE_LISTEN="127.0.0.1:$port" CAREBRIDGE_DATABASE_URL="$URL" \
  CAREBRIDGE_BASE_URL="http://127.0.0.1:$port/fhir" CAREBRIDGE_LOG=warn \
    "$BIN" serve >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 600); do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 40 "$WORK/server.log" >&2; die "server exited"; }
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)" == 200 ]] && break
    sleep 0.1
  done
  token="$(CAREBRIDGE_DATABASE_URL="$URL" "$BIN" token --role system --org BENCH --minutes 1440)"
  python3 bench/outcomes_referrals_seed.py "http://127.0.0.1:$port/fhir" "$token" "$REFERRALS" "$OTHERS" "$SEED_THREADS"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  if [[ "$URL" != sqlite://* ]]; then
    # Planner statistics, as autovacuum would gather them in time: without them (autovacuum off, or
    # not yet run) PostgreSQL joins the referral search's index subqueries in nested loops, and the
    # search takes 46 s instead of 0.1 s.
    command -v psql >/dev/null && psql -q "$URL" -c ANALYZE
    return 0
  fi
  python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.execute("PRAGMA journal_mode=DELETE"); c.close()' "$DB"
}

if [[ "$URL" != sqlite://* ]]; then
  seed
elif [[ "$KEEP_DB" == 1 && -f "$CACHE" ]]; then
  cp "$CACHE" "$DB"
else
  seed
  if [[ "$KEEP_DB" == 1 ]]; then mkdir -p "$(dirname "$CACHE")"; cp "$DB" "$CACHE"; fi
fi

# report ODS LOG OUT: runs the report into OUT (the log goes to stdout too), prints its wall time
# in seconds; a failed report stops the benchmark.
report() {
  local s e
  s=$(date +%s.%N)
  CAREBRIDGE_DATABASE_URL="$URL" CAREBRIDGE_LOG="$2" \
    "$BIN" outcomes --organization "$1" --start 2026-01-01 --end 2026-12-31 --format json >"$3" \
    || die "the report for $1 failed"
  e=$(date +%s.%N)
  python3 -c "print(f'{$e - $s:.3f}')"
}

[[ "$URL" == sqlite://* ]] && echo "database: $(du -h "$DB" | cut -f1)"
echo "empty organisation: $(report REF02 warn "$WORK/empty.json") s"
for i in $(seq "$RUNS"); do
  echo "run $i: $(report REF01 warn "$WORK/report.json") s"
done
echo "logged run: $(report REF01 carebridge::outcomes=debug "$WORK/logged.txt") s"
sed -n 's/\x1b\[[0-9;]*m//g; s/.*: \(outcomes: .*\)/  \1/p' "$WORK/logged.txt"
python3 - "$WORK/report.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["tables"]
print("referral_population:", t["referral_population"])
print("referral_outcomes:", t["referral_outcomes"])
print("referral_days:", t["referral_days"])
PY
