-- GET /api/v1/items?limit=20&offset=0 (or the path in BENCH_PATH): the same request every time.
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local path = os.getenv("BENCH_PATH") or "/api/v1/items?limit=20&offset=0"
local headers = with_auth()

function request()
   return wrk.format("GET", path, headers)
end
