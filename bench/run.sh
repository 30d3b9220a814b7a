#!/usr/bin/env bash
# Load-test benchmark of the carebridge gateway with wrk. See bench/README.md.
#
#   bash bench/run.sh                               # sizes 10k, 100k, 1M; 15 s per scenario
#   SIZES=10000 DURATION=10s bash bench/run.sh      # a quick run
#
# Environment:
#   SIZES        store sizes (resources) to measure       default "10000 100000 1000000"
#   SCENARIOS    any of read search create bundle         default "read search create bundle"
#   DURATION     wrk duration per scenario                default 15s
#   WARMUP       wrk warm-up per scenario (not measured)  default 3s
#   CONNECTIONS  wrk connections                          default 32
#   THREADS      wrk threads                              default 2
#   KEEP_DB=1    cache seeded databases in target/bench-db/<size>.db and reuse them
#   SEED_THREADS bundles in flight while seeding          default 4
#   SKIP_BUILD=1 use the existing target/release/carebridge
#   BENCH_BIN    benchmark this binary instead (no build)
#   SERVER_LOG   log filter for the server (CAREBRIDGE_LOG) default "warn"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SIZES="${SIZES:-10000 100000 1000000}"
SCENARIOS="${SCENARIOS:-read search create bundle}"
DURATION="${DURATION:-15s}"
WARMUP="${WARMUP:-3s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
KEEP_DB="${KEEP_DB:-0}"
SEED_THREADS="${SEED_THREADS:-4}"
SERVER_LOG="${SERVER_LOG:-warn}"
BIN="${BENCH_BIN:-$ROOT/target/release/carebridge}"
CACHE_DIR="$ROOT/target/bench-db"
RESULTS_DIR="$ROOT/bench/results"
FHIR_PATH="/fhir"
export BENCH_WRK_DIR="$ROOT/bench/wrk"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for s in $SCENARIOS; do
  case "$s" in read|search|create|bundle) ;; *) die "unknown scenario '$s' (read search create bundle)";; esac
done
for n in $SIZES; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "SIZES must be positive integers, got '$n'"
done
(( THREADS <= CONNECTIONS )) || die "THREADS ($THREADS) must not exceed CONNECTIONS ($CONNECTIONS)"

# --- tools -------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk"
  if [[ $(id -u) -eq 0 ]]; then apt-get update && apt-get install -y wrk
  else sudo apt-get update && sudo apt-get install -y wrk; fi
fi
command -v python3 >/dev/null 2>&1 || die "python3 is required"
command -v curl >/dev/null 2>&1 || {
  log "installing curl"
  if [[ $(id -u) -eq 0 ]]; then apt-get install -y curl; else sudo apt-get install -y curl; fi
}

if [[ "${SKIP_BUILD:-0}" != 1 && -z "${BENCH_BIN:-}" ]]; then
  log "building carebridge (release)"
  cargo build --release --bin carebridge
fi
[[ -x "$BIN" ]] || die "$BIN not found"

# --- server lifecycle --------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/carebridge-bench.XXXXXX")"
SERVER_PID=""
PORT=""

stop_server() {
  # SIGTERM (actix stops gracefully, the writer finishes its queue) and wait; SIGKILL after 60 s.
  # carebridge does not checkpoint its WAL on the way out: see checkpoint_db.
  [[ -n "$SERVER_PID" ]] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 600); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      log "server $SERVER_PID did not stop in 60 s; killing it"
      kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

cleanup() {
  local rc=$?
  stop_server
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_server DB_FILE LOG_FILE: starts carebridge on DB_FILE, waits for /healthz to answer 200.
start_server() {
  local db="$1" logf="$2"
  PORT="$(free_port)"
  CAREBRIDGE_LISTEN="127.0.0.1:$PORT" \
  CAREBRIDGE_DATABASE_URL="sqlite://$db" \
  CAREBRIDGE_BASE_URL="http://127.0.0.1:$PORT$FHIR_PATH" \
  CAREBRIDGE_LOG="$SERVER_LOG" \
    "$BIN" serve >>"$logf" 2>&1 &
  SERVER_PID=$!
  local i
  for i in $(seq 600); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      SERVER_PID=""
      tail -n 40 "$logf" >&2 || true
      die "server exited during start-up (log above: $logf)"
    fi
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz" || true)" == 200 ]]; then
      # No [auth]: development mode; its secret (beside the database) mints the benchmark's token.
      BENCH_TOKEN="$(CAREBRIDGE_DATABASE_URL="sqlite://$db" "$BIN" token --role system --org BENCH --minutes 1440)"
      export BENCH_TOKEN
      return 0
    fi
    sleep 0.1
  done
  tail -n 40 "$logf" >&2 || true
  die "server did not answer /healthz with 200 within 60 s"
}

