-- create: POST one Patient (DATA_DIR/patient.json, written by bench/fixtures.py; the same body
-- every time, so its test NHS number repeats).
-- wrk -c 32 -t 2 -d 15s -s bench/wrk/create.lua http://127.0.0.1:PORT -- DATA_DIR [/fhir]
scenario = "create"
package.path = (os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/?.lua;" .. package.path
local report = require "report"

function init(args)
  local dir, base = report.args(args)
  wrk.method = "POST"
  wrk.path = base .. "/Patient"
  wrk.body = report.slurp(dir .. "/patient.json")
  wrk.headers["Content-Type"] = "application/fhir+json"
  wrk.headers["Accept"] = "application/fhir+json"
end
