-- POST /api/v1/items with a name that is never taken: a run tag (unique per wrk run,
-- from BENCH_TAG), the wrk thread's number and a per-thread counter, plus a random
-- suffix. A 409 would show up in the run's status errors, which the harness refuses.
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local tag = os.getenv("BENCH_TAG") or tostring(os.time())
local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("thread_id", threads)
end

local counter = 0
local headers = with_auth({ ["Content-Type"] = "application/json" })

function init(args)
   math.randomseed(os.time() * 1000 + (thread_id or 0))
end

function request()
   counter = counter + 1
   local name = "bench-" .. tag .. "-" .. thread_id .. "-" .. counter .. "-" .. math.random(1, 1000000000)
   local body = '{"name": "' .. name .. '", "description": "created by the benchmark"}'
   return wrk.format("POST", "/api/v1/items", headers, body)
end
