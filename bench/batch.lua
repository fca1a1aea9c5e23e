--- Batch throughput: `cdp-onboard submit MAPPING INPUT --parallel N` against
-- curl posting the same bodies, pre-rendered, with `--parallel
-- --parallel-max 8` (the limit). bench/run.lua drives it:
--
--   local batch = require "batch"
--   batch.generate(dir, n, opts)   -- dir/mapping.lua (examples/ekyc-mapping.lua), dir/input.csv,
--                                  -- dir/images/: examples/generate.lua's, else our own
--   batch.prerender(dir)           -- dir/bodies/NNNNN.json: the exact onboarding bodies
--   batch.warm({ path, … })         -- read files once, untimed (page cache)
--   batch.curl_config(dir, sb, token, count) -> path of curl's config posting the bodies
--   batch.curl(dir, sb, token, parallel)   -> seconds, answers with HTTP 200, output, CPU seconds
--   batch.submit(dir, envfile, abi, parallel, journal) -> seconds, exit status, output, CPU seconds
--
-- CPU seconds: user + system time of the client's process (and of the sh
-- that starts it), from this process's children's times in /proc/self/stat
-- (clock ticks, 1/100 s here): what the client itself cost, without the
-- sandbox's, on a machine where both share two cores.
--
-- Every run needs the sandbox's customers reset first (sb:reset{customers = true}),
-- so that each record is created, not answered as a duplicate.
local socket = require "socket"

local M = {}

local TICKS = 100  -- sysconf(_SC_CLK_TCK) on Linux x86-64

