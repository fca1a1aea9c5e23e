--- Peak memory (VmHWM) of one onboarding with three 20 MiB images against
-- the same call with three 10 KiB images, each in a fresh process, against a
-- throwaway sandbox. The documents' base64 is streamed by the C core, so the
-- difference must stay within 8 MiB (not the ~80 MiB the body weighs).
-- The same two calls made the naive way (read the files into Lua, base64
-- them with luasocket's mime.b64, cjson.encode the whole payload, post that
-- one string) show what the streaming saves.
--
--   eval "$(make -s env)"; lua5.4 bench/onboard_memory.lua   (or LUA=luajit)
-- Images are random bytes behind a JPEG signature, made at run time in a
-- temp dir and removed afterwards. bench/run.lua (make bench) uses it as a
-- module: require("onboard_memory").measure(sb, tmp, runs).
local M = {}

M.LIMIT = 8 * 1024 * 1024

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function make_image(path, bytes)
  local cmd = ("{ printf '\\377\\330\\377\\340'; head -c %d /dev/urandom; } > %s"):format(bytes - 4,
    shell_quote(path))
  assert(os.execute(cmd), "cannot write " .. path)
end

-- The child: one onboarding with three file documents. BENCH_NAIVE=1: the
-- whole body built in Lua first and posted as one string.
local CHILD = [==[
local cdp = require "cdp"
local cjson = require "cjson"
local dir, id_number = os.getenv("BENCH_DIR"), os.getenv("BENCH_ID")
local naive = os.getenv("BENCH_NAIVE") == "1"
local function hwm_kib()
  for line in io.lines("/proc/self/status") do
    local kib = line:match("^VmHWM:%s+(%d+)")
    if kib then return tonumber(kib) end
  end
end
local function doc(name)
  if not naive then return cdp.file(dir .. "/" .. name .. ".jpg") end
  local f = assert(io.open(dir .. "/" .. name .. ".jpg", "rb"))
  local bytes = f:read("*a")
  f:close()
  return { base64_data = (require("mime").b64(bytes)), content_type = "image/jpeg" }
end
local before = hwm_kib()
local t = {
  channel = "WEB", first_name = "BENCH", last_name = "MEMORY", nationality = "IN",
  date_of_birth = "1995-07-28", country_of_birth = "IN", country_of_residence = "AE", gender = "Male",
  primary_mobile_number = "+971502106707", email_id = "bench@example.com", resident_type_id = 101,
  address_list = { { address_type_id = "1", city = "Dubai", country = "AE" } },
  id_details = { { id_type = 4, id_number = id_number, issued_country = "AE", date_of_expiry = "2031-01-01",
                   default_status = true, active_status = true, id_front = doc("front"), id_back = doc("back") } },
  customer_classification = { profile_photo = doc("face") },
}
local c = cdp.client{}
if naive then
  local body = cjson.encode(t)
  local res, fail = c._core:request("POST", os.getenv("CDP_BASE_URL") .. "/caas-lcm/api/v1/CAAS/onBoarding/customer",
    { body })
  assert(res and res.status == 200, res and res.body or tostring(fail and fail.message))
else
  local data, err = c:onboard(assert(cdp.customer(t)))
  assert(data, tostring(err))
end
c:close()
io.write(before, " ", hwm_kib(), "\n")
]==]

--- Write `env` (name -> value) as a shell file only its owner reads: secrets
-- reach the children through it, never through a command line.
function M.env_file(path, env)
  local old = io.open(path, "w")
  assert(old, "cannot write " .. path)
  old:close()
  os.execute("chmod 600 " .. shell_quote(path))
  local f = assert(io.open(path, "w"))
  for k, v in pairs(env) do f:write("export ", k, "=", shell_quote(v), "\n") end
  f:close()
  return path
end

--- Peak RSS (bytes) of one child onboarding: `lua` the interpreter, `cpath`
-- its LUA_CPATH, `envfile` the sandbox's settings.
local function run(envfile, lua, cpath, dir, id_number, naive)
  local cmd = ("sh -c %s 2>&1"):format(shell_quote(
    (". %s && BENCH_DIR=%s BENCH_ID=%s BENCH_NAIVE=%s LUA_CPATH=%s exec %s -e %s"):format(
      shell_quote(envfile), shell_quote(dir), id_number, naive and "1" or "0", shell_quote(cpath),
      lua, shell_quote(CHILD))))
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  local before, peak = out:match("^(%d+) (%d+)")
  assert(peak, "child failed: " .. out)
  return tonumber(before) * 1024, tonumber(peak) * 1024
end

local function sizes(dir, bytes)
  os.execute("mkdir -p " .. shell_quote(dir))
  for _, name in ipairs({ "front", "back", "face" }) do make_image(dir .. "/" .. name .. ".jpg", bytes) end
end

--- Make the images in `tmp` (small/, large/) once.
function M.images(tmp)
  sizes(tmp .. "/small", 10 * 1024)
  sizes(tmp .. "/large", 20 * 1024 * 1024)
end

--- Peaks of the four children for one ABI: { small, large, naive_small,
-- naive_large } in bytes. `abi` = { lua = "luajit", cpath = "..." };
-- `ids` gives fresh ID numbers (a function returning the next one).
function M.measure(envfile, tmp, abi, ids)
  local r = {}
  r.small = select(2, run(envfile, abi.lua, abi.cpath, tmp .. "/small", ids(), false))
  r.large = select(2, run(envfile, abi.lua, abi.cpath, tmp .. "/large", ids(), false))
  r.naive_small = select(2, run(envfile, abi.lua, abi.cpath, tmp .. "/small", ids(), true))
  r.naive_large = select(2, run(envfile, abi.lua, abi.cpath, tmp .. "/large", ids(), true))
  return r
end

if ... == "onboard_memory" or ... == "bench.onboard_memory" then return M end

-- As a script: its own sandbox, the ABI it runs under.
package.path = "spec/?.lua;" .. package.path
local sandbox = require "helpers.sandbox"
local tmp = io.popen("mktemp -d /tmp/cdp-bench.XXXXXX"):read("*l")
local sb = sandbox.start{ max_body_mb = 128 }
local abi = { lua = os.getenv("CDP_LUA") or "lua5.4", cpath = os.getenv("LUA_CPATH") or "" }
local ok, err = pcall(function()
  M.images(tmp)
  local envfile = M.env_file(tmp .. "/env.sh", sb.env)
  local next_id = 784199500000000
  local r = M.measure(envfile, tmp, abi, function() next_id = next_id + 1 return tostring(next_id) end)
  local mib = 1024 * 1024
  print(("onboarding peak RSS: 3 x 10 KiB images %.1f MiB, 3 x 20 MiB images %.1f MiB"):format(
    r.small / mib, r.large / mib))
  print(("difference %.2f MiB (limit 8 MiB), ratio %.3f; body with 20 MiB images ~%.0f MiB of base64"):format(
    (r.large - r.small) / mib, r.large / r.small, 3 * 20 * 4 / 3))
  print(("naive (read, mime.b64, cjson.encode, post): %.1f MiB and %.1f MiB, difference %.1f MiB"):format(
    r.naive_small / mib, r.naive_large / mib, (r.naive_large - r.naive_small) / mib))
  print(r.large - r.small <= M.LIMIT and "PASS: within 8 MiB" or "FAIL: over 8 MiB")
  return r.large - r.small <= M.LIMIT
end)
sb:stop()
os.execute("rm -rf " .. shell_quote(tmp))
if not ok then error(err) end
os.exit(err and 0 or 1)
