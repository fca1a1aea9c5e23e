-- cdp-onboard submit --parallel N against the sandbox, on records made by
-- examples/generate.lua: a 1,000-record run, kill -9 in the middle of it,
-- faults while 8 records are in flight, and Ctrl-C.
local cjson = require "cjson"
local sandbox = require "helpers.sandbox"
local files = require "helpers.files"

local runner = require "helpers.cli"
local LUA = runner.LUA
local ONBOARD = "/caas-lcm/api/v1/CAAS/onBoarding/customer"
local shell_quote, tmp, read = files.quote, files.tmpname, files.read

local report_rows = runner.report_rows
local function cli(sb, args) return runner.run(sb.env, args) end

-- Generate `count` records with their images into a fresh directory;
-- returns the directory and the input file. The example mapping is copied
-- beside them (its image paths are relative to the mapping).
local function generate(count)
  local dir = tmp(".gen")
  local ok, how, code = os.execute(("%s examples/generate.lua --count %d --out %s >/dev/null")
    :format(LUA, count, dir))
  assert.equal(0, runner.exit_code(ok, how, code), "examples/generate.lua failed")
  return dir, dir .. "/records.csv"
end

-- Lines of the journal with event "end", by key.
local function ended(journal)
  local out, n = {}, 0
  for line in (read(journal) or ""):gmatch("[^\n]+") do
    local ok, entry = pcall(cjson.decode, line)
    if ok and type(entry) == "table" and entry.event == "end" then
      if not out[entry.key] then n = n + 1 end
      out[entry.key] = entry.outcome
    end
  end
  return out, n
end

local function wait_until(predicate, what)
  for _ = 1, 600 do
    if predicate() then return end
    os.execute("sleep 0.1")
  end
  error("timed out waiting for " .. what)
end

-- Every record created exactly once at the sandbox, and `total` in all.
local function assert_created_once(sb, total)
  local c = sb:counters()
  assert.equal(total, c.customers.created)
  assert.equal(0, c.customers.duplicates or 0)
  for key, n in pairs(c.customers.by_id) do
    assert.equal(1, n.created, key)
    assert.equal(0, n.duplicates or 0, key)
  end
end

local function rmrf(path)
  os.execute("rm -rf " .. shell_quote(path))
end