cpu_busy() { # percent of all CPU time that was not idle over the next 2 seconds
  local a b
  read -r -a a </proc/stat; sleep 2; read -r -a b </proc/stat
  local total=0 idle i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  idle=$(( b[4] - a[4] + b[5] - a[5] ))
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

rss_kb() { # rss_kb PID FIELD -> kB value of FIELD (VmHWM, VmRSS) from /proc/PID/status
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# Resets the peak-RSS watermark (VmHWM) to the current RSS, so each scenario reports its own peak.
# Needs Linux >= 4.0 and permission on /proc/PID/clear_refs; returns 1 if not possible.
reset_hwm() { { echo 5 >"/proc/$1/clear_refs"; } 2>/dev/null; }

copy_db() { # copy_db SRC DST: the SQLite file and its -wal, if any (never the -shm index)
  local src="$1" dst="$2"
  cp --sparse=always "$src" "$dst"
  rm -f "$dst-wal" "$dst-shm"
  if [[ -f "$src-wal" ]]; then cp "$src-wal" "$dst-wal"; fi
}

# checkpoint_db DB: folds the WAL into the database file and removes it (the server does not on
# SIGTERM), so the measured server starts from one compact file, seeded or cached alike.
checkpoint_db() {
  python3 - "$1" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
busy, log, done = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
if busy:
    sys.exit("checkpoint of %s incomplete (busy)" % sys.argv[1])
con.execute("PRAGMA journal_mode=DELETE")  # the last close then leaves no -wal/-shm behind
con.close()
PY
}

# preflight NAME METHOD PATH [BODY_FILE]: one request with curl; fails loudly with the response
# body when it is not 2xx, so a broken fixture is not benchmarked as a stream of 4xx.
preflight() {
  local name="$1" method="$2" path="$3" body="${4:-}" out="$WORK/preflight.out" code
  local args=(-s -o "$out" -w '%{http_code}' -X "$method" -H 'Accept: application/fhir+json'
    -H "Authorization: Bearer $BENCH_TOKEN")
  [[ -n "$body" ]] && args+=(-H 'Content-Type: application/fhir+json' --data-binary "@$body")
  code="$(curl "${args[@]}" "http://127.0.0.1:$PORT$path" || true)"
  if [[ "$code" != 2* ]]; then
    log "preflight for '$name' got HTTP $code from $method $path:"
    head -c 4000 "$out" >&2 || true
    echo >&2
    return 1
  fi
  if [[ "$name" == search ]]; then
    local n
    n="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("entry",[])))' "$out")"
    [[ "$n" == 20 ]] || log "warning: search preflight returned $n entries, expected 20"
  fi
  return 0
}

# --- run ---------------------------------------------------------------------------------------
mkdir -p "$RESULTS_DIR"
[[ "$KEEP_DB" == 1 ]] && mkdir -p "$CACHE_DIR"
DATA="$WORK/data"
mkdir -p "$DATA"
python3 bench/fixtures.py "$DATA"
ROWS="$WORK/rows.tsv"
: >"$ROWS"
STAMP="$(date -u +%Y-%m-%dT%H%M%SZ)"

log "sizes: $SIZES; scenarios: $SCENARIOS; wrk -t $THREADS -c $CONNECTIONS -d $DURATION (warm-up $WARMUP)"
BUSY_START="$(cpu_busy)"
if (( BUSY_START > 20 )); then
  log "warning: the CPUs were ${BUSY_START}% busy before starting; other work on the machine will skew the figures"
fi

for size in $SIZES; do
  dir="$WORK/$size"
  mkdir -p "$dir"
  db="$dir/bench.db"
  slog="$dir/server.log"

  if [[ "$KEEP_DB" == 1 && -f "$CACHE_DIR/$size.db" && -s "$CACHE_DIR/$size.ids.txt" ]]; then
    log "size $size: using cached database $CACHE_DIR/$size.db"
    copy_db "$CACHE_DIR/$size.db" "$db"
    cp "$CACHE_DIR/$size.ids.txt" "$DATA/ids.txt"
  else
    log "size $size: seeding a fresh database"
    start_server "$db" "$slog"
    python3 bench/seed.py --base-url "http://127.0.0.1:$PORT$FHIR_PATH" --count "$size" \
      --threads "$SEED_THREADS" --ids-out "$DATA/ids.txt" \
      || { tail -n 40 "$slog" >&2 || true; die "seeding failed"; }
    stop_server
    checkpoint_db "$db"
    if [[ "$KEEP_DB" == 1 ]]; then
      log "size $size: caching the seeded database in $CACHE_DIR/$size.db"
      rm -f "$CACHE_DIR/$size.ids.txt" "$CACHE_DIR/$size.db-wal" "$CACHE_DIR/$size.db-shm"
      cp --sparse=always "$db" "$CACHE_DIR/$size.db.tmp"
      mv "$CACHE_DIR/$size.db.tmp" "$CACHE_DIR/$size.db"
      cp "$DATA/ids.txt" "$CACHE_DIR/$size.ids.txt" # written last: its presence marks a complete cache entry
    fi
  fi
  db_mb="$( (du -cm "$db"* 2>/dev/null || true) | awk 'END { print $1 + 0 }')"

  # Measure on a freshly started server, so seeding's memory is not in the peak RSS.
  start_server "$db" "$slog"
  log "size $size: server pid $SERVER_PID on port $PORT, database ${db_mb} MB, idle RSS $(( $(rss_kb "$SERVER_PID" VmRSS) / 1024 )) MB"
  read_id="$(awk '$1 == "read" { print $2; exit }' "$DATA/ids.txt")"
  search_id="$(awk '$1 == "search" { print $2; exit }' "$DATA/ids.txt")"

  for scenario in $SCENARIOS; do
    case "$scenario" in
      read)   preflight read GET "$FHIR_PATH/Patient/$read_id" ;;
      search) preflight search GET "$FHIR_PATH/QuestionnaireResponse?subject=Patient/$search_id&_count=20" ;;
      create) preflight create POST "$FHIR_PATH/Patient" "$DATA/patient.json" ;;
      bundle) preflight bundle POST "$FHIR_PATH" "$DATA/hna-bundle.json" ;;
    esac || die "preflight for $scenario failed; not benchmarking it (server log: $slog)"

    hwm_note=""
    reset_hwm "$SERVER_PID" || hwm_note="*"
    log "size $size: $scenario (warm-up $WARMUP, then $DURATION)"
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "$WARMUP" -s "bench/wrk/$scenario.lua" \
      -H "Authorization: Bearer $BENCH_TOKEN" \
      "http://127.0.0.1:$PORT" -- "$DATA" "$FHIR_PATH" >/dev/null
    out="$dir/wrk-$scenario.txt"
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --latency -s "bench/wrk/$scenario.lua" \
      -H "Authorization: Bearer $BENCH_TOKEN" \
      "http://127.0.0.1:$PORT" -- "$DATA" "$FHIR_PATH" | tee "$out" >&2
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 40 "$slog" >&2; die "server died during $scenario"; }
    peak_kb="$(rss_kb "$SERVER_PID" VmHWM)"
    line="$(grep '^BENCH ' "$out" | tail -n 1 | cut -d' ' -f2-)"
    [[ -n "$line" ]] || die "wrk printed no BENCH line for $scenario"
    python3 - "$line" "$size" "$peak_kb" "$hwm_note" >>"$ROWS" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
