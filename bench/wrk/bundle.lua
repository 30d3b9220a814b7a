-- bundle: POST one HNA as a transaction Bundle (DATA_DIR/hna-bundle.json, written by
-- bench/fixtures.py): a Patient, a 50-item QuestionnaireResponse and a 10-activity CarePlan linked
-- by urn:uuid fullUrls. The urn:uuids are the same in every request; each POST is its own
-- transaction, so that is fine.
-- wrk -c 32 -t 2 -d 15s -s bench/wrk/bundle.lua http://127.0.0.1:PORT -- DATA_DIR [/fhir]
scenario = "bundle"
package.path = (os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/?.lua;" .. package.path
local report = require "report"

function init(args)
  local dir, base = report.args(args)
  wrk.method = "POST"
  wrk.path = base
  wrk.body = report.slurp(dir .. "/hna-bundle.json")
  wrk.headers["Content-Type"] = "application/fhir+json"
  wrk.headers["Accept"] = "application/fhir+json"
end
