-- read: GET one Patient by id, rotating over the seeded patients listed as "read" in ids.txt.
-- wrk -c 32 -t 2 -d 15s -s bench/wrk/read.lua http://127.0.0.1:PORT -- DATA_DIR [/fhir]
scenario = "read"
package.path = (os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/?.lua;" .. package.path
local report = require "report"

local paths, n

function init(args)
  local dir, base = report.args(args)
  paths = {}
  for i, id in ipairs(report.ids(dir, "read")) do paths[i] = base .. "/Patient/" .. id end
  n = ((thread_index or 0) * 97) % #paths
end

function request()
  n = n % #paths + 1
  return report.get(paths[n])
end
