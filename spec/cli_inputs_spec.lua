-- cdp-onboard check and submit with bad inputs: malformed CSV, invalid
-- UTF-8, BOM and CRLF, quoted commas and newlines, a missing image, broken
-- mappings, broken JSON Lines. For each: the exit code, one report line per
-- problem (record number and key or input line, field path, message), and
-- the other records processed. submit runs sequentially (the default)
-- against a spec sandbox; the CLI runs as a child under the spec's Lua.
local cjson = require "cjson"
local sandbox = require "helpers.sandbox"
local files = require "helpers.files"

local runner = require "helpers.cli"
local LUA = runner.LUA
local MAPPING = "examples/ekyc-mapping.lua"
local ONBOARD = "/caas-lcm/api/v1/CAAS/onBoarding/customer"
local quote, tmp, read = files.quote, files.tmpname, files.read

-- The example export's lines: [1] the header, [n + 1] record n, with its
-- ID's expiry moved to 2099 (an expired ID is a warning, and the counts of
-- warnings below must not change with the date). Records 1 to 7 are valid.
local EXAMPLE = {}
for line in read("examples/ekyc-export.csv"):gmatch("[^\n]+") do
  EXAMPLE[#EXAMPLE + 1] = line:gsub("(,%d%d/%d%d/%d%d%d%d,%d%d/%d%d/)%d%d%d%d,", "%12099,")
end
local HEADER = EXAMPLE[1]
local function rec(n) return EXAMPLE[n + 1] end

-- The example's JSON Lines, expiry moved the same way.
local function jsonl_lines()
  local list = {}
  for line in read("examples/ekyc-export.jsonl"):gmatch("[^\n]+") do
    list[#list + 1] = line:gsub('("ID Expiry Date": "%d%d/%d%d/)%d%d%d%d"', '%12099"')
  end
  return list
end

-- Plain-text substitution (no patterns) in one line.
local function sub(line, from, to)
  local i = assert(line:find(from, 1, true), from)
  return line:sub(1, i - 1) .. to .. line:sub(i + #from)
end

local made = {}
local function write(ext, text)
  local path = tmp(ext)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  made[#made + 1] = path
  return path
end

local function csv(lines, eol)
  eol = eol or "\n"
  return write(".csv", table.concat(lines, eol) .. eol)
end

-- Run the CLI; returns exit code and output (stdout and stderr).
local cli = runner.run

local function check(input, mapping)
  return cli({}, ("check %s %s"):format(quote(mapping or MAPPING), quote(input)))
end

local report_rows = runner.report_rows

-- The report's lines in the order check prints them: problems, then the summary.
local function lines_of(out)
  local list = {}
  for line in out:gmatch("[^\n]+") do list[#list + 1] = line end
  return list
end

describe("cdp-onboard with bad inputs", function()
  local sb

  -- submit INPUT with a fresh journal and a CSV report: code, output, report rows.
  local function submit(input, mapping)
    local journal, report = tmp(".jsonl"), tmp(".csv")
    local code, out = cli(sb.env, ("submit %s %s --journal %s --report %s")
      :format(quote(mapping or MAPPING), quote(input), quote(journal), quote(report)))
    local rows = read(report) and report_rows(report) or {}
    os.remove(journal)
    os.remove(report)
    return code, out, rows
  end

  -- Every onboarding call of the sandbox, and calls of any kind.
  local function calls()
    local c = sb:counters().calls or {}
    local any = 0
    for _, n in pairs(c) do any = any + n end
    return c[ONBOARD] or 0, any
  end

  local function outcomes(rows)
    local list = {}
    for i, row in ipairs(rows) do list[i] = row.outcome end
    return list
  end

  setup(function() sb = sandbox.start { workers = 1 } end)
  teardown(function()
    sb:stop()
    for _, path in ipairs(made) do os.execute("rm -rf " .. quote(path)) end
  end)
  before_each(function() sb:reset { customers = true } end)

  describe("malformed CSV", function()
    it("an unterminated quote: the record where it opens fails, the file ends there", function()
      local input = csv { HEADER, rec(1), sub(rec(2), "Irfan", '"Irfan'), rec(3), rec(6) }
      local code, out = check(input)
      assert.equal(1, code, out)
      assert.same({
        "record 2, line 3: unterminated quote in field 2, which runs to the end of the file (lines 3 to 5 skipped)",
        "2 records: 1 valid (0 with warnings), 1 invalid",
      }, lines_of(out))

      local rows
      code, out, rows = submit(input)
      assert.equal(1, code, out)
      assert.same({ "created", "failed" }, outcomes(rows))
      assert.equal("record 2", rows[2].key)
      assert.equal("validation", rows[2].error_kind)
      assert.matches("^line 3: unterminated quote in field 2", rows[2].message)
      assert.equal(1, (calls()))
    end)

    it("a quote left open until a later quoted field: one record over several lines fails", function()
      -- Record 5's "Villa 12, Block B" closes the quote opened in record 2.
      local input = csv { HEADER, rec(1), sub(rec(2), "Irfan", '"Irfan'), rec(3), rec(5), rec(6) }
      local code, out = check(input)
      assert.equal(1, code, out)
      assert.same({
        "record 2, line 3: text after closing quote in field 2 (lines 3 to 5 read as one record)",
        "3 records: 2 valid (0 with warnings), 1 invalid",
      }, lines_of(out))
      local rows
      code, out, rows = submit(input)
      assert.equal(1, code, out)
      assert.same({ "created", "failed", "created" }, outcomes(rows))
      assert.equal("C-1006", rows[3].key)
    end)

    it("rows with too many or too few fields fail; the rows around them go on", function()
      local input = csv { HEADER, rec(1), rec(2) .. ",extra", rec(3), (rec(5):gsub(",[^,]*$", "")), rec(6) }
      local code, out = check(input)
      assert.equal(1, code, out)
      assert.same({
        "record 2, line 3: 20 fields where the header has 19",
        "record 4, line 5: 18 fields where the header has 19",
        "5 records: 3 valid (0 with warnings), 2 invalid",
      }, lines_of(out))

      code, out = cli({}, ("render %s %s"):format(MAPPING, input))
      assert.equal(1, code, out)
      assert.matches("record 2, line 3: 20 fields where the header has 19", out)
      local rendered = 0
      for line in out:gmatch("[^\n]+") do
        if line:sub(1, 1) == "{" then rendered = rendered + 1 end
      end
      assert.equal(3, rendered)

      local rows
      code, out, rows = submit(input)
      assert.equal(1, code, out)
      assert.same({ "created", "failed", "created", "failed", "created" }, outcomes(rows))
      assert.equal("line 5: 18 fields where the header has 19", rows[4].message)
      assert.equal(3, (calls()))
    end)

    it("a stray quote inside an unquoted field, and text after a closing quote", function()
      local input = csv { HEADER, sub(rec(1), "Zafar Bashir", 'Zafar "Bashir'), rec(2),
        sub(rec(3), "Al Nahda Tower", '"Al Nahda" Tower'), rec(6) }
      local code, out = check(input)
      assert.equal(1, code, out)
      assert.same({
        "record 1, line 2: stray quote in field 2 (quote the whole field and double inner quotes)",
        "record 3, line 4: text after closing quote in field 15",
        "4 records: 2 valid (0 with warnings), 2 invalid",
      }, lines_of(out))

      local rows
      code, out, rows = submit(input)
      assert.equal(1, code, out)
      assert.same({ "failed", "created", "failed", "created" }, outcomes(rows))
      assert.equal(2, (calls()))
    end)
  end)

  describe("encodings and line ends", function()
    it("invalid UTF-8 in a field fails that record, named by its key", function()
      local input = csv { HEADER, rec(1), sub(rec(2), "Irfan", "Irf\255\254an"), rec(3),
        sub(rec(5), "Villa 12", "Villa \192\175 12") }
      local code, out = check(input)
      assert.equal(1, code, out)
      assert.same({
        'record 2 (C-1002), line 3: column "Full Name" is not valid UTF-8 (byte 4)',
        'record 4 (C-1005), line 5: column "Building" is not valid UTF-8 (byte 7)',  -- an overlong "/"
        "4 records: 2 valid (0 with warnings), 2 invalid",
      }, lines_of(out))

      local rows
      code, out, rows = submit(input)
      assert.equal(1, code, out)
      assert.same({ "created", "failed", "created", "failed" }, outcomes(rows))
      assert.equal("C-1002", rows[2].key)
      assert.is_nil(out:find("\255", 1, true))
      assert.equal(2, (calls()))
    end)

    it("invalid UTF-8 in the header: exit 2, no API call of any kind", function()
      local input = csv { sub(HEADER, "Gender", "Gend\233r"), rec(1), rec(2) }
      local code, out = check(input)
      assert.equal(2, code, out)
      assert.equal("cdp-onboard: input: " .. input .. ": line 1: header column 4 is not valid UTF-8 (byte 5)\n", out)

      code, out = submit(input)
      assert.equal(2, code, out)
      assert.matches("header column 4 is not valid UTF%-8", out)
      assert.same({ 0, 0 }, { calls() })
    end)

    it("CR-only line ends, or another separator than commas: exit 2, saying so", function()
      local input = csv({ HEADER, rec(1), rec(2) }, "\r")
      local code, out = check(input)
      assert.equal(2, code, out)
      assert.equal(("cdp-onboard: input: %s: line 1: header row: lines end with CR alone (old Mac format); "
        .. "save the file with LF or CRLF line ends\n"):format(input), out)
      for sep, says in pairs({ [";"] = '";"', ["\t"] = "tabs" }) do
        input = csv { (HEADER:gsub(",", sep)), (rec(1):gsub(",", sep)) }
        code, out = check(input)
        assert.equal(2, code, out)
        assert.equal(("cdp-onboard: input: %s: line 1: header row: one column, holding %s: "
          .. "this reader takes comma-separated values\n"):format(input, says), out)
      end
      code, out = submit(input)
      assert.equal(2, code, out)
      assert.same({ 0, 0 }, { calls() })
    end)

    it("a column the mapping needs and the header lacks: exit 2, no API call", function()
      local input = csv { sub(HEADER, "Gender", "Sex"), rec(1), rec(2) }
      local code, out = check(input)
      assert.equal(2, code, out)
      assert.equal(('cdp-onboard: mapping: "Gender" (for gender) is not a column of %s\n'):format(input), out)
      code, out = submit(input)
      assert.equal(2, code, out)
      assert.same({ 0, 0 }, { calls() })
    end)

    it("a UTF-8 byte-order mark and CRLF line ends, quoted CRLF inside a field", function()
      local input = write(".csv", "\239\187\191" .. table.concat({ HEADER, rec(1),
        sub(rec(2), "ABC House", '"ABC House, Floor 3\r\nNear ""Lulu"" Mall"'), rec(3),
        rec(5) .. ",", rec(6) }, "\r\n") .. "\r\n")
      local code, out = check(input)
      assert.equal(1, code, out)
      assert.same({
        "record 4, line 6: 20 fields where the header has 19",  -- lines counted past the quoted newline
        "5 records: 4 valid (0 with warnings), 1 invalid",
      }, lines_of(out))

      code, out = cli({}, ("render %s %s --record 2"):format(MAPPING, input))
      assert.equal(0, code, out)
      local c = cjson.decode(out)
      assert.equal('ABC House, Floor 3\nNear "Lulu" Mall', c.address_list[1].building_name)
      assert.equal(false, c.political_exposed_person)  -- "false\r" would not be a boolean
      code, out = cli({}, ("render %s %s --record 1"):format(MAPPING, input))
      assert.equal(0, code, out)
      assert.equal("Zafar", cjson.decode(out).first_name)

      local rows
      code, out, rows = submit(input)
      assert.equal(1, code, out)
      assert.same({ "created", "created", "created", "failed", "created" }, outcomes(rows))
      assert.equal("C-1001", rows[1].key)  -- the first column's name lost its BOM
      local stored = sb:customer(rows[2].ecrn)
      assert.truthy(stored, "no customer " .. tostring(rows[2].ecrn))
      assert.truthy(cjson.encode(stored):find("ABC House, Floor 3\\nNear \\\"Lulu\\\" Mall", 1, true),
        cjson.encode(stored))
      assert.equal(4, (calls()))
    end)

    it("quoted commas, doubled quotes and newlines: the record after counts lines right", function()
      local input = csv { HEADER, sub(rec(1), "Mankhool Building", '"Mankhool, Building\n2nd ""B"" wing\n"'),
        rec(2), sub(rec(9), "Nimal Perera", '"Perera,\nNimal"') }
      local code, out = check(input)
      assert.equal(1, code, out)
      assert.same({
        'record 3 (C-1009), nationality: column "Nationality": "Atlantis" is not a country',
        "3 records: 2 valid (0 with warnings), 1 invalid",
      }, lines_of(out))
      code, out = cli({}, ("render %s %s --record 1"):format(MAPPING, input))
      assert.equal(0, code, out)
      assert.equal('Mankhool, Building\n2nd "B" wing', cjson.decode(out).address_list[1].building_name)

      -- The same rows, the second one broken: its line is past the three-line record.
      input = csv { HEADER, sub(rec(1), "Mankhool Building", '"Mankhool, Building\n2nd ""B"" wing\n"'),
        rec(2) .. ",", rec(3) }
      code, out = check(input)
      assert.equal(1, code, out)
      assert.matches("^record 2, line 5: 20 fields where the header has 19\n", out)
    end)
  end)

  it("an input that is empty or a directory: exit 2", function()
    local empty = write(".csv", "")
    local code, out = check(empty)
    assert.equal(2, code, out)
    assert.equal(("cdp-onboard: input: %s is empty (a CSV needs a header row)\n"):format(empty), out)
    local dir = tmp(".csv")
    made[#made + 1] = dir
    os.execute("mkdir " .. quote(dir))
    code, out = check(dir)
    assert.equal(2, code, out)
    assert.equal(("cdp-onboard: input: %s: Is a directory\n"):format(dir), out)
    code, out = submit(dir)
    assert.equal(2, code, out)
    assert.same({ 0, 0 }, { calls() })
  end)

  it("check flags a repeated key (submit fails it) and warns of a repeated ID", function()
    local input = csv { HEADER, rec(1), rec(2), rec(1), sub(rec(3), "C-1003", "C-2003"), rec(3) }
    local code, out = check(input)
    assert.equal(1, code, out)
    assert.same({
      "record 3 (C-1001), line 4: key C-1001 repeats record 1 (submit onboards a key once)",
      "record 5 (C-1003), id_details[1].id_number: warning: the same ID as record 4 (C-2003): "
        .. "the CDP answers for the customer it already has",
      "5 records: 4 valid (1 with warnings), 1 invalid",
    }, lines_of(out))
    local rows
    code, out, rows = submit(input)
    assert.equal(1, code, out)
    assert.same({ "created", "created", "failed", "created", "created" }, outcomes(rows))
    assert.equal("key C-1001 repeats record 1", rows[3].message)
    assert.equal(rows[4].ecrn, rows[5].ecrn)
  end)

  it("a missing image file fails its record, at the document's path", function()
    local input = csv { HEADER, rec(1), sub(rec(2), "id-back.jpg", "no-such-back.jpg"), rec(3) }
    local code, out = check(input)
    assert.equal(1, code, out)
    assert.same({
      "record 2 (C-1002), id_details[1].id_back: cannot read examples/images/no-such-back.jpg: "
        .. "No such file or directory",
      "3 records: 2 valid (0 with warnings), 1 invalid",
    }, lines_of(out))

    local rows
    code, out, rows = submit(input)
    assert.equal(1, code, out)
    assert.same({ "created", "failed", "created" }, outcomes(rows))
    assert.equal("validation", rows[2].error_kind)
    assert.matches("no%-such%-back%.jpg", rows[2].message)
    assert.equal(2, (calls()))
  end)

  describe("broken mappings", function()
    local input
    setup(function() input = csv { HEADER, rec(1), rec(2) } end)

    for _, case in ipairs({
      { what = "a syntax error", source = "local cdp = require 'cdp'\nreturn cdp.mapping {\n",
        says = "mapping: .*:3: .*expected" },
      { what = "an error while it loads", source = "error('no settings for this partner')\n",
        says = "mapping: .*: .*no settings for this partner" },
      { what = "something else than a mapping", source = "return 42\n",
        says = "mapping: .*: a mapping script must return cdp.mapping{…} or a function%(record%)" },
    }) do
      it(case.what .. ": exit 2 before anything is sent, for check, render and submit", function()
        local mapping = write(".lua", case.source)
        local code, out = check(input, mapping)
        assert.equal(2, code, out)
        assert.matches("^cdp%-onboard: " .. case.says, out)
        code, out = cli({}, ("render %s %s"):format(mapping, input))
        assert.equal(2, code, out)
        code, out = submit(input, mapping)
        assert.equal(2, code, out)
        assert.matches(case.says, out)
        assert.same({ 0, 0 }, { calls() })  -- not even a token
      end)
    end

    describe("one that raises on record 37 of 50", function()
      local dir
      setup(function()
        dir = tmp(".gen")
        made[#made + 1] = dir
        local ok = os.execute(LUA .. " examples/generate.lua --count 50 --seed 3 --out " .. quote(dir) .. " >/dev/null")
        assert.truthy(ok == true or ok == 0)
      end)

      local function mapping_file(name, source)
        local path = dir .. "/" .. name
        local f = assert(io.open(path, "w"))
        f:write(source:format(dir .. "/ekyc-mapping.lua"))
        f:close()
        return path
      end

      it("in a field helper: that record reported at the field, the mapping's line, the 49 others go on", function()
        local mapping = mapping_file("raise-field.lua", [[
local cdp = require "cdp"
local example = assert(cdp.mapping.load(%q))
local spec = {}
for k, v in pairs(example.spec) do spec[k] = v end
spec.last_name = function(record)
  if record["Customer ID"] == "C-000037" then error("no rule for this customer") end
  return example.spec.last_name(record)
end
return cdp.mapping(spec)
]])
        local code, out = check(dir .. "/records.csv", mapping)
        assert.equal(1, code, out)
        assert.same({
          ("record 37 (C-000037), last_name: mapping raised an error: %s:6: no rule for this customer"):format(mapping),
          "50 records: 49 valid (0 with warnings), 1 invalid",
        }, lines_of(out))

        local rows
        code, out, rows = submit(dir .. "/records.csv", mapping)
        assert.equal(1, code, out)
        assert.equal(50, #rows)
        for i, row in ipairs(rows) do
          assert.equal(i == 37 and "failed" or "created", row.outcome, "record " .. i)
        end
        assert.equal("C-000037", rows[37].key)
        assert.matches(":6: no rule for this customer", rows[37].message)
        assert.equal(49, (calls()))
      end)

      it("as a function mapping: that record reported with its input line", function()
        local mapping = mapping_file("raise-function.lua", [[
local cdp = require "cdp"
local example = assert(cdp.mapping.load(%q))
return function(record)
  if record["Customer ID"] == "C-000037" then error("no rule for this customer") end
  return example:map(record)
end
]])
        local code, out = check(dir .. "/records.csv", mapping)
        assert.equal(1, code, out)
        assert.same({
          ("record 37, line 38: mapping raised an error: %s:4: no rule for this customer"):format(mapping),
          "50 records: 49 valid (0 with warnings), 1 invalid",
        }, lines_of(out))
      end)
    end)
  end)

  it("JSON Lines values that are not text: objects and lists refused, numbers as their digits", function()
    local objects = {}
    for _, line in ipairs(jsonl_lines()) do objects[#objects + 1] = cjson.decode(line) end
    local one, two, three = objects[1], objects[2], objects[3]
    one["Full Name"] = { first = "Zafar", last = "Masih" }
    two.Nationality = { "India" }
    three["Customer ID"] = 1003   -- 1003.0 under Lua 5.4's lua-cjson: the key must still be "1003"
    three.PEP = cjson.null        -- an empty cell
    local input = write(".jsonl", cjson.encode(one) .. "\n" .. cjson.encode(two) .. "\n" .. cjson.encode(three) .. "\n")
    local code, out = check(input)
    assert.equal(1, code, out)
    assert.same({
      'record 1 (C-1001), first_name: column "Full Name": an object where text is expected',
      'record 1 (C-1001), middle_name: column "Full Name": an object where text is expected',
      'record 1 (C-1001), last_name: column "Full Name": an object where text is expected',
      "record 1 (C-1001), id_details[1].name_as_per_id: expected text, got an object",
      'record 2 (C-1002), nationality: column "Nationality": a list where text is expected',
      "3 records: 1 valid (0 with warnings), 2 invalid",
    }, lines_of(out))
    local rows
    code, out, rows = submit(input)
    assert.equal(1, code, out)
    assert.same({ "failed", "failed", "created" }, outcomes(rows))
    assert.equal("1003", rows[3].key)
    assert.is_nil(out:find("table: 0x", 1, true))
  end)

  it("JSON Lines with broken lines: each reported by its line, the others onboarded", function()
    local objects = jsonl_lines()
    local input = write(".jsonl", table.concat({
      objects[1],
      objects[2]:sub(1, 60),               -- cut short
      "",                                   -- blank lines are skipped
      objects[3],
      "[" .. objects[5] .. "]",             -- not an object
      sub(objects[6], "Nair", "N\237\160\128ir"),  -- a UTF-16 surrogate: not UTF-8
      objects[7],
    }, "\n") .. "\n")
    local code, out = check(input)
    assert.equal(1, code, out)
    local got = lines_of(out)
    assert.equal(4, #got, out)
    assert.matches("^record 2, line 2: invalid JSON: .*at character 61$", got[1])
    assert.same({
      "record 4, line 5: a line must be a JSON object",
      "record 5, line 6: not valid UTF-8 (byte 56)",
      "6 records: 3 valid (0 with warnings), 3 invalid",
    }, { got[2], got[3], got[4] })

    local rows
    code, out, rows = submit(input)
    assert.equal(1, code, out)
    assert.same({ "created", "failed", "created", "failed", "failed", "created" }, outcomes(rows))
    assert.matches("^line 2: invalid JSON", rows[2].message)
    assert.equal(3, (calls()))
  end)
end)

describe("cdp-onboard --help", function()
  local COMMANDS = { "check", "render", "submit", "lookup", "get", "token", "sandbox",
    "sandbox start", "sandbox stop", "sandbox status", "sandbox env" }

  it("lists every command with one line each, and the exit codes", function()
    local code, out = cli({}, "--help")
    assert.equal(0, code, out)
    assert.matches("^Usage: cdp%-onboard %[%-h%] <command> %.%.%.\n", out)
    for _, name in ipairs({ "check", "render", "submit", "lookup", "get", "token", "sandbox" }) do
      assert.matches("\n   " .. name .. " +%S", out)
    end
    assert.matches("   check                 Map and validate every record; sends nothing.\n", out, 1, true)
    assert.matches("Exit codes: 0 done, 1 some records failed, 2 usage or configuration error", out, 1, true)
  end)

  for _, name in ipairs(COMMANDS) do
    it(name .. " --help: its usage, exit 0", function()
      local code, out = cli({}, name .. " --help")
      assert.equal(0, code, out)
      assert.equal("Usage: cdp-onboard " .. name .. " [-h]", out:sub(1, #("Usage: cdp-onboard " .. name .. " [-h]")))
      assert.matches("\nOptions:\n   %-h, %-%-help +Show this help message and exit%.\n", out)
    end)
  end

  it("a usage error shows the usage of the command that was wrong, exit 2", function()
    local code, out = cli({}, "check examples/ekyc-mapping.lua")
    assert.equal(2, code, out)
    assert.equal("Usage: cdp-onboard check [-h] [-q] <mapping> <input>\n\nError: missing argument 'input'\n"
      .. "Run 'cdp-onboard check --help' for more.\n", out)
    code, out = cli({}, "token --timeout soon")
    assert.equal(2, code, out)
    assert.matches("^Usage: cdp%-onboard token ", out)
    assert.matches("Error: %-%-timeout takes a number of seconds above 0\n", out)
    code, out = cli({}, "chek")
    assert.equal(2, code, out)
    assert.matches("Did you mean 'check'%?\nRun 'cdp%-onboard %-%-help' for more%.\n$", out)
  end)
end)
