#!/usr/bin/env bash
# The client suite (tests/clients/README.md): the user journeys driven by real FHIR client libraries,
# Python (fhirpy, fhirclient) and JavaScript (fhir-kit-client), against the gateway on a fresh store
# with the sample world, every returned resource checked by a strict R4 validator.
#
#   bash tests/clients/run.sh
#
# Installs what it needs: a Python venv at tests/clients/.venv (python/requirements.txt) and
# js/node_modules (npm ci of js/package-lock.json), each again only when its pins change.
# Environment: SKIP_BUILD=1 (use target/debug/carebridge as it is), KEEP_DIR=1 (keep the data
# directory and the server log).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="$ROOT/target/debug/carebridge"
log() { printf '[clients %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
started=$(date +%s)

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  log "building carebridge (debug)"
  (cd "$ROOT" && cargo build --bin carebridge)
fi

# The Python tools, reinstalled only when requirements.txt changes.
VENV="$HERE/.venv"
want="$(sha256sum "$HERE/python/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$want" ]]; then
  log "installing the Python client tools into $VENV"
  python3 -m venv --clear "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/python/requirements.txt"
  echo "$want" >"$VENV/.requirements.sha256"
fi
# The JavaScript tools, reinstalled only when package-lock.json changes.
want="$(sha256sum "$HERE/js/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$HERE/js/node_modules/.lock.sha256" 2>/dev/null)" != "$want" ]]; then
  log "installing the JavaScript client tools (npm ci)"
  (cd "$HERE/js" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$HERE/js/node_modules/.lock.sha256"
fi

# A fresh store with the sample world, and the gateway on a free port.
DIR="$(mktemp -d "${TMPDIR:-/tmp}/carebridge-clients.XXXXXX")"
PID=""
cleanup() {
  local status=$?
  if [[ -n "$PID" ]]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [[ $status -ne 0 && -f "$DIR/server.log" ]]; then
    log "server log (last 40 lines):"; tail -n 40 "$DIR/server.log" >&2
  fi
  if [[ -n "${KEEP_DIR:-}" ]]; then log "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export CAREBRIDGE_DATABASE_URL="sqlite://$DIR/carebridge.db"
export CAREBRIDGE_LISTEN="127.0.0.1:$PORT"
export CAREBRIDGE_BASE_URL="http://127.0.0.1:$PORT/fhir"
export CAREBRIDGE_LOG=warn
log "loading the sample world into $DIR"
# `carebridge sample` prints `export GP=<token>` and so on, one line per role (src/sample.rs).
"$BIN" sample >"$DIR/sample.out"
tokens="$(sed -n 's/^export \([A-Z_]*\)=\(.*\)$/export CB_TOKEN_\1=\2/p' "$DIR/sample.out")"
[[ $(grep -c CB_TOKEN_ <<<"$tokens") -ge 8 ]] || { log "carebridge sample printed no tokens"; cat "$DIR/sample.out" >&2; exit 1; }
eval "$tokens"
# The deployment's own evaluation system (the de-identified extract is for `system` callers).
CB_TOKEN_SYSTEM="$("$BIN" token --role system --org X26)"
export CB_TOKEN_SYSTEM
# Riverside Surgery's GP system as a SMART client of the development token endpoint.
creds="$("$BIN" token --client --role gp --org A81001)"
CB_CLIENT_ID="$(sed -n 's/^client_id=//p' <<<"$creds")"
CB_CLIENT_SECRET="$(sed -n 's/^client_secret=//p' <<<"$creds")"
export CB_CLIENT_ID CB_CLIENT_SECRET

"$BIN" serve >"$DIR/server.log" 2>&1 &
PID=$!
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  kill -0 "$PID" 2>/dev/null || { log "the gateway exited"; exit 1; }
  sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { log "the gateway did not come up"; exit 1; }
export CB_BASE="http://127.0.0.1:$PORT/fhir" CB_ROOT="http://127.0.0.1:$PORT"
export CB_JS_DUMP="$DIR/js-responses.ndjson"
log "gateway up at $CB_BASE"

failed=0
echo "== JavaScript: fhir-kit-client $(node -p "require('$HERE/js/node_modules/fhir-kit-client/package.json').version"), node $(node --version)"
(cd "$HERE/js" && node --test --test-concurrency=1 test/) || failed=1
echo "== Python: fhirpy, fhirclient; fhir.resources (R4 4.0.1) validating every response, and the JavaScript suite's"
(cd "$HERE/python" && PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" -m pytest) || failed=1

log "client suite $([[ $failed == 0 ]] && echo passed || echo FAILED) in $(( $(date +%s) - started )) s"
exit $failed
