-- search: the QuestionnaireResponses (HNAs) of one patient, a page of 20, rotating over the seeded
-- patients listed as "search" in ids.txt (each has exactly 20 QuestionnaireResponses).
-- wrk -c 32 -t 2 -d 15s -s bench/wrk/search.lua http://127.0.0.1:PORT -- DATA_DIR [/fhir]
scenario = "search"
package.path = (os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/?.lua;" .. package.path
local report = require "report"

local paths, n

function init(args)
  local dir, base = report.args(args)
  paths = {}
  for i, id in ipairs(report.ids(dir, "search")) do
    paths[i] = base .. "/QuestionnaireResponse?subject=Patient/" .. id .. "&_count=20"
  end
  n = ((thread_index or 0) * 31) % #paths
end

function request()
  n = n % #paths + 1
  return report.get(paths[n])
end
