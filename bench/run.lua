--- `make bench`: every benchmark, one table. Each row is a ratio against a
-- baseline measured in the same run (these machines are noisy: rounds
-- alternate between the two sides and the median or best counts).
--
--   make bench                                  (builds what it needs first)
--   BENCH_ROWS=1,2 make bench                   only some rows
--   BENCH_RECORDS=400 BENCH_ABIS=5.4 make bench
--
-- Run by lua5.4 from the checkout's top with LUA_PATH set by `make -s env`;
-- the children run under each ABI (lua5.4, luajit) with their LUA_CPATH.
-- One throwaway sandbox (HTTPS, 2 workers) serves rows 2 to 5; it is
-- stopped at the end (and stops by itself if this process dies).
package.path = "bench/?.lua;spec/?.lua;" .. package.path
local sandbox = require "helpers.sandbox"
local onboard_memory = require "onboard_memory"
local batch = require "batch"

local TOP = os.getenv("PWD") or "."
local BUILD = os.getenv("BENCH_BUILD") or "build/bench"
local RECORDS = tonumber(os.getenv("BENCH_RECORDS")) or 1000
local LOOKUPS = tonumber(os.getenv("BENCH_LOOKUPS")) or 500    -- per round
local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS")) or 20       -- 20 x 500 = 10,000 SDK calls
local BATCH_REPS = tonumber(os.getenv("BENCH_BATCH_REPS")) or 7

