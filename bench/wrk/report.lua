-- Shared by the scenario scripts (loaded with require "report"): numbers the wrk threads, reads the
-- bench data dir, and prints one machine-readable result line when the run ends:
--   BENCH {"scenario":"read","requests":...,"rps":...,"p50_ms":...,"p99_ms":...,...}
-- Each scenario script sets the global `scenario` before requiring this file.
-- wrk runs every thread in its own Lua state; setup()/done() run in a separate main state.

local M = {}

-- The scenario's wrk arguments (after `--`): DATA_DIR [BASE_PATH]. DATA_DIR holds ids.txt,
-- patient.json and hna-bundle.json; BASE_PATH is the FHIR base path (default /fhir).
function M.args(args)
  local dir = args[1] or os.getenv("BENCH_DATA_DIR")
  if not dir then error("usage: wrk ... -s <scenario>.lua <url> -- DATA_DIR [BASE_PATH]") end
  local base = args[2] or os.getenv("BENCH_BASE_PATH") or "/fhir"
  return dir, (base:gsub("/+$", ""))
end

-- The ids of one kind ("read" or "search") from DATA_DIR/ids.txt.
function M.ids(dir, kind)
  local ids = {}
  for line in io.lines(dir .. "/ids.txt") do
    local k, id = line:match("^(%S+)%s+(%S+)%s*$")
    if k == kind then ids[#ids + 1] = id end
  end
  if #ids == 0 then error("no '" .. kind .. "' ids in " .. dir .. "/ids.txt") end
  return ids
end

-- A GET of `path` as FHIR JSON, with the Authorization header wrk was given (-H).
function M.get(path)
  return wrk.format("GET", path, { ["Accept"] = "application/fhir+json",
    ["Authorization"] = wrk.headers["Authorization"] })
end

function M.slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- Threads are numbered so each starts its id rotation at a different place.
local threads = 0
function setup(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'BENCH {"scenario":"%s","requests":%d,"duration_s":%.3f,"rps":%.1f,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,' ..
    '"errors_status":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_timeout":%d}\n',
    scenario or "unknown", summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    e.status, e.connect, e.read, e.write, e.timeout))
end

return M
