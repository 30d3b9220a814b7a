-- paths: GET each path listed in DATA_DIR/paths-<SCENARIO>.txt in turn, with the Authorization
-- header wrk was given (-H). Used by bench/consent.sh for consent-filtered reads and searches.
-- wrk -c 32 -t 2 -d 15s -s bench/wrk/paths.lua http://127.0.0.1:PORT -- DATA_DIR
scenario = os.getenv("BENCH_SCENARIO") or "paths"
package.path = (os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/?.lua;" .. package.path
local report = require "report"

local paths, n

function init(args)
  local dir = report.args(args)
  paths = {}
  for line in io.lines(dir .. "/paths-" .. scenario .. ".txt") do
    if line ~= "" then paths[#paths + 1] = line end
  end
  if #paths == 0 then error("no paths for " .. scenario) end
  n = ((thread_index or 0) * 97) % #paths
end

function request()
  n = n % #paths + 1
  return report.get(paths[n])
end