local ABIS = batch.abis(TOP)
local ROWS = {}
for r in (os.getenv("BENCH_ROWS") or "1,2,3,4,5"):gmatch("%d+") do ROWS[tonumber(r)] = true end

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function capture(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  local ok, _, code = p:close()
  return out, ok == true, code
end

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local n = #s
  if n == 0 then return 0 / 0 end
  if n % 2 == 1 then return s[(n + 1) / 2] end
  return (s[n / 2] + s[n / 2 + 1]) / 2
end

local function min(t)
  local m = math.huge
  for _, v in ipairs(t) do if v < m then m = v end end
  return m
end

local function progress(fmt, ...)
  io.stderr:write("bench: ", fmt:format(...), "\n")
end

-- The table: rows of { name, measured, baseline, ratio, aim, verdict },
-- by their number (the name's first digits), in the order they came.
local by_number = {}
local function row(name, measured, baseline, ratio, aim, verdict)
  local n = tonumber(name:match("^%d+"))
  by_number[n] = by_number[n] or {}
  table.insert(by_number[n], { name, measured, baseline, ratio, aim, verdict or "" })
end

local function x(v)
  if v ~= v then return "-" end
  return ("%.2fx"):format(v)
end

-- 1 -------------------------------------------------------------------------
local function bench_b64()
  progress("1: base64 (%s/b64_bench)", BUILD)
  local out, ok = capture(quote(BUILD .. "/b64_bench"))
  if not ok then error("b64_bench failed: " .. out) end
  local names = { [1024] = "1 KiB", [65536] = "64 KiB", [16777216] = "16 MiB" }
  for size, core, ssl, tab in out:gmatch("b64 (%d+) ([%d.]+) ([%d.]+) ([%d.]+)") do
    core, ssl, tab = tonumber(core), tonumber(ssl), tonumber(tab)
    row(("1 base64 %s: core vs OpenSSL"):format(names[tonumber(size)]),
      ("%.0f MB/s"):format(core), ("%.0f MB/s (table %.0f)"):format(ssl, tab), x(core / ssl), ">= 1.00x",
      core >= ssl and "met" or "missed")
  end
  local score, sssl = out:match("b64s %d+ ([%d.]+) ([%d.]+)")
  if score then
    row("1 base64 16 MiB streamed (64 KiB updates)", ("%.0f MB/s"):format(tonumber(score)),
      ("%.0f MB/s"):format(tonumber(sssl)), x(tonumber(score) / tonumber(sssl)), ">= 1.00x",
      tonumber(score) >= tonumber(sssl) and "met" or "missed")
  end
end

-- A sandbox and its settings file (0600: secrets reach children through it).
local sb, tmp, envfile, stop_fixed, batch_source
local ids = 784199600000000
local function next_id()
  ids = ids + 1
  return tostring(ids)
end

local function lua_env(abi)
  return ("LUA_CPATH=%s"):format(quote(abi.cpath))
end

-- 2 and 5 -------------------------------------------------------------------
-- Rounds of SDK lookups and raw libcurl ones (bench/lookup.lua) against
-- `base_url` (nil: the sandbox). The per-round ratios, the times and the output.
local function lookup_rounds(abi, id_number, base_url)
  local cmd = (". %s && %s BENCH_TOKEN=\"$BENCH_LIMIT_TOKEN\" BENCH_LIMIT=%s BENCH_ID=%s BENCH_N=%d"
    .. " BENCH_REPS=%d %s exec %s bench/lookup.lua"):format(quote(envfile),
    base_url and "CDP_BASE_URL=" .. quote(base_url) or "", quote(BUILD .. "/lookup_limit"), id_number,
    LOOKUPS, ROUNDS, lua_env(abi), abi.lua)
  local out, ok = capture("sh -c " .. quote(cmd))
  if not ok then error("bench/lookup.lua (" .. abi.label .. ") failed: " .. out) end
  local sdk, limit, ratios = {}, {}, {}
  for kind, secs in out:gmatch("(%a+) %d+ ([%d.]+)") do
    if kind == "sdk" then
      sdk[#sdk + 1] = tonumber(secs)
      ratios[#ratios + 1] = sdk[#sdk] / limit[#limit]
    elseif kind == "limit" then
      limit[#limit + 1] = tonumber(secs)
    end
  end
  return ratios, sdk, limit, out
end

local function lookup_row(name, ratios, sdk, limit)
  local r = median(ratios)
  row(("%s (median of %d rounds)"):format(name, #ratios),
    ("%.0f us (best %.0f)"):format(median(sdk) / LOOKUPS * 1e6, min(sdk) / LOOKUPS * 1e6),
    ("%.0f us (best %.0f) libcurl"):format(median(limit) / LOOKUPS * 1e6, min(limit) / LOOKUPS * 1e6),
    x(r), "<= 1.30x", r <= 1.3 and "met" or "missed")
end

local function bench_lookup(abi, id_number)
  progress("2/5: %d x %d lookups, SDK (%s) and raw libcurl in turns", ROUNDS, LOOKUPS, abi.label)
  sb:reset()
  local ratios, sdk, limit, out = lookup_rounds(abi, id_number)
  local calls = tonumber(out:match("calls (%d+)"))
  local counters = sb:counters()
  local granted = counters.tokens and counters.tokens.granted or {}
  local grants = (granted.password or 0) + (granted.refresh_token or 0)
  local served = counters.calls and counters.calls["/caas/api/v2/customer/validate"] or 0
  lookup_row(("2 lookup per call, %s, sandbox"):format(abi.label), ratios, sdk, limit)
  local per10k = grants / calls * 10000
  row(("5 token grants per 10,000 lookups, %s"):format(abi.label),
    ("%d grant%s / %d calls"):format(grants, grants == 1 and "" or "s", calls), ("%d lookups served"):format(served),
    ("%.2f"):format(per10k), "1", per10k <= 1.0001 and "met" or "missed")
end

-- A plain nginx (no Lua) on 127.0.0.1 with the sandbox's certificate that
-- answers the token and lookup calls with fixed bodies: the server's own
-- cost nearly gone, what is left is the client's. Returns its base URL and a
-- function that stops it (by its PID).
local function start_fixed(lookup_answer)
  local dir = tmp .. "/fixed"
  os.execute("mkdir -p " .. quote(dir .. "/logs"))
  local token_answer = '{"access_token":"fixed-token","expires_in":300,"refresh_expires_in":1800,'
    .. '"refresh_token":"fixed-refresh","token_type":"Bearer"}'
  local user = capture("id -u"):match("^0%s") and "user root;" or ""
  for _ = 1, 8 do
    local port = math.random(20000, 32000)
    local conf = table.concat({
      user, "worker_processes 1;", "daemon on;", ('pid "%s/nginx.pid";'):format(dir),
      ('error_log "%s/logs/error.log" warn;'):format(dir), "events { worker_connections 64; }",
      "http {", "  access_log off;", "  keepalive_requests 1000000;", "  keepalive_timeout 75s;",
      ('  client_body_temp_path "%s/body";'):format(dir),
      ("  server {"), ("    listen 127.0.0.1:%d ssl;"):format(port),
      ('    ssl_certificate "%s/server.pem";'):format(sb.dir),
      ('    ssl_certificate_key "%s/server.key";'):format(sb.dir),
      "    ssl_protocols TLSv1.2 TLSv1.3;", "    default_type application/json;",
      ("    location = /auth/realms/cdp/protocol/openid-connect/token { return 200 '%s'; }"):format(token_answer),
      ("    location = /caas/api/v2/customer/validate { return 200 '%s'; }"):format(lookup_answer),
      "    location / { return 404 '{}'; }", "  }", "}", "" }, "\n")
    local f = assert(io.open(dir .. "/nginx.conf", "w"))
    f:write(conf)
    f:close()
    local _, ok = capture(("nginx -p %s -c %s -e %s"):format(quote(dir .. "/"), quote(dir .. "/nginx.conf"),
      quote(dir .. "/logs/error.log")))
    if ok then
      local pid = io.open(dir .. "/nginx.pid"):read("*l")
      return "https://127.0.0.1:" .. port, function()
        os.execute("kill -QUIT " .. tonumber(pid))
        for _ = 1, 50 do
          if not os.execute("kill -0 " .. tonumber(pid) .. " 2>/dev/null") then break end
          os.execute("sleep 0.1")
        end
      end
    end
  end
  error("the fixed-answer nginx did not start: see " .. dir .. "/logs/error.log")
end

local function bench_lookup_fixed(abi, id_number, base_url)
  progress("2: %d x %d lookups, SDK (%s) and raw libcurl in turns, fixed-answer nginx", ROUNDS, LOOKUPS, abi.label)
  local ratios, sdk, limit = lookup_rounds(abi, id_number, base_url)
  lookup_row(("2 lookup per call, %s, fixed-answer nginx"):format(abi.label), ratios, sdk, limit)
end

-- 3 -------------------------------------------------------------------------
local function bench_memory(abi)
  progress("3: onboarding peak RSS, 3 x 10 KiB and 3 x 20 MiB images, streamed and naive (%s)", abi.label)
  local r = onboard_memory.measure(envfile, tmp .. "/memory", abi, next_id)
  local mib = 1024 * 1024
  local diff, naive = (r.large - r.small) / mib, (r.naive_large - r.naive_small) / mib
  row(("3 onboarding peak RSS, 20 MiB - 10 KiB images, %s"):format(abi.label),
    ("%+.1f MiB (%.1f -> %.1f)"):format(diff, r.small / mib, r.large / mib),
    ("naive %+.0f MiB (%.0f -> %.0f)"):format(naive, r.naive_small / mib, r.naive_large / mib),
    x(r.large / r.naive_large), "<= 8 MiB", diff <= 8 and "met" or "missed")
end

-- 4 -------------------------------------------------------------------------
local function customers_created()
  local c = sb:counters()
  return c.customers and c.customers.created or 0
end

local function bench_batch(token)
  local dir = tmp .. "/batch"
  progress("4: generating %d records", RECORDS)
  local source = batch.generate(dir, RECORDS, { own = os.getenv("BENCH_OWN_RECORDS") == "1" })
  progress("4: %d records by %s; pre-rendering the bodies", RECORDS, source)
  batch_source = source
  local count = batch.prerender(dir)
  assert(count == RECORDS, "pre-rendered " .. count .. " of " .. RECORDS)
  local parallel_ok = {}
  for _, abi in ipairs(ABIS) do parallel_ok[abi.name] = batch.has_parallel(abi) end
  local times = { curl8 = {}, curl1 = {} }
  for _, abi in ipairs(ABIS) do times[abi.name .. ":1"], times[abi.name .. ":8"] = {}, {} end
  local cpu = { curl8 = {}, curl1 = {} }  -- the client's CPU seconds a run, same keys
  for _, abi in ipairs(ABIS) do cpu[abi.name .. ":1"], cpu[abi.name .. ":8"] = {}, {} end
  local function check(what, created)
    if created ~= RECORDS then
      error(("%s created %d customers of %d"):format(what, created, RECORDS))
    end
  end
  local function run_curl(p)
    sb:reset{ customers = true }
    batch.warm({ dir .. "/bodies" })
    local t, ok, out, used = batch.curl(dir, sb, token, count, p)
    if ok ~= count then error(("curl: %d of %d answered 200: %s"):format(ok, count, out:sub(1, 400))) end
    check("curl", customers_created())
    table.insert(times["curl" .. p], t)
    table.insert(cpu["curl" .. p], used)
    return t
  end
  local function run_submit(abi, p, rep)
    sb:reset{ customers = true }
    batch.warm({ dir .. "/images", dir .. "/input.csv", dir .. "/mapping.lua" })
    local journal = ("%s/journal-%s-%d-%d.jsonl"):format(dir, abi.name, p, rep)
    local t, status, sout, used = batch.submit(dir, envfile, abi, p, journal)
    if status ~= 0 then
      error(("submit --parallel %d (%s) exit %s: %s"):format(p, abi.label, tostring(status), sout:sub(-600)))
    end
    check("submit", customers_created())
    table.insert(times[abi.name .. ":" .. p], t)
    table.insert(cpu[abi.name .. ":" .. p], used)
    return t
  end
  -- The machine's speed drifts (2x within minutes here), so each submit run
  -- is paired with a curl run of its own, back to back at the same number
  -- in flight, curl first in odd rounds and second in even ones (a steady
  -- drift then favours neither side); the row is the median of the paired
  -- ratios (as row 2), the best runs beside.
  local ratios = {}
  for _, abi in ipairs(ABIS) do ratios[abi.name .. ":1"], ratios[abi.name .. ":8"] = {}, {} end
  for rep = 1, BATCH_REPS do
    for _, p in ipairs({ 8, 1 }) do
      for _, abi in ipairs(ABIS) do
        if p == 1 or parallel_ok[abi.name] then
          local t_curl, t
          if rep % 2 == 1 then
            t_curl = run_curl(p)
            t = run_submit(abi, p, rep)
          else
            t = run_submit(abi, p, rep)
            t_curl = run_curl(p)
          end
          table.insert(ratios[abi.name .. ":" .. p], t_curl / t)
        end
      end
    end
    progress("4: round %d of %d", rep, BATCH_REPS)
  end
  -- Each against curl at the same number in flight: --parallel 1 against
  -- curl --parallel-max 1, --parallel 8 against curl --parallel-max 8.
  for _, abi in ipairs(ABIS) do
    for _, p in ipairs({ 1, 8 }) do
      local name = ("4 submit --parallel %d, %s (median of %d pairs)"):format(p, abi.label, BATCH_REPS)
      local t, curl_t = times[abi.name .. ":" .. p], times["curl" .. p]
      local baseline = ("curl -Z --parallel-max %d: %.0f rec/s (best %.0f)"):format(p,
        RECORDS / median(curl_t), RECORDS / min(curl_t))
      if #t == 0 then
        row(name, "pending", baseline, "pending", ">= 0.80x", "pending: no --parallel")
      else
        local ratio = median(ratios[abi.name .. ":" .. p])
        local low, high = math.huge, 0
        for _, r in ipairs(ratios[abi.name .. ":" .. p]) do low, high = math.min(low, r), math.max(high, r) end
        row(name, ("%.0f rec/s (best %.0f)"):format(RECORDS / median(t), RECORDS / min(t)), baseline,
          x(ratio), ">= 0.80x", (ratio >= 0.8 and "met" or "missed") .. (" (pairs %.2f-%.2f)"):format(low, high))
      end
    end
  end
  -- What each client itself costs a record (user + system, its process
  -- alone): steadier than the rates above, where the sandbox shares the two
  -- cores; no aim of its own.
  for _, abi in ipairs(ABIS) do
    local used = cpu[abi.name .. ":8"]
    if #used > 0 then
      local mine, curls = median(used), median(cpu.curl8)
      row(("4 client CPU a record, --parallel 8, %s (median of %d runs)"):format(abi.label, #used),
        ("%.0f us"):format(1e6 * mine / RECORDS), ("curl: %.0f us"):format(1e6 * curls / RECORDS),
        x(curls / mine), "-", "for reading the row above")
    end
  end
end

-- ---------------------------------------------------------------------------
local function print_table()
  local rows = {}
  for n = 1, 9 do
    for _, r in ipairs(by_number[n] or {}) do rows[#rows + 1] = r end
  end
  local head = { "row", "measured", "baseline", "ratio", "aim", "" }
  local widths = {}
  for i, h in ipairs(head) do widths[i] = #h end
  for _, r in ipairs(rows) do
    for i, v in ipairs(r) do widths[i] = math.max(widths[i], #v) end
  end
  local function line(r)
    local cells = {}
    for i, v in ipairs(r) do
      cells[i] = (i == 4) and (" "):rep(widths[i] - #v) .. v or v .. (" "):rep(widths[i] - #v)
    end
    return (table.concat(cells, "  "):gsub("%s+$", ""))
  end
  print(line(head))
  local rule = {}
  for i = 1, #head do rule[i] = ("-"):rep(widths[i]) end
  print(line(rule))
  for _, r in ipairs(rows) do print(line(r)) end
end

local ok, err = pcall(function()
  if ROWS[1] then bench_b64() end
  if not (ROWS[2] or ROWS[3] or ROWS[4] or ROWS[5]) then return end
  tmp = io.popen("mktemp -d /tmp/cdp-bench.XXXXXX"):read("*l")
  progress("starting a sandbox (HTTPS, 2 workers)")
  -- reuseport: the kernel spreads a batch's 8 connections over the two
  -- workers. Without it, it often put all 8 on one worker, for curl or for
  -- submit alike: a pair of row 4 then measured where the connections had
  -- landed (pairs from 0.5x to 1.3x), not the client (bench/README.md).
  sb = sandbox.start{ workers = 2, max_body_mb = 128, lifetime = 1200, reuseport = true }
  envfile = onboard_memory.env_file(tmp .. "/env.sh", sb.env)
  local token = sb:token().access_token
  do  -- the limit's token goes through the same file
    local f = assert(io.open(envfile, "a"))
    f:write("export BENCH_LIMIT_TOKEN=", quote(token), "\n")
    f:close()
  end
  if ROWS[2] or ROWS[5] then
    local id_number = next_id()
    local res = sb:request{ method = "POST", path = "/caas-lcm/api/v1/CAAS/onBoarding/customer", token = token,
                            json = sandbox.example_payload(id_number) }
    assert(res.status == 200, "onboarding the looked-up customer: " .. res.status)
    for _, abi in ipairs(ABIS) do bench_lookup(abi, id_number) end
    if ROWS[2] then
      -- The sandbox's own answer to this lookup, served as it is by a plain nginx.
      local answer = sb:request{ method = "POST", path = "/caas/api/v2/customer/validate", token = token,
        json = { idType = "4", idNumber = id_number } }.body:gsub("\\/", "/")
      assert(not answer:find("['\\]"), "the lookup answer needs quoting: " .. answer)
      local base_url
      base_url, stop_fixed = start_fixed(answer)
      for _, abi in ipairs(ABIS) do bench_lookup_fixed(abi, id_number, base_url) end
      stop_fixed()
      stop_fixed = nil
    end
  end
  if ROWS[3] then
    onboard_memory.images(tmp .. "/memory")
    for _, abi in ipairs(ABIS) do bench_memory(abi) end
  end
  if ROWS[4] then bench_batch(token) end
end)
if stop_fixed then stop_fixed() end
if sb then sb:stop() end
if tmp then os.execute("rm -rf " .. quote(tmp)) end
print_table()
if not ok then
  io.stderr:write("bench: ", tostring(err), "\n")
  os.exit(1)
end
print(("rows: 1 MB/s vs OpenSSL's EVP_EncodeBlock; 2 time per lookup vs raw libcurl on one kept-alive "
  .. "connection, both against the sandbox (HTTPS) and against a plain nginx answering fixed bodies (HTTPS); "
  .. "3 peak RSS difference, ratio = streamed / naive peak; 4 records/s vs "
  .. "curl --parallel --parallel-max N (N as in --parallel N) posting the pre-rendered bodies "
  .. "(%d records by %s); 5 password + refresh grants at the sandbox. %s"):format(
  RECORDS, batch_source or "-", os.date("!%Y-%m-%d %H:%M UTC")))
