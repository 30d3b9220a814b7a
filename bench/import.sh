#!/usr/bin/env bash
# Import benchmark: generates an eHNA export of N assessments (bench/gen_ehna.py) and times
# `carebridge import` on an empty SQLite store, then a rerun (which must create nothing).
# See bench/README.md ("Import").
#
#   bash bench/import.sh                 # 100,000 HNAs
#   HNAS=10000 bash bench/import.sh      # a quick run
#   SKIP_BUILD=1 bash bench/import.sh    # use the existing target/release/carebridge
#   RUNS=5 bash bench/import.sh          # imports into an empty store 5 times (default 3)
#
# This machine's timings vary by 10-15% between identical runs, so the empty-store import runs
# RUNS times (each into a new store) and the table gives every run and the median.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
HNAS="${HNAS:-100000}"
RUNS="${RUNS:-3}"
BIN="${BENCH_BIN:-$ROOT/target/release/carebridge}"
RESULTS_DIR="$ROOT/bench/results"

log() { printf '[import-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ "${SKIP_BUILD:-0}" != 1 && -z "${BENCH_BIN:-}" ]]; then
  log "building target/release/carebridge"
  cargo build --release --quiet --bin carebridge
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
CSV="$WORK/ehna-$HNAS.csv"
log "generating $HNAS assessments"
python3 bench/gen_ehna.py "$HNAS" "$CSV" >&2

export CAREBRIDGE_DATABASE_URL="sqlite://$WORK/import.db"
export CAREBRIDGE_LOG="${CAREBRIDGE_LOG:-warn}"

run() { # label
  local start end secs
  start=$(date +%s.%N)
  "$BIN" import --format ehna --file "$CSV" --source bench >"$WORK/$1.txt"
  end=$(date +%s.%N)
  secs=$(python3 -c "print(f'{$end - $start:.2f}')")
  cat "$WORK/$1.txt" >&2
  echo "$secs"
}

rates=()
rows=""
for i in $(seq 1 "$RUNS"); do
  rm -f "$WORK"/import.db*
  log "import into an empty store ($i of $RUNS)"
  secs=$(run first)
  created=$(awk '/^  created:/ {print $2}' "$WORK/first.txt")
  rejected=$(awk '/^rows rejected:/ {print $3}' "$WORK/first.txt")
  rate=$(python3 -c "print(round($created / $secs))")
  rates+=("$rate")
  rows+="| empty store, run $i | $secs | $created | $rejected | $rate |"$'\n'
done
median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
log "rerun (must create nothing)"
second=$(run second)
recreated=$(awk '/^  created:/ {print $2}' "$WORK/second.txt")
rerate=$(python3 -c "print(round($HNAS / $second))")

mkdir -p "$RESULTS_DIR"
OUT="$RESULTS_DIR/import-$(date +%Y%m%d-%H%M%S).md"
{
  echo "# Import benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "$(nproc) cores; $HNAS eHNA assessments ($(($(wc -l <"$CSV") - 1)) rows); SQLite; wall time of the whole command."
  echo
  echo "| run | seconds | HNAs created | rows rejected | HNAs/s |"
  echo "|---|---|---|---|---|"
  printf '%s' "$rows"
  echo "| rerun | $second | $recreated | | $rerate |"
  echo
  echo "Median of the empty-store runs: **$median HNAs/s**."
} >"$OUT"
cat "$OUT"
log "written to $OUT"