-- User + system seconds of the waited-for children so far (fields 16 and 17
-- of /proc/self/stat, counted after the ")" that ends the command's name).
local function children_cpu()
  local f = assert(io.open("/proc/self/stat", "rb"))
  local stat = f:read("*a")
  f:close()
  local fields = {}
  for field in stat:match("%) (.*)$"):gmatch("%S+") do fields[#fields + 1] = field end
  -- after ")": field 3 (state) is fields[1], so field k is fields[k - 2]
  return (tonumber(fields[14]) + tonumber(fields[15])) / TICKS
end

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function sh(cmd)
  local ok = os.execute(cmd)
  assert(ok == true or ok == 0, "failed: " .. cmd)
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local FIRST = { "Amal", "Bilal", "Chen", "Dana", "Esra", "Farid", "Gita", "Hamza", "Ines", "Jamal" }
local LAST = { "Rahman", "Masih", "Nair", "Haddad", "Kapoor", "Saleh", "Tan", "Okafor", "Yilmaz", "Silva" }
local NATIONS = { "India", "Pakistan", "Philippines", "Egypt", "Jordan", "Bangladesh", "Nepal", "Sri Lanka" }

-- N records in the columns of examples/ekyc-export.csv, each with a fresh
-- Emirates ID (7849 + 11 digits: never one of the sandbox's 7840000000xxxxx
-- triggers), pointing at `opts.sets` image sets (default 8) of
-- `opts.image_kib` KiB per image (default 64), random bytes behind a JPEG signature.
local function own_generate(dir, n, opts)
  local sets, kib = opts.sets or 8, opts.image_kib or 64
  sh("mkdir -p " .. quote(dir .. "/images"))
  sh(("cp examples/ekyc-mapping.lua %s"):format(quote(dir .. "/mapping.lua")))
  for s = 1, sets do
    for _, name in ipairs({ "front", "back", "face" }) do
      sh(("{ printf '\\377\\330\\377\\340'; head -c %d /dev/urandom; } > %s"):format(kib * 1024 - 4,
        quote(("%s/images/%s-%d.jpg"):format(dir, name, s))))
    end
  end
  local rows = { "Customer ID,Full Name,Date of Birth,Gender,Nationality,Country of Birth,Mobile,Email,"
    .. "Emirates ID,ID Issue Date,ID Expiry Date,Front Image,Back Image,Selfie,Building,Street,City,Emirate,PEP" }
  for i = 1, n do
    local first, last = FIRST[i % #FIRST + 1], LAST[math.floor(i / #FIRST) % #LAST + 1]
    local nation = NATIONS[i % #NATIONS + 1]
    local s = (i - 1) % sets + 1
    rows[#rows + 1] = table.concat({
      ("B-%05d"):format(i), first .. " Bench " .. last,
      ("%02d/%02d/%d"):format(i % 28 + 1, i % 12 + 1, 1960 + i % 40),
      i % 2 == 0 and "Female" or "Male", nation, nation,
      ("050 %03d %04d"):format(i % 1000, i % 10000),
      ("bench.%d@example.com"):format(i),
      ("7849%011d"):format(i),
      "02/05/2022", "01/05/2031",
      ("front-%d.jpg"):format(s), ("back-%d.jpg"):format(s), ("face-%d.jpg"):format(s),
      "Bench Tower", "Sheikh Zayed Road", "Dubai", "Dubai", "false",
    }, ",")
  end
  write(dir .. "/input.csv", table.concat(rows, "\n") .. "\n")
end

--- dir/mapping.lua and dir/input.csv with `n` records. examples/generate.lua
-- makes them where it exists (small distinct JPEGs per record, seed 7);
-- otherwise the generator above. Returns which one was used.
function M.generate(dir, n, opts)
  opts = opts or {}
  if not opts.own and io.open("examples/generate.lua", "r") then
    sh(("lua5.4 examples/generate.lua --count %d --out %s --seed 7 >/dev/null"):format(n, quote(dir)))
    sh(("cp %s %s && mv %s %s"):format(quote(dir .. "/ekyc-mapping.lua"), quote(dir .. "/mapping.lua"),
      quote(dir .. "/records.csv"), quote(dir .. "/input.csv")))
    return "examples/generate.lua"
  end
  own_generate(dir, n, opts)
  return ("bench/batch.lua, 3 x %d KiB images"):format(opts.image_kib or 64)
end

-- Base64 of a file by openssl (not the SDK's encoder), once per path.
local b64_cache = {}
local function file_base64(path)
  if not b64_cache[path] then
    local p = assert(io.popen("openssl base64 -A -in " .. quote(path)))
    b64_cache[path] = p:read("*a")
    p:close()
    assert(b64_cache[path] ~= "", "cannot read " .. path)
  end
  return b64_cache[path]
end

--- The bodies the SDK sends, one file per record: the mapping's customer,
-- customer:parts() with each document's base64 spliced in. Returns their count.
function M.prerender(dir)
  local mapping = require "cdp.mapping"
  local records = require "cdp.records"
  local m = assert(mapping.load(dir .. "/mapping.lua"))
  sh("mkdir -p " .. quote(dir .. "/bodies"))
  local count = 0
  for number, rec, problem in records.each(dir .. "/input.csv") do
    assert(rec, problem and problem.message)
    local customer, err = m:build(rec.fields)
    assert(customer, "record " .. number .. ": " .. tostring(err))
    local out = {}
    for _, part in ipairs(customer:parts()) do
      if type(part) == "string" then
        out[#out + 1] = part
      elseif part.kind == "file" then
        out[#out + 1] = file_base64(part.path)
      else
        out[#out + 1] = (require("mime").b64(part.data))
      end
    end
    count = count + 1
    write(("%s/bodies/%05d.json"):format(dir, count), table.concat(out))
  end
  return count
end

--- curl's config (mode 0600: it holds the token): one transfer per body.
function M.curl_config(dir, sb, token, count)
  local path = dir .. "/curl.conf"
  write(path, "")
  sh("chmod 600 " .. quote(path))
  local url = sb.base_url .. "/caas-lcm/api/v1/CAAS/onBoarding/customer"
  local lines = {}
  for i = 1, count do
    if i > 1 then lines[#lines + 1] = "next" end
    lines[#lines + 1] = ('url = "%s"'):format(url)
    lines[#lines + 1] = ('data-binary = "@%s/bodies/%05d.json"'):format(dir, i)
    lines[#lines + 1] = ('header = "Authorization: Bearer %s"'):format(token)
    lines[#lines + 1] = 'header = "Accept: application/json"'
    lines[#lines + 1] = 'header = "Content-Type: application/json"'
    lines[#lines + 1] = 'header = "Expect:"'
    lines[#lines + 1] = 'user-agent = "cdp-lua/0.1"'
    if sb.ca_file then lines[#lines + 1] = ('cacert = "%s"'):format(sb.ca_file) end
    lines[#lines + 1] = 'output = "/dev/null"'
    lines[#lines + 1] = 'write-out = "%{http_code}\\n"'
  end
  write(path, table.concat(lines, "\n") .. "\n")
  return path
end

--- Read the files under `paths` (files or folders) once, untimed, so that the
-- run after finds them in the page cache: this machine's memory reclaim
-- (DAMON) drops cached file pages within seconds, and a side that found its
-- inputs cold would be timed on the disk, not on its own work.
function M.warm(paths)
  local quoted = {}
  for i, path in ipairs(paths) do quoted[i] = quote(path) end
  sh(("find %s -type f -exec cat {} + >/dev/null"):format(table.concat(quoted, " ")))
end

--- The ABIs named in BENCH_ABIS (default "5.4,luajit"): name, interpreter,
-- label and the LUA_CPATH of the checkout `top`'s build of each.
function M.abis(top)
  local list = {}
  for name in (os.getenv("BENCH_ABIS") or "5.4,luajit"):gmatch("[^,]+") do
    list[#list + 1] = { name = name, lua = name == "luajit" and "luajit" or "lua5.4",
                        label = name == "luajit" and "LuaJIT" or "Lua 5.4",
                        cpath = top .. "/build/" .. name .. "/?.so;;" }
  end
  return list
end

--- Post every body with curl, `parallel` at once. Seconds and the number of 200s.
function M.curl(dir, sb, token, count, parallel)
  local conf = M.curl_config(dir, sb, token, count)
  local cpu = children_cpu()
  local start = socket.gettime()
  local p = assert(io.popen(("curl -sS --parallel --parallel-max %d -K %s 2>&1"):format(parallel, quote(conf))))
  local out = p:read("*a")
  p:close()
  local t = socket.gettime() - start
  cpu = children_cpu() - cpu
  local ok = 0
  for code in out:gmatch("(%d%d%d)\n") do
    if code == "200" then ok = ok + 1 end
  end
  return t, ok, out, cpu
end

--- `cdp-onboard submit` under `abi` ({lua, cpath}) with a fresh journal.
-- Seconds, its exit status and its output.
function M.submit(dir, envfile, abi, parallel, journal)
  os.remove(journal)
  local cmd = (". %s && LUA_CPATH=%s exec %s bin/cdp-onboard submit %s %s --journal %s --parallel %d"):format(
    quote(envfile), quote(abi.cpath), abi.lua, quote(dir .. "/mapping.lua"), quote(dir .. "/input.csv"),
    quote(journal), parallel)
  local cpu = children_cpu()
  local start = socket.gettime()
  local p = assert(io.popen("sh -c " .. quote(cmd) .. " 2>&1 </dev/null"))
  local out = p:read("*a")
  local _, _, status = p:close()
  local t = socket.gettime() - start
  return t, status, out, children_cpu() - cpu
end

--- Whether this checkout's submit has --parallel.
function M.has_parallel(abi)
  local p = io.popen(("LUA_CPATH=%s %s bin/cdp-onboard submit --help 2>&1"):format(quote(abi.cpath), abi.lua))
  local out = p and p:read("*a") or ""
  if p then p:close() end
  return out:find("--parallel", 1, true) ~= nil
end

return M