describe("cdp-onboard submit --parallel", function()
  local sb, dir, input, MAPPING
  local COUNT = 1000

  lazy_setup(function()
    dir, input = generate(COUNT)
    MAPPING = dir .. "/ekyc-mapping.lua"
  end)
  lazy_teardown(function() rmrf(dir) end)
  before_each(function() sb = sandbox.start { workers = 2 } end)
  after_each(function() sb:stop() end)

  it("onboards 1,000 generated records 8 at a time: a report row each, every one created once", function()
    local journal, report = tmp(".jsonl"), tmp(".csv")
    local code, out = cli(sb, ("submit %s %s --parallel 8 --journal %s --report %s")
      :format(MAPPING, input, journal, report))
    assert.equal(0, code, out)
    local rows = report_rows(report)
    assert.equal(COUNT, #rows)
    for i, row in ipairs(rows) do
      assert.equal(tostring(i), row.number)
      assert.equal("created", row.outcome, out)
      assert.truthy(row.ecrn:match("^%d+$"), "record " .. i)
    end
    assert_created_once(sb, COUNT)
    local c = sb:counters()
    assert.equal(1, c.tokens.granted.password)
    assert.is_true(c.connections <= 1 + 8, "connections: " .. tostring(c.connections))
    os.remove(journal)
    os.remove(report)
  end)

  it("resumes after kill -9 with 8 records in flight: each created exactly once, the report complete", function()
    local journal, report, pidfile = tmp(".jsonl"), tmp(".csv"), tmp(".pid")
    -- From the 301st onboarding on, 8 are created and their answers hang:
    -- the CLI is killed while all 8 slots wait.
    sb:fault { path = ONBOARD, kind = "delay", delay = 60, when = "after", count = 8, skip = 300 }
    os.execute(runner.command(sb.env, "submit " .. MAPPING .. " " .. input
      .. " --parallel 8 --journal " .. journal .. " >/dev/null 2>&1 & echo $! >" .. pidfile))
    local pid = tonumber(read(pidfile))
    os.remove(pidfile)
    wait_until(function() return (sb:counters().faults.fired[ONBOARD] or 0) >= 8 end, "8 hanging onboardings")
    -- The 300 that ended are synced soon (SETTLE_WITHIN), though 8 hang.
    wait_until(function() return select(2, ended(journal)) >= 300 end, "the 300 outcomes in the journal")
    local _, done_before = ended(journal)
    os.execute("kill -9 " .. pid)
    assert.equal(300, done_before)
    assert.equal(308, sb:counters().customers.created)

    local code, out = cli(sb, ("submit %s %s --parallel 8 --journal %s --report %s")
      :format(MAPPING, input, journal, report))
    assert.equal(0, code, out)
    local rows = report_rows(report)
    assert.equal(COUNT, #rows)
    local reconciled = 0
    for i, row in ipairs(rows) do
      assert.truthy(row.outcome == "created" or row.outcome == "reconciled", "record " .. i)
      assert.truthy(row.ecrn:match("^%d+$"), "record " .. i)
      if row.outcome == "reconciled" then reconciled = reconciled + 1 end
    end
    assert.equal(8, reconciled)  -- the 8 in flight: found by lookup, not sent again
    assert_created_once(sb, COUNT)
    os.remove(journal)
    os.remove(report)
  end)

  for _, fault in ipairs({
    { kind = "reset", when = "after" }, { kind = "502", when = "after" },
    { kind = "delay", delay = 3, when = "after", timeout = 1 },
    { kind = "reset", when = "before" }, { kind = "502", when = "before" },
  }) do
    it(("settles each of 100 records once with 8 in flight and faults: %s %s"):format(fault.kind, fault.when),
      function()
        -- The first 100 records, beside the generated images.
        local src, dst = assert(io.open(input, "rb")), assert(io.open(dir .. "/first100.csv", "wb"))
        local n = 0
        for line in src:lines() do
          n = n + 1
          if n > 101 then break end
          dst:write(line, "\n")
        end
        src:close()
        dst:close()
        local small = dir .. "/first100.csv"
        local journal, report = tmp(".jsonl"), tmp(".jsonl")
        -- Five onboardings in a row fail, from the 21st on: several in flight at once.
        sb:fault { path = ONBOARD, kind = fault.kind, delay = fault.delay, when = fault.when, count = 5, skip = 20 }
        local extra = fault.timeout and (" --timeout " .. fault.timeout) or ""
        local args = ("submit %s %s --parallel 8 --journal %s --report %s%s")
          :format(MAPPING, small, journal, report, extra)
        local code, out = cli(sb, args)
        -- Faults before processing leave records unknown or failed for now:
        -- reruns settle them (after a lookup), never creating one twice.
        for _ = 1, 3 do
          if code == 0 then break end
          code, out = cli(sb, args)
        end
        assert.equal(0, code, out)
        local rows = report_rows(report)
        assert.equal(100, #rows)
        for i, row in ipairs(rows) do
          assert.truthy(row.outcome == "created" or row.outcome == "reconciled", "record " .. i .. ": " .. out)
        end
        assert.equal(5, sb:counters().faults.fired[ONBOARD])
        assert_created_once(sb, 100)
        os.remove(journal)
        os.remove(report)
      end)
  end

  it("Ctrl-C settles the 4 records in flight, starts no new one, and exits 130", function()
    local journal, out, pidfile, rcfile = tmp(".jsonl"), tmp(".out"), tmp(".pid"), tmp(".rc")
    local report = tmp(".csv")
    -- From the 41st onboarding on, 4 are created and answer after 2 s: Ctrl-C arrives meanwhile.
    sb:fault { path = ONBOARD, kind = "delay", delay = 2, when = "after", count = 4, skip = 40 }
    local command = runner.command(sb.env, "submit " .. MAPPING .. " " .. input
      .. " --parallel 4 --journal " .. journal .. " --report " .. report .. " >" .. out .. " 2>&1")
    os.execute("sh -c " .. shell_quote(command .. " & echo $! >" .. pidfile .. "; wait $!; echo $? >" .. rcfile)
      .. " >/dev/null 2>&1 &")
    wait_until(function()
      return read(pidfile) and (sb:counters().faults.fired[ONBOARD] or 0) >= 4
    end, "4 slow onboardings")
    os.execute("kill -INT " .. tonumber(read(pidfile)))
    wait_until(function() return read(rcfile) end, "the CLI to exit")
    assert.equal("130", (read(rcfile) or ""):match("%d+"), read(out))
    assert.matches("interrupted", read(out))
    local outcomes, n = ended(journal)
    assert.equal(44, n)  -- the 40 before and the 4 in flight, each settled
    for key, outcome in pairs(outcomes) do assert.equal("created", outcome, key) end
    assert_created_once(sb, 44)
    -- Every record read is in the report: the 44, and those read ahead but
    -- never sent (started in the journal; a rerun looks them up).
    local started = {}
    for line in (read(journal) or ""):gmatch("[^\n]+") do
      local entry = cjson.decode(line)
      started[entry.key] = true
    end
    local rows, created = report_rows(report), 0
    for _, row in ipairs(rows) do
      assert.truthy(started[row.key], row.key)
      if row.outcome == "created" then
        created = created + 1
      else
        assert.equal("unknown", row.outcome, row.key)
        assert.matches("^not sent", row.message)
      end
    end
    assert.equal(44, created)
    local keys = 0
    for _ in pairs(started) do keys = keys + 1 end
    assert.equal(keys, #rows)
    for _, path in ipairs({ journal, out, pidfile, rcfile, report }) do os.remove(path) end
  end)
end)
