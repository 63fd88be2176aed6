-- Shared by the benchmark's wrk scripts (loaded with dofile; bench/run.py sets
-- BENCH_LUA_DIR). done() prints one machine-readable line that bench/run.py parses:
-- exact latency percentiles from wrk's own histogram, in microseconds. with_auth() adds the
-- bearer token of BENCH_TOKEN (set in auth mode) to a request's headers.

local token = os.getenv("BENCH_TOKEN") or ""

function with_auth(headers)
   headers = headers or {}
   if token ~= "" then
      headers["Authorization"] = "Bearer " .. token
   end
   return headers
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean,
      e.connect, e.read, e.write, e.status, e.timeout))
end
