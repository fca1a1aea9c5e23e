-- cdp-onboard submit against the sandbox: journal, resume after kill -9,
-- faults, report, exit codes. Runs the CLI as a child process under the
-- spec's own Lua (CDP_LUA).
local cjson = require "cjson"
local sandbox = require "helpers.sandbox"

local runner = require "helpers.cli"
local MAPPING, INPUT = "examples/ekyc-mapping.lua", "examples/ekyc-export.csv"
local ONBOARD = "/caas-lcm/api/v1/CAAS/onBoarding/customer"
local VALID = 7  -- records of the example that map and validate (8, 9, 10 do not)

local files = require "helpers.files"
local shell_quote, tmp, read = files.quote, files.tmpname, files.read

local report_rows = runner.report_rows
local function cli(sb, args) return runner.run(sb.env, args) end


-- Run the CLI; returns exit code and output (stdout and stderr).
-- Every valid record of the example created exactly once, none re-sent.
local function assert_created_once(sb, created)
  local c = sb:counters()
  -- By default + the 45013 record, created with an open alert.
  assert.equal(created or VALID + 1, c.customers.created)
  assert.equal(0, c.customers.duplicates or 0)
  for key, n in pairs(c.customers.by_id) do
    assert.equal(1, n.created, key)
    assert.equal(0, n.duplicates or 0, key)
  end
end

local function ensure_unique_ids(sb)
  -- The example's IDs are fixed: each test gets a fresh sandbox.
  sb:reset { customers = true }
end

