-- GET /api/v1/items?limit=20&offset=0: the first page, the same request every time.
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local path = "/api/v1/items?limit=20&offset=0"

function request()
   return wrk.format("GET", path)
end
