# Sourced by the consent and audit benchmarks: a gateway on a fresh SQLite store, seeded with the
# consent world (bench/consent_seed.py). Needs ROOT, PRACTICES, PATIENTS and a `log` function.

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# scratch NAME: a temporary directory WORK for a script's runs; at exit the gateway in SERVER and
# the world's (WORLD_PID), whichever runs, are stopped and WORK removed.
scratch() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/carebridge-$1.XXXXXX")"
  SERVER=""
  trap scratch_cleanup EXIT
}
scratch_cleanup() {
  if [[ -n "${SERVER:-}" ]]; then kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  if [[ -n "${WORLD_PID:-}" ]]; then kill -TERM "$WORLD_PID" 2>/dev/null || true; wait "$WORLD_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}

# start_world BIN DIR: starts BIN serving DIR/bench.db on a free port, seeds it, checks the GP's
# view; sets WORLD_PORT, WORLD_PID and GP (the token of role gp, org P00001).
start_world() {
  local bin="$1" dir="$2"
  WORLD_PORT="$(free_port)"
  CAREBRIDGE_DATABASE_URL="sqlite://$dir/bench.db" CAREBRIDGE_LISTEN="127.0.0.1:$WORLD_PORT" \
    CAREBRIDGE_BASE_URL="http://127.0.0.1:$WORLD_PORT/fhir" CAREBRIDGE_LOG=warn \
    "$bin" serve >"$dir/server.log" 2>&1 &
  WORLD_PID=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$WORLD_PORT/healthz" >/dev/null && break; sleep 0.1; done
  local system
  system="$(CAREBRIDGE_DATABASE_URL="sqlite://$dir/bench.db" "$bin" token --role system --org BENCH --minutes 600)"
  GP="$(CAREBRIDGE_DATABASE_URL="sqlite://$dir/bench.db" "$bin" token --role gp --org P00001 --minutes 600)"
  log "seeding $PRACTICES practices x $PATIENTS patients ($(basename "$bin"))"
  python3 "$ROOT/bench/consent_seed.py" "http://127.0.0.1:$WORLD_PORT/fhir" "$system" "$dir" "$PRACTICES" "$PATIENTS" >&2
  # Sanity: the GP reads a plan and its search counts only its registered patients' shared plans.
  local first total
  first="$(head -n1 "$dir/paths-read.txt")"
  curl -sf -H "Authorization: Bearer $GP" "http://127.0.0.1:$WORLD_PORT$first" >/dev/null || { log "the GP cannot read $first"; return 1; }
  total="$(curl -sf -H "Authorization: Bearer $GP" "http://127.0.0.1:$WORLD_PORT/fhir/CarePlan?_summary=count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"
  [[ "$total" == "$PATIENTS" ]] || { log "the GP's search counts $total plans, expected $PATIENTS"; return 1; }
}

# wrk_scenario PORT DIR SCENARIO [TOKEN]: a warm-up, then the measured run with TOKEN (default:
# $GP; each world has its own development secret, so its own tokens); prints the BENCH line.
# WRK_SCHEME=https speaks TLS (wrk does not verify the certificate; connections are kept alive).
# With SETTLE_PORTS (metrics listeners), it waits after the warm-up until every gateway named
# has copied its audit journal into its store (settle), so that no gateway's background copy
# runs during another's measurement.
wrk_scenario() {
  local port="$1" dir="$2" s="$3" token="${4:-$GP}" auth=()
  [[ "$s" != healthz ]] && auth=(-H "Authorization: Bearer $token")
  BENCH_SCENARIO="$s" wrk -c "$CONNECTIONS" -t "$THREADS" -d "$WARMUP" "${auth[@]}" -s "$ROOT/bench/wrk/paths.lua" "${WRK_SCHEME:-http}://127.0.0.1:$port" -- "$dir" >/dev/null
  [[ -n "${SETTLE_PORTS:-}" ]] && settle $SETTLE_PORTS
  BENCH_SCENARIO="$s" wrk -c "$CONNECTIONS" -t "$THREADS" -d "$DURATION" "${auth[@]}" -s "$ROOT/bench/wrk/paths.lua" "${WRK_SCHEME:-http}://127.0.0.1:$port" -- "$dir" | grep '^BENCH '
}

# wrk_pair ROUND SCENARIO PORT_A DIR_A SCHEME_A PORT_B DIR_B SCHEME_B: the scenario on both servers,
# A first in odd rounds and B first in even ones, so that neither always runs on a machine the
# other warmed; sets PAIR_A and PAIR_B to their BENCH lines.
wrk_pair() {
  local r="$1" s="$2"
  if (( r % 2 )); then
    PAIR_A="$(WRK_SCHEME="$5" wrk_scenario "$3" "$4" "$s")"
    PAIR_B="$(WRK_SCHEME="$8" wrk_scenario "$6" "$7" "$s")"
  else
    PAIR_B="$(WRK_SCHEME="$8" wrk_scenario "$6" "$7" "$s")"
    PAIR_A="$(WRK_SCHEME="$5" wrk_scenario "$3" "$4" "$s")"
  fi
}

# settle PORT...: waits (up to 120 s) until the gateways whose metrics listen on PORTs report no
# audit events waiting to be copied into their stores.
settle() {
  local port lag
  for port in "$@"; do
    for _ in $(seq 1200); do
      lag="$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^carebridge_audit_copy_lag_events /{print $2}')"
      [[ "$lag" == 0 ]] && break
      sleep 0.1
    done
  done
}
