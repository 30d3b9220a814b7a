#!/usr/bin/env bash
# The Helm chart test (test_chart.py): helm/carebridge linted and rendered by Helm v4's own engine,
# every manifest validated against the Kubernetes schemas, the invalid value sets refused.
#
#   bash tests/helm/run.sh
#
# Installs what it needs into a virtualenv at target/helm-venv (requirements.txt), again only when
# the pins change. Needs no helm binary, cluster or container runtime.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$ROOT/target/helm-venv"
log() { printf '[helm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

want="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$want" ]]; then
  log "installing helm-python-sdk and kubernetes-validate into $VENV"
  python3 -m venv --clear "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  echo "$want" >"$VENV/.requirements.sha256"
fi

exec "$VENV/bin/python" "$HERE/test_chart.py"
