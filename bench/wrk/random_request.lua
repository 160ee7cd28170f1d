-- wrk script: every request is a random line of a request file, so each one goes out as a
-- random account with that account's own credentials.
--
--   wrk -t2 -c16 -d5s -s bench/wrk/random_request.lua http://127.0.0.1:8000 -- FILE [METHOD]
--
-- FILE holds one request a line: `path<TAB>header name<TAB>header value`. METHOD defaults to
-- GET; a POST is sent with an empty body. When the run ends, `done` prints one JSON line
-- (latencies in microseconds) for bench/run.py to read.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

local requests = {}

function init(args)
  -- Each thread draws its own sequence.
  math.randomseed(os.time() * 1000 + thread_number)
  local method = args[2] or "GET"
  local body = nil
  if method ~= "GET" then
    body = ""
  end
  for line in io.lines(args[1]) do
    local path, name, value = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)$")
    if path then
      requests[#requests + 1] = wrk.format(method, path, { [name] = value }, body)
    end
  end
  if #requests == 0 then
    error("no requests in " .. args[1])
  end
end

function request()
  return requests[math.random(#requests)]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d}, "p50_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
