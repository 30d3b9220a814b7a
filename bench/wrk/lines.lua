-- lines: one request per line of DATA_DIR/lines-<SCENARIO>.tsv, each with its own token
-- (a PATCH whose body is a list is sent as a JSON Patch):
--   METHOD \t PATH \t TOKEN \t IF-MATCH (or empty) \t BODY (or empty)
-- Thread i sends lines i, i+T, i+2T... of its part and wraps. BENCH_FROM / BENCH_TO (fractions of
-- the file, default 0 / 1) pick the part, so runs that must not repeat a request (a Task moved from
-- requested to accepted can be moved once) each get lines of their own. Used by bench/referrals.sh and bench/export.sh.
-- wrk -c 32 -t 2 -d 10s -s bench/wrk/lines.lua http://127.0.0.1:PORT -- DATA_DIR
scenario = os.getenv("BENCH_SCENARIO") or "lines"
package.path = (os.getenv("BENCH_WRK_DIR") or "bench/wrk") .. "/?.lua;" .. package.path
local report = require "report"

local requests, n, stride

function init(args)
  local dir = report.args(args)
  local from = tonumber(os.getenv("BENCH_FROM") or "0")
  local to = tonumber(os.getenv("BENCH_TO") or "1")
  local all = {}
  for line in io.lines(dir .. "/lines-" .. scenario .. ".tsv") do
    if line ~= "" then all[#all + 1] = line end
  end
  requests = {}
  local first, last = math.floor(from * #all) + 1, math.floor(to * #all)
  -- A part smaller than a line (a scenario of one request, repeatable) is the whole file.
  if last < first then first, last = 1, #all end
  for i = first, last do
    local method, path, token, ifmatch, body = all[i]:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t?(.*)$")
    local headers = { ["Accept"] = "application/fhir+json" }
    if token ~= "" then headers["Authorization"] = "Bearer " .. token end
    if ifmatch ~= "" then headers["If-Match"] = ifmatch end
    if body ~= "" then
      -- A JSON Patch (a list) has its own media type; every other body is FHIR JSON.
      if method == "PATCH" and body:sub(1, 1) == "[" then
        headers["Content-Type"] = "application/json-patch+json"
      else
        headers["Content-Type"] = "application/fhir+json"
      end
      headers["Prefer"] = "return=minimal"
    else
      body = nil
    end
    requests[#requests + 1] = wrk.format(method, path, headers, body)
  end
  if #requests == 0 then error("no lines for " .. scenario) end
  stride = tonumber(os.getenv("BENCH_THREADS") or "1")
  n = (thread_index or 0) + 1
end

function request()
  local r = requests[n]
  n = n + stride
  if n > #requests then n = (n - 1) % stride + 1 end
  return r
end
