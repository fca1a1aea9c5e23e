--- Per-call overhead of a lookup through cdp.client against raw libcurl
-- (bench/lookup_limit.c) on one kept-alive connection, both against the same
-- server, in turns: REPS rounds of N calls each. bench/run.lua starts it,
-- once per ABI, with the sandbox's CDP_* settings and
--   BENCH_LIMIT  path of the built lookup_limit program
--   BENCH_TOKEN  an access token for it (from the environment, never argv)
--   BENCH_ID     the Emirates ID number to look up (a customer that exists)
--   BENCH_N, BENCH_REPS
-- Prints "sdk <n> <seconds>" and "limit <n> <seconds> <connects>" per round,
-- then "calls <total SDK calls>" and "connects <n> grants <n>" (the SDK
-- client's connections and token grants, by its own stats).
local cdp = require "cdp"
local socket = require "socket"

local n = tonumber(os.getenv("BENCH_N")) or 2000
local reps = tonumber(os.getenv("BENCH_REPS")) or 5
local limit_bin = assert(os.getenv("BENCH_LIMIT"), "BENCH_LIMIT")
local id_number = assert(os.getenv("BENCH_ID"), "BENCH_ID")
local base_url = assert(os.getenv("CDP_BASE_URL"), "CDP_BASE_URL")
local ca_file = os.getenv("CDP_CA_FILE") or ""

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local c = cdp.client{ retries = 0 }
local calls = 0
local function lookup()
  calls = calls + 1
  local data, err = c:lookup(4, id_number)
  if not data then error("lookup: " .. tostring(err)) end
  return data
end
lookup()  -- the token and the connection, not timed

-- The body cdp.client sends (cjson's key order, whatever it is here).
local body = require("cjson").encode({ idType = "4", idNumber = id_number })
local limit_cmd = ("%s %s %s %s %d"):format(quote(limit_bin), quote(base_url .. "/caas/api/v2/customer/validate"),
  quote(ca_file), quote(body), n)

for _ = 1, reps do
  local p = assert(io.popen(limit_cmd))
  local out = p:read("*a")
  local ok = p:close()
  local line = out:match("limit %d+ [%d.]+ %d+")
  if not (ok and line) then error("lookup_limit failed: " .. out) end
  print(line)
  local start = socket.gettime()
  for _ = 1, n do lookup() end
  print(("sdk %d %.6f"):format(n, socket.gettime() - start))
  io.stdout:flush()
end
print(("calls %d"):format(calls))
local stats = c:stats()
print(("connects %d grants %d"):format(stats.connects or -1,
  (stats.password_grants or 0) + (stats.refresh_grants or 0)))
c:close()