describe("cdp-onboard submit", function()
  local sb
  before_each(function() sb = sandbox.start { workers = 1 } end)
  after_each(function() sb:stop() end)

  it("onboards every valid record, reports each one, and a rerun sends nothing", function()
    ensure_unique_ids(sb)
    local journal, report = tmp(".jsonl"), tmp(".csv")
    local code, out = cli(sb, ("submit %s %s --journal %s --report %s"):format(MAPPING, INPUT, journal, report))
    assert.equal(1, code, out)  -- some records fail: exit 1
    local rows = report_rows(report)
    assert.equal(11, #rows)
    for i, row in ipairs(rows) do
      assert.equal(tostring(i), row.number)
      if i <= VALID then
        assert.equal("created", row.outcome)
        assert.matches("^%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d$", row.ecrn)
      else
        assert.equal("failed", row.outcome)
      end
    end
    assert.equal("45013", rows[11].error_code)
    assert.equal(rows[11].ecrn, rows[11].message:match("(%d+)"))
    assert.equal("validation", rows[8].error_kind)
    local calls = sb:counters().calls[ONBOARD]
    assert.equal(VALID + 1, calls)

    code, out = cli(sb, ("submit %s %s --journal %s --report %s"):format(MAPPING, INPUT, journal, report))
    assert.equal(1, code, out)
    assert.equal(calls, sb:counters().calls[ONBOARD])  -- nothing sent again
    assert.same(rows, report_rows(report))
    assert_created_once(sb)
    os.remove(journal)
    os.remove(report)
  end)

  it("resumes after kill -9 mid-run: every record created exactly once, the report complete", function()
    ensure_unique_ids(sb)
    local journal, report = tmp(".jsonl"), tmp(".csv")
    -- Record 3 is created, then its answer hangs: the CLI is killed while it waits.
    sb:fault { path = ONBOARD, kind = "delay", delay = 30, when = "after", count = 1, skip = 2 }
    local pidfile = tmp(".pid")
    os.execute(runner.command(sb.env, "submit " .. MAPPING .. " " .. INPUT
      .. " --journal " .. journal .. " >/dev/null 2>&1 & echo $! >" .. pidfile))
    local pid = tonumber(read(pidfile))
    os.remove(pidfile)
    local waited = 0
    while (sb:counters().faults.fired[ONBOARD] or 0) < 1 and waited < 200 do
      os.execute("sleep 0.1")
      waited = waited + 1
    end
    assert.equal(1, sb:counters().faults.fired[ONBOARD], "record 3 never reached the sandbox")
    os.execute("kill -9 " .. pid)
    local code, out = cli(sb, ("submit %s %s --journal %s --report %s"):format(MAPPING, INPUT, journal, report))
    assert.equal(1, code, out)
    local rows = report_rows(report)
    assert.equal(11, #rows)
    assert.equal("reconciled", rows[3].outcome)
    for i = 1, VALID do assert.truthy(rows[i].ecrn ~= "", "record " .. i) end
    assert.equal("45013", rows[11].error_code)
    -- Record 11 was read ahead (started in the journal) before the kill but
    -- never sent: the rerun looks it up first, and the sandbox answers that
    -- lookup 45013 too, so it is settled without being sent.
    assert_created_once(sb, VALID)
    os.remove(journal)
    os.remove(report)
  end)

  for _, fault in ipairs({
    { kind = "502", when = "after" }, { kind = "reset", when = "after" },
    { kind = "delay", delay = 3, when = "after", timeout = 1 },
    { kind = "502", when = "before" }, { kind = "reset", when = "before" },
  }) do
    it(("settles every record once with faults: %s %s"):format(fault.kind, fault.when), function()
      ensure_unique_ids(sb)
      local journal, report = tmp(".jsonl"), tmp(".jsonl")
      sb:fault { path = ONBOARD, kind = fault.kind, delay = fault.delay, when = fault.when, count = 3 }
      local extra = fault.timeout and (" --timeout " .. fault.timeout) or ""
      local code, out = cli(sb, ("submit %s %s --journal %s --report %s%s")
        :format(MAPPING, INPUT, journal, report, extra))
      -- A fault before processing leaves nothing created: those records stay
      -- unknown and the rerun sends them after a lookup.
      if code ~= 1 then
        code, out = cli(sb, ("submit %s %s --journal %s --report %s%s"):format(MAPPING, INPUT, journal, report, extra))
      end
      local rows = report_rows(report)
      for i = 1, VALID do
        if rows[i].outcome ~= "created" and rows[i].outcome ~= "reconciled" then
          code, out = cli(sb, ("submit %s %s --journal %s --report %s"):format(MAPPING, INPUT, journal, report))
          rows = report_rows(report)
          break
        end
      end
      assert.equal(1, code, out)
      assert.equal(11, #rows)
      for i = 1, VALID do
        assert.truthy(rows[i].outcome == "created" or rows[i].outcome == "reconciled", out)
      end
      assert_created_once(sb)
      os.remove(journal)
      os.remove(report)
    end)
  end

  it("Ctrl-C settles the record in flight, starts no new one, and exits 130", function()
    ensure_unique_ids(sb)
    local journal, out, pidfile, rcfile = tmp(".jsonl"), tmp(".out"), tmp(".pid"), tmp(".rc")
    -- Record 2 is created and its answer takes 2 s: Ctrl-C arrives meanwhile.
    sb:fault { path = ONBOARD, kind = "delay", delay = 2, when = "after", count = 1, skip = 1 }
    local command = runner.command(sb.env, "submit " .. MAPPING .. " " .. INPUT
      .. " --journal " .. journal .. " >" .. out .. " 2>&1")
    os.execute("sh -c " .. shell_quote(command .. " & echo $! >" .. pidfile .. "; wait $!; echo $? >" .. rcfile)
      .. " >/dev/null 2>&1 &")
    -- Record 2 in flight: its onboarding reached the sandbox (a start in the
    -- journal is not enough: records are read ahead and started before
    -- their turn).
    local waited = 0
    while not ((sb:counters().faults.fired[ONBOARD] or 0) >= 1 and read(pidfile)) and waited < 200 do
      os.execute("sleep 0.1")
      waited = waited + 1
    end
    os.execute("kill -INT " .. tonumber(read(pidfile)))
    waited = 0
    while not read(rcfile) and waited < 300 do
      os.execute("sleep 0.1")
      waited = waited + 1
    end
    assert.equal("130", (read(rcfile) or ""):match("%d+"), read(out))
    assert.matches("interrupted", read(out))
    local ended = {}
    for line in (read(journal) or ""):gmatch("[^\n]+") do
      local entry = cjson.decode(line)
      if entry.event == "end" then ended[entry.key] = entry.outcome end
    end
    assert.same({ ["C-1001"] = "created", ["C-1002"] = "created" }, ended)  -- settled, none started after
    assert.equal(2, sb:counters().customers.created)
    for _, path in ipairs({ journal, out, pidfile, rcfile }) do os.remove(path) end
  end)

  it("exits 2 before sending anything for a mapping with a syntax error or an unreadable input", function()
    local bad = tmp(".lua")
    local f = assert(io.open(bad, "w"))
    f:write("return cdp.mapping {")
    f:close()
    local code, out = cli(sb, ("submit %s %s --journal %s"):format(bad, INPUT, tmp()))
    assert.equal(2, code)
    assert.matches("mapping:", out)
    code = cli(sb, ("submit %s %s"):format(MAPPING, "/no/such.csv"))
    assert.equal(2, code)
    assert.is_nil(sb:counters().calls[ONBOARD])
    os.remove(bad)
  end)

  it("opens each image once, to send it: a missing one fails its record unsent, and a rerun sends it", function()
    ensure_unique_ids(sb)
    -- The example in a folder of its own: record 10's image is missing there
    -- until the test puts it in.
    local dir = tmp()
    os.remove(dir)
    assert(os.execute(("mkdir -p %s/images && cp examples/ekyc-mapping.lua examples/ekyc-export.csv %s/ && "
      .. "cp examples/images/*.jpg %s/images/"):format(shell_quote(dir), shell_quote(dir), shell_quote(dir))))
    local mapping, input = dir .. "/ekyc-mapping.lua", dir .. "/ekyc-export.csv"
    local journal, report = dir .. "/journal.jsonl", dir .. "/report.csv"
    local function run(extra)
      return cli(sb, ("submit %s %s --journal %s --report %s%s"):format(shell_quote(mapping), shell_quote(input),
        shell_quote(journal), shell_quote(report), extra or ""))
    end

    -- A dry run checks the images, as `check` does.
    local code, out = run(" --dry-run")
    assert.equal(1, code, out)
    assert.matches("10 C%-1010 invalid: [^\n]*id_front: cannot read [^\n]*missing%-front%.jpg", out)

    code, out = run()
    assert.equal(1, code, out)
    local rows = report_rows(report)
    assert.equal("failed", rows[10].outcome)
    assert.equal("validation", rows[10].error_kind)
    assert.equal(("id_details[1].id_front: cannot read %s/images/missing-front.jpg: No such file or directory")
      :format(dir), rows[10].message)
    assert.equal(VALID + 1, sb:counters().calls[ONBOARD])
    local last
    for line in read(journal):gmatch("[^\n]+") do
      local entry = cjson.decode(line)
      if entry.key == "C-1010" then last = entry end
    end
    assert.same({ "end", "failed", true }, { last.event, last.outcome, last.nothing_sent })

    assert(os.execute(("cp examples/images/id-front.jpg %s/images/missing-front.jpg"):format(shell_quote(dir))))
    code, out = run()
    assert.equal(1, code, out)  -- records 8, 9 and 11 still fail
    rows = report_rows(report)
    assert.equal("created", rows[10].outcome, rows[10].message)
    assert.equal(VALID + 2, sb:counters().calls[ONBOARD])  -- record 10 only
    assert_created_once(sb, VALID + 2)
    assert(os.execute("rm -rf " .. shell_quote(dir)))
  end)

  it("reports a record whose mapping raises, with its line, and goes on", function()
    ensure_unique_ids(sb)
    local mapping = tmp(".lua")
    local f = assert(io.open(mapping, "w"))
    f:write(([[
local example = assert(require("cdp").mapping.load(%q))
return function(record)
  if record["Customer ID"] == "C-1003" then error("cannot map this one") end
  return example:map(record)
end]]):format(MAPPING))
    f:close()
    local report = tmp(".csv")
    local code, out = cli(sb, ("submit %s %s --journal %s --report %s"):format(mapping, INPUT, tmp(), report))
    assert.equal(1, code, out)
    local rows = report_rows(report)
    assert.equal(11, #rows)
    assert.equal("failed", rows[3].outcome)
    assert.matches(":3: cannot map this one", rows[3].message)
    assert.equal("created", rows[4].outcome)
    os.remove(mapping)
    os.remove(report)
  end)

  it("asks for no token when no record is to be sent", function()
    -- Records 8 and 9 of the example fail validation.
    local lines = {}
    for line in io.lines(INPUT) do lines[#lines + 1] = line end
    local input = tmp(".csv")
    local f = assert(io.open(input, "w"))
    f:write(lines[1], "\n", lines[9], "\n", lines[10], "\n")
    f:close()
    local code, out = cli(sb, ("submit %s %s --journal %s --parallel 4"):format(MAPPING, input, tmp()))
    assert.equal(1, code, out)
    assert.matches("2 records: 0 onboarded, 2 not", out)
    local counters = sb:counters()
    assert.equal(0, counters.tokens.granted.password or 0)
    assert.equal(0, counters.calls["/auth/realms/cdp/protocol/openid-connect/token"] or 0)
    os.remove(input)
  end)

  it("stops with exit 3 on wrong credentials, sending no record", function()
    sb.env.CDP_PASSWORD = "wrong"
    local code, out = cli(sb, ("submit %s %s --journal %s --parallel 4"):format(MAPPING, INPUT, tmp()))
    assert.equal(3, code, out)
    assert.matches("auth", out)
    assert.is_nil(out:find("wrong", 1, true))
    local counters = sb:counters()
    assert.is_nil(counters.calls[ONBOARD])
    -- Asked once for the whole run, not once a record in flight or queued
    -- (an identity provider may lock the account after a few failed logins).
    assert.equal(1, counters.tokens.refused.password)
  end)
end)
