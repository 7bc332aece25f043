-- wrk script of bench/bench_soak.py: POST reports at a fixed rate and log every answer.
--
-- Run with one connection per thread (-t N -c N): request() and response() then alternate
-- in each thread, so the answer always belongs to the last request made.
-- Arguments after `--`: points file ("lon lat category" lines, GCJ-02), output folder,
-- run tag, seconds between two requests of one thread.
-- Each thread writes "<sent> <answered> <status> <marker> <id> <detail>" lines (epoch
-- seconds; id "-" when the answer carries none; detail: the start of an error's "detail")
-- to <folder>/thread-<n>.log.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } soak_timespec;
int clock_gettime(int clock, soak_timespec *now);
]])
local CLOCK_REALTIME = 0
local clock = ffi.new("soak_timespec")

-- Wall-clock seconds, the clock bench_soak.py stamps its outages with.
local function now()
  ffi.C.clock_gettime(CLOCK_REALTIME, clock)
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) * 1e-9
end

-- The main Lua state numbers the threads and keeps them for done().
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
  log = assert(io.open(args[2] .. "/thread-" .. thread_number .. ".log", "w"))
  log:setvbuf("line") -- wrk exits without closing Lua's files
  tag = args[3]
  interval = tonumber(args[4])
  -- Every connection sends its first request at once; the next ones come at a random point
  -- of each thread's interval, so that the threads do not stay in step.
  math.randomseed(thread_number)
  next_slot = now() + interval * math.random()
  made, answered = 0, 0
end

function request()
  made = made + 1
  local point = points[(made * 7919 + thread_number) % #points + 1]
  marker = tag .. "-" .. thread_number .. "-" .. made
  sent = now()
  local body = string.format(
    '{"lon":%s,"lat":%s,"crs":"gcj02","accuracy_m":10,"category":"%s","description":"%s"}',
    point[1], point[2], point[3], "soak " .. marker
  )
  local headers = { ["Content-Type"] = "application/json", ["Idempotency-Key"] = marker }
  return wrk.format("POST", "/api/v1/issues", headers, body)
end

function response(status, headers, body)
  answered = answered + 1
  local id = body:match('^{"id":(%d+)') or "-"
  local detail = status >= 300 and (body:match('"detail":"(.-)"%s*[,}]') or body:sub(1, 80)) or ""
  detail = detail:sub(1, 80):gsub("%s+", " ")
  log:write(string.format("%.6f %.6f %d %s %s %s\n", sent, now(), status, marker, id, detail))
end

-- Milliseconds to wait before this thread's next request: one slot per interval. A thread
-- that falls behind (a slow answer) starts again from now: no burst to catch up.
function delay()
  local current = now()
  if next_slot < current then
    next_slot = current
  end
  local wait = next_slot - current
  next_slot = next_slot + interval
  return wait * 1000
end

function done(summary, latency, requests)
  local made_total, answered_total = 0, 0
  for _, thread in ipairs(threads) do
    made_total = made_total + thread:get("made")
    answered_total = answered_total + thread:get("answered")
  end
  local errors = summary.errors
  io.write(string.format(
    "soak-summary connect=%d read=%d write=%d timeout=%d status=%d requests=%d made=%d answered=%d\n",
    errors.connect, errors.read, errors.write, errors.timeout, errors.status,
    summary.requests, made_total, answered_total
  ))
end