errors = r["errors_status"] + r["errors_connect"] + r["errors_read"] + r["errors_write"] + r["errors_timeout"]
print("\t".join([sys.argv[2], r["scenario"], f'{r["rps"]:.0f}', f'{r["p50_ms"]:.2f}', f'{r["p99_ms"]:.2f}',
                 f'{int(sys.argv[3]) / 1024:.0f}{sys.argv[4]}', str(errors), str(r["requests"])]))
PY
  done
  grep -iE 'error|panic' "$slog" | head -n 5 >&2 || true
  stop_server
  rm -rf "$dir"
done

# --- report ------------------------------------------------------------------------------------
REPORT="$RESULTS_DIR/$STAMP.md"
{
  echo "# carebridge benchmark, $STAMP"
  echo
  echo "- commit: $(git rev-parse -q --verify --short HEAD 2>/dev/null || echo none)$(git diff --quiet HEAD -- src crates 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo "- machine: $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); wrk runs on the same machine"
  echo "- wrk: -t $THREADS -c $CONNECTIONS -d $DURATION after a $WARMUP warm-up; SQLite store"
  echo "- CPU busy (all cores, over 2 s) before the run: ${BUSY_START}%; after: $(cpu_busy)%"
  echo
  echo "| size | scenario | req/s | p50 ms | p99 ms | peak RSS MB | errors | requests |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$ROWS"
  if grep -q '\*' "$ROWS"; then
    echo
    echo "\\* the peak RSS watermark could not be reset, so this is the peak since the server started."
  fi
} >"$REPORT"
echo
cat "$REPORT"
echo
log "written to ${REPORT#"$ROOT"/}"
