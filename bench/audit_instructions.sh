#!/usr/bin/env bash
# What the durable audit costs a read in instructions (issue 5), counted by callgrind
# (bench/instructions.sh) over the two builds bench/audit.sh makes: the bench-only build whose
# durable audit write is a no-op, then the production build; the second row's "against the first"
# is the audit's share. Free of the round-to-round noise of bench/audit.sh, but without kernel time.
#
#   bash bench/audit_instructions.sh        # 3,000 reads per build
#   READS=1000 bash bench/audit_instructions.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VARIANTS="no-audit:$ROOT/target/bench/carebridge-no-audit audited:$ROOT/target/bench/carebridge-audited" \
  SCENARIO=read REQUESTS="${READS:-3000}" exec bash "$ROOT/bench/instructions.sh"
