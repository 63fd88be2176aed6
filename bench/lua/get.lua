-- GET /api/v1/items/{id}: a random existing id in [BENCH_MIN_ID, BENCH_MAX_ID].
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local min_id = tonumber(os.getenv("BENCH_MIN_ID") or "1")
local max_id = tonumber(os.getenv("BENCH_MAX_ID") or "10000")
local counter = 0
local headers = with_auth()

function setup(thread)
   counter = counter + 1
   thread:set("thread_id", counter)
end

function init(args)
   math.randomseed(os.time() * 1000 + (thread_id or 0))
end

function request()
   return wrk.format("GET", "/api/v1/items/" .. math.random(min_id, max_id), headers)
end
