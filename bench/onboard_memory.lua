--- Peak memory (VmHWM) of one onboarding with three 20 MiB images against
-- the same call with three 10 KiB images, each in a fresh process, against a
-- throwaway sandbox. The documents' base64 is streamed by the C core, so the
-- difference must stay within 8 MiB (not the ~80 MiB the body weighs).
--
--   eval "$(make -s env)"; lua5.4 bench/onboard_memory.lua   (or LUA=luajit)
-- Images are random bytes behind a JPEG signature, made at run time in a
-- temp dir and removed afterwards.
package.path = "spec/?.lua;" .. package.path
local sandbox = require "helpers.sandbox"

local LIMIT = 8 * 1024 * 1024

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function make_image(path, bytes)
  local cmd = ("{ printf '\\377\\330\\377\\340'; head -c %d /dev/urandom; } > %s"):format(bytes - 4,
    shell_quote(path))
  assert(os.execute(cmd), "cannot write " .. path)
end

-- The child: one onboarding of the example payload with three file documents.
local CHILD = [==[
local cdp = require "cdp"
local cjson = require "cjson"
local dir, id_number = os.getenv("BENCH_DIR"), os.getenv("BENCH_ID")
local function hwm_kib()
  for line in io.lines("/proc/self/status") do
    local kib = line:match("^VmHWM:%s+(%d+)")
    if kib then return tonumber(kib) end
  end
end
local docs = { front = cdp.file(dir .. "/front.jpg"), back = cdp.file(dir .. "/back.jpg"),
               face = cdp.file(dir .. "/face.jpg") }
local t = {
  channel = "WEB", first_name = "BENCH", last_name = "MEMORY", nationality = "IN",
  date_of_birth = "1995-07-28", country_of_birth = "IN", country_of_residence = "AE", gender = "Male",
  primary_mobile_number = "+971502106707", email_id = "bench@example.com", resident_type_id = 101,
  address_list = { { address_type_id = "1", city = "Dubai", country = "AE" } },
  id_details = { { id_type = 4, id_number = id_number, issued_country = "AE", date_of_expiry = "2031-01-01",
                   default_status = true, active_status = true, id_front = docs.front, id_back = docs.back } },
  customer_classification = { profile_photo = docs.face },
}
local customer
if type(cdp.customer) == "function" then
  customer = assert(cdp.customer(t))
else
  -- Until cdp.customer lands: JSON text around the documents.
  local order = {}
  local function doc(d)
    order[#order + 1] = d
    return { base64_data = "@@DOC" .. #order .. "@@", content_type = "image/jpeg" }
  end
  local id = t.id_details[1]
  local plain = {}
  for k, v in pairs(t) do plain[k] = v end
  plain.id_details = { { id_front = doc(id.id_front), id_back = doc(id.id_back) } }
  for k, v in pairs(id) do if k ~= "id_front" and k ~= "id_back" then plain.id_details[1][k] = v end end
  plain.customer_classification = { profile_photo = doc(docs.face) }
  local text = cjson.encode(plain)
  local parts, pos = {}, 1
  for s, i, f in text:gmatch("()@@DOC(%d+)@@()") do
    parts[#parts + 1] = text:sub(pos, s - 1)
    parts[#parts + 1] = order[tonumber(i)]
    pos = f
  end
  parts[#parts + 1] = text:sub(pos)
  customer = setmetatable({ data = t, parts = function() return parts end }, {})
end
local before = hwm_kib()
local c = cdp.client{}
local data, err = c:onboard(customer)
assert(data, tostring(err))
c:close()
io.write(before, " ", hwm_kib(), "\n")
]==]

local function run(sb, dir, id_number)
  local e = sb.env
  local env = {}
  for k, v in pairs(e) do env[#env + 1] = shell_quote(k .. "=" .. v) end
  for _, k in ipairs({ "LUA_PATH", "LUA_CPATH", "PATH" }) do
    if os.getenv(k) then env[#env + 1] = shell_quote(k .. "=" .. os.getenv(k)) end
  end
  local lua = os.getenv("CDP_LUA") or "lua5.4"
  env[#env + 1] = shell_quote("BENCH_DIR=" .. dir)
  env[#env + 1] = shell_quote("BENCH_ID=" .. id_number)
  local cmd = ("env -i %s %s -e %s 2>&1"):format(table.concat(env, " "), lua, shell_quote(CHILD))
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

local tmp = io.popen("mktemp -d /tmp/cdp-bench.XXXXXX"):read("*l")
local sb = sandbox.start{ max_body_mb = 128 }
local ok, err = pcall(function()
  sizes(tmp .. "/small", 10 * 1024)
  sizes(tmp .. "/large", 20 * 1024 * 1024)
  local _, small = run(sb, tmp .. "/small", "784199500000001")
  local _, large = run(sb, tmp .. "/large", "784199500000002")
  local mib = 1024 * 1024
  print(("onboarding peak RSS: 3 x 10 KiB images %.1f MiB, 3 x 20 MiB images %.1f MiB"):format(
    small / mib, large / mib))
  print(("difference %.2f MiB (limit 8 MiB), ratio %.3f; body with 20 MiB images ~%.0f MiB of base64"):format(
    (large - small) / mib, large / small, 3 * 20 * 4 / 3))
  print(large - small <= LIMIT and "PASS: within 8 MiB" or "FAIL: over 8 MiB")
  return large - small <= LIMIT
end)
sb:stop()
os.execute("rm -rf " .. shell_quote(tmp))
if not ok then error(err) end
os.exit(err and 0 or 1)
