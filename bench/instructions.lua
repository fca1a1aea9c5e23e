--- `make bench-instructions`: what row 4's client costs, counted, not timed.
-- Instructions (valgrind's callgrind) of one `cdp-onboard submit MAPPING
-- INPUT --parallel 8` of N generated records, per ABI, against curl posting
-- the same bodies pre-rendered (row 4's baseline), and the parts of the
-- client's Lua pipeline (reading the input, mapping, building the customer
-- with validation, writing the body), each measured alone in-process.
-- Counts move by well under 1% between runs of the same code, where times
-- on this machine move by 2x: this is the figure to follow when changing
-- what a record costs; row 4 says whether it was enough.
--
--   make bench-instructions                        (1,000 records, both ABIs)
--   BENCH_RECORDS=200 BENCH_ABIS=5.4 make bench-instructions
--
-- One throwaway sandbox (as make bench's) serves the runs; customers are
-- reset before each.
package.path = "bench/?.lua;spec/?.lua;" .. package.path
local sandbox = require "helpers.sandbox"
local onboard_memory = require "onboard_memory"
local batch = require "batch"

local TOP = os.getenv("PWD") or "."
local RECORDS = tonumber(os.getenv("BENCH_RECORDS")) or 1000
local ABIS = batch.abis(TOP)

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function progress(fmt, ...)
  io.stderr:write("[bench-instructions] ", fmt:format(...), "\n")
end

local CALLGRIND = "valgrind --tool=callgrind --callgrind-out-file=/dev/null"

-- Instructions of `cmd` (a shell command line holding CALLGRIND before the
-- program counted); raises when it fails.
local function instructions(cmd)
  local p = assert(io.popen(cmd .. " 2>&1 >/dev/null"))
  local out = p:read("*a")
  local ok = p:close()
  local refs = out:match("I%s+refs:%s+([%d,]+)")
  if not (ok and refs) then error("failed under callgrind: " .. cmd .. "\n" .. out:sub(-800)) end
  return tonumber((refs:gsub(",", "")))
end

local sb, tmp
local ok, err = pcall(function()
  tmp = io.popen("mktemp -d /tmp/cdp-bench-instr.XXXXXX"):read("*l")
  progress("starting a sandbox")
  sb = sandbox.start{ workers = 2, max_body_mb = 128, lifetime = 1800 }
  local envfile = onboard_memory.env_file(tmp .. "/env.sh", sb.env)
  local token = sb:token().access_token
  local dir = tmp .. "/batch"
  progress("generating %d records and pre-rendering their bodies", RECORDS)
  batch.generate(dir, RECORDS)
  local count = batch.prerender(dir)
  assert(count == RECORDS, "pre-rendered " .. count .. " of " .. RECORDS)
  local function created()
    local c = sb:counters()
    return c.customers and c.customers.created or 0
  end

  -- curl, as row 4 runs it (its config holds the token: mode 0600, in tmp)
  sb:reset{ customers = true }
  local conf = batch.curl_config(dir, sb, token, count)
  progress("curl under callgrind")
  local curl = instructions(("%s curl -sS --parallel --parallel-max 8 -K %s"):format(CALLGRIND, quote(conf)))
  assert(created() == count, "curl did not create every customer")

  local rows = {}
  for _, abi in ipairs(ABIS) do
    local env = ("LUA_PATH=%s LUA_CPATH=%s"):format(quote(TOP .. "/lua/?.lua;" .. TOP .. "/lua/?/init.lua;;"),
      quote(abi.cpath))
    sb:reset{ customers = true }
    progress("submit under callgrind, %s", abi.label)
    local journal = tmp .. "/journal-" .. abi.name .. ".jsonl"
    -- the settings (secrets) from the 0600 file, never the command line
    local run = ("%s && %s exec %s %s bin/cdp-onboard submit %s %s --journal %s --parallel 8"):format(
      ". " .. quote(envfile), env, CALLGRIND, abi.lua, quote(dir .. "/mapping.lua"), quote(dir .. "/input.csv"),
      quote(journal))
    local submit = instructions("sh -c " .. quote(run))
    assert(created() == count, "submit did not create every customer")
    -- The pipeline's stages, in-process, each run alone: what one adds to
    -- the one before.
    local stages = {}
    for _, stage in ipairs({ "start", "read", "map", "build", "parts" }) do
      progress("stage %s under callgrind, %s", stage, abi.label)
      local cmd = ("env %s %s %s bench/stages.lua %s %s"):format(env, CALLGRIND, abi.lua, quote(dir), stage)
      stages[stage] = instructions(cmd)
    end
    rows[#rows + 1] = { abi = abi, submit = submit, stages = stages }
  end

  local function line(what, n, extra)
    print(("  %-42s %7.1fM  %5.0fk a record%s"):format(what, n / 1e6, n / RECORDS / 1000, extra or ""))
  end
  local function once(what, n)
    print(("  %-42s %7.1fM  once"):format(what, n / 1e6))
  end
  print(("client instructions for %d records at --parallel 8 (callgrind), against curl on the same bodies")
    :format(RECORDS))
  line("curl --parallel --parallel-max 8 -K conf", curl)
  for _, r in ipairs(rows) do
    local s = r.stages
    line("submit, " .. r.abi.label, r.submit, ("  %.2fx curl's"):format(r.submit / curl))
    once("  start-up (modules and the mapping)", s.start)
    line("  read the input", s.read - s.start)
    line("  map", s.map - s.read)
    line("  build (map, validate, checks, rules)", s.build - s.read)
    line("  the body's JSON", s.parts - s.build)
    line("  the rest (CLI, network, journal, tasks)", r.submit - s.parts)
  end
end)
if sb then sb:stop() end
if tmp then os.execute("rm -rf " .. quote(tmp)) end
if not ok then
  io.stderr:write("bench-instructions: ", tostring(err), "\n")
  os.exit(1)
end
