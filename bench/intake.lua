-- wrk script of bench/bench_intake.py: POST distinct valid reports, optionally at a fixed rate.
--
-- Arguments after `--`: points file ("lon lat category" lines, GCJ-02, inside the city), run
-- tag, seconds between two requests of one connection (0: as fast as answers come).
-- Every request is a new report: its own point (cycling through the file), its own
-- Idempotency-Key and a description carrying "intake <tag>-<thread>-<n>", by which
-- bench_intake.py counts what was stored. done() prints one "intake-summary" line: wrk's
-- counts, the answers that were not 2xx (by response()) and latency percentiles in µs.
--
-- At a fixed rate, run one connection per thread (-t N -c N): delay() then gives each
-- connection one slot per interval. A connection that falls behind (a slow answer) starts
-- again from now rather than bursting to catch up, so the rate is a ceiling: the summary's
-- request count says whether it was held.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } intake_timespec;
int clock_gettime(int clock, intake_timespec *now);
]])
local CLOCK_MONOTONIC = 1
local clock = ffi.new("intake_timespec")

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) * 1e-9
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  points = {}
  for line in io.lines(args[1]) do
    local lon, lat, category = line:match("^(%S+) (%S+) (%S+)$")
    table.insert(points, { lon, lat, category })
  end
  tag = args[2]
  interval = tonumber(args[3])
  math.randomseed(thread_number)
  next_slot = now() + interval * math.random()
  made, not_2xx, first_error = 0, 0, ""
end

function request()
  made = made + 1
  local point = points[(made * 7919 + thread_number * 104729) % #points + 1]
  local marker = tag .. "-" .. thread_number .. "-" .. made
  local body = string.format(
    '{"lon":%s,"lat":%s,"crs":"gcj02","accuracy_m":10,"category":"%s","description":"%s"}',
    point[1], point[2], point[3], "intake " .. marker
  )
  local headers = { ["Content-Type"] = "application/json", ["Idempotency-Key"] = marker }
  return wrk.format("POST", "/api/v1/issues", headers, body)
end

function response(status, headers, body)
  if status < 200 or status >= 300 then
    not_2xx = not_2xx + 1
    if first_error == "" then
      first_error = (status .. " " .. body:sub(1, 120)):gsub("%s+", "_")
    end
  end
end

function delay()
  if interval <= 0 then
    return 0
  end
  local current = now()
  if next_slot < current then
    next_slot = current
  end
  local wait = next_slot - current
  next_slot = next_slot + interval
  return wait * 1000
end

function done(summary, latency, requests)
  local failed, first = 0, "-"
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("not_2xx")
    local error = thread:get("first_error")
    if first == "-" and error ~= "" then
      first = error
    end
  end
  local errors = summary.errors
  io.write(string.format(
    "intake-summary requests=%d duration_us=%d not_2xx=%d connect=%d read=%d write=%d "
      .. "timeout=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d first_error=%s\n",
    summary.requests, summary.duration, failed, errors.connect, errors.read, errors.write,
    errors.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, first
  ))
end
