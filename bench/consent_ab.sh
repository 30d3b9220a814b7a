#!/usr/bin/env bash
# Consent-filtered reads of this checkout against another revision, in one run on the same cores:
# bench/consent.sh for each binary in turn, rounds alternating, so the machine's state (other load,
# CPU frequency) falls on both alike.
#
#   bash bench/consent_ab.sh <base-rev>            # e.g. a commit before a change
#   ROUNDS=3 DURATION=10s bash bench/consent_ab.sh cb66e1d
#
# The base revision is built in a temporary worktree with its own target directory
# (target/bench-base; the first build takes as long as a clean release build). Environment as for
# bench/consent.sh; ROUNDS (3) is the number of alternations.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BASE_REV="${1:?usage: bench/consent_ab.sh <base-rev>}"
ROUNDS="${ROUNDS:-3}"
export DURATION="${DURATION:-10s}"
log() { printf '[consent-ab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

log "building this checkout (release)"
cargo build --release --bin carebridge
WT="$(mktemp -d "${TMPDIR:-/tmp}/carebridge-base.XXXXXX")"
cleanup() { git worktree remove --force "$WT" >/dev/null 2>&1 || true; }
trap cleanup EXIT
git worktree add --detach "$WT" "$BASE_REV" >/dev/null
log "building $BASE_REV (release, target/bench-base)"
(cd "$WT" && CARGO_TARGET_DIR="$ROOT/target/bench-base" cargo build --release --bin carebridge)

OUT="bench/results/consent-ab-$(date -u +%Y-%m-%dT%H%M%SZ).md"
{
  echo "# Consent-filtered reads, $(git rev-parse --short HEAD) against $BASE_REV, $(date -u +%FT%TZ)"
  echo
  echo "\`$(basename "$0")\`: bench/consent.sh once per binary per round, alternating, $DURATION per scenario."
  echo
  echo "| round | build | healthz req/s | read req/s | read p99 ms | search req/s | search p99 ms |"
  echo "|---|---|---|---|---|---|---|"
} >"$OUT"
for r in $(seq "$ROUNDS"); do
  for build in base head; do
    bin="$ROOT/target/release/carebridge"
    [[ "$build" == base ]] && bin="$ROOT/target/bench-base/release/carebridge"
    BENCH_BIN="$bin" ROUNDS=1 bash bench/consent.sh >&2
    rec="$(ls -t bench/results/consent-2*.md | head -n1)"
    python3 - "$rec" "$r" "$build" >>"$OUT" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) == 7 and cells[1] in ("healthz", "read", "search"):
        rows[cells[1]] = cells
h, rd, s = rows["healthz"], rows["read"], rows["search"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {h[2]} | {rd[2]} | {rd[4]} | {s[2]} | {s[4]} |")
PY
    rm -f "$rec"
  done
done
log "written $OUT"
cat "$OUT"
