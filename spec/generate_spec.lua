-- examples/generate.lua: a synthetic export that the example mapping checks
-- clean, with unique IDs and distinct images, the same for the same seed,
-- and that the sandbox accepts.
local records = require "cdp.records"
local sandbox = require "helpers.sandbox"
local files = require "helpers.files"

local LUA = os.getenv("CDP_LUA") or "lua5.4"
local quote, read = files.quote, files.read

-- Run a command; returns its exit code and output (stdout and stderr).
local function sh(command)
  local out = files.tmpname(".out")
  local ok, how, code = os.execute(command .. " >" .. out .. " 2>&1")
  local text = read(out) or ""
  os.remove(out)
  if type(ok) == "number" then code = math.floor(ok / 256) end  -- Lua 5.1's os.execute
  return (how == "exit" or how == nil) and code or 128 + code, text
end

local function generate(dir, options)
  return sh(LUA .. " examples/generate.lua --out " .. quote(dir) .. " " .. options)
end

local function env_prefix(env)
  local parts = {}
  for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. quote(v) end
  table.sort(parts)
  return "env -u CDP_BASE_URL " .. table.concat(parts, " ") .. " "
end

local function cli(env, args)
  return sh(env_prefix(env) .. LUA .. " bin/cdp-onboard " .. args)
end

local function all_records(path)
  local list = {}
  for number, rec, problem in records.each(path) do
    assert.is_nil(problem, problem and problem.message)
    list[number] = rec.fields
  end
  return list
end

describe("examples/generate.lua", function()
  local dirs = {}
  local function tmpdir()
    local d = files.tmpname(".gen")
    dirs[#dirs + 1] = d
    return d
  end
  teardown(function()
    for _, d in ipairs(dirs) do os.execute("rm -rf " .. quote(d)) end
  end)

  local a, b
  setup(function()
    a, b = tmpdir(), tmpdir()
    local code, out = generate(a, "--count 1000 --seed 42")
    assert.equal(0, code, out)
    code, out = generate(b, "--count 1000 --seed 42")
    assert.equal(0, code, out)
  end)

  it("writes 1,000 records in the example's columns, with unique keys and Emirates IDs", function()
    local header = read("examples/ekyc-export.csv"):match("^[^\r\n]*")
    assert.equal(header, read(a .. "/records.csv"):match("^[^\r\n]*"))
    local list = all_records(a .. "/records.csv")
    assert.equal(1000, #list)
    local ids, keys, emails = {}, {}, {}
    for i, r in ipairs(list) do
      local id = r["Emirates ID"]
      assert.matches("^784%d%d%d%d%d%d%d%d%d%d%d%d$", id)
      assert.is_nil(id:find("^7840000000"), "a sandbox trigger: " .. id)
      assert.equal(r["Date of Birth"]:sub(-4), id:sub(4, 7))  -- 784, then the year of birth
      assert.is_nil(ids[id], "repeated Emirates ID " .. id .. " in records " .. tostring(ids[id]) .. " and " .. i)
      assert.is_nil(keys[r["Customer ID"]])
      ids[id], keys[r["Customer ID"]], emails[r.Email] = i, true, true
    end
    local n = 0
    for _ in pairs(emails) do n = n + 1 end
    assert.equal(1000, n)
  end)

  it("varies names, nationalities, phones and dates", function()
    local seen = { ["Full Name"] = {}, Nationality = {}, Mobile = {}, ["Date of Birth"] = {}, Gender = {} }
    for _, r in ipairs(all_records(a .. "/records.csv")) do
      for column, set in pairs(seen) do set[r[column]] = true end
    end
    local function size(set) local n = 0 for _ in pairs(set) do n = n + 1 end return n end
    assert.is_true(size(seen["Full Name"]) > 300)
    assert.is_true(size(seen.Nationality) > 10)
    assert.is_true(size(seen.Mobile) > 900)
    assert.is_true(size(seen["Date of Birth"]) > 900)
    assert.equal(2, size(seen.Gender))
  end)

  it("writes a distinct JPEG for every image a record names", function()
    local contents, bytes = {}, 0
    for _, r in ipairs(all_records(a .. "/records.csv")) do
      for _, column in ipairs({ "Front Image", "Back Image", "Selfie" }) do
        local data = read(a .. "/images/" .. r[column])
        assert.truthy(data, r[column])
        assert.equal("\255\216\255", data:sub(1, 3))
        assert.is_nil(contents[data], r[column] .. " has the bytes of " .. tostring(contents[data]))
        contents[data] = r[column]
        bytes = bytes + #data
      end
    end
    assert.is_true(bytes < 16 * 1024 * 1024, ("%d bytes of images"):format(bytes))
  end)

  it("gives the same files for the same seed, others for another seed", function()
    assert.equal(0, (sh("diff -r " .. quote(a) .. " " .. quote(b))))
    local c = tmpdir()
    local code, out = generate(c, "--count 1000 --seed 43")
    assert.equal(0, code, out)
    assert.are_not.equal(read(a .. "/records.csv"), read(c .. "/records.csv"))
  end)

  it("passes cdp-onboard check with the example mapping's copy beside it", function()
    assert.equal(read("examples/ekyc-mapping.lua"), read(a .. "/ekyc-mapping.lua"))
    local code, out = cli({}, ("check %s/ekyc-mapping.lua %s/records.csv"):format(quote(a), quote(a)))
    assert.equal(0, code, out)
    -- (IDs expire from 2032 on: then some records have a warning, and stay valid.)
    assert.matches("^1000 records: 1000 valid %(%d+ with warnings%), 0 invalid\n$", out)
  end)

  it("writes JSON Lines with --format jsonl, the same records as the CSV", function()
    local c = tmpdir()
    local code, out = generate(c, "--count 1000 --seed 42 --format jsonl")
    assert.equal(0, code, out)
    assert.same(all_records(a .. "/records.csv"), all_records(c .. "/records.jsonl"))
    code, out = cli({}, ("check -q %s/ekyc-mapping.lua %s/records.jsonl"):format(quote(c), quote(c)))
    assert.equal(0, code, out)
    assert.matches("1000 records: 1000 valid", out)
  end)

  it("exits 2 for a bad --count or --format and without --out", function()
    local code, out = generate(tmpdir(), "--count 0")
    assert.equal(2, code)
    assert.matches("%-%-count takes a number", out)
    code, out = generate(tmpdir(), "--format xml")
    assert.equal(2, code)
    assert.matches("format", out)
    code, out = sh(LUA .. " examples/generate.lua --count 3")
    assert.equal(2, code)
    assert.matches("%-%-out", out)
  end)

  it("is accepted by the sandbox: every record onboarded", function()
    local sb = sandbox.start { workers = 1 }
    local c = tmpdir()
    local code, out = generate(c, "--count 40 --seed 7")
    assert.equal(0, code, out)
    code, out = cli(sb.env, ("submit %s/ekyc-mapping.lua %s/records.csv --journal %s/journal.jsonl")
      :format(quote(c), quote(c), quote(c)))
    local counters = sb:counters()
    sb:stop()
    assert.equal(0, code, out)
    assert.equal(40, counters.customers.created)
    assert.equal(0, counters.customers.duplicates or 0)
    assert.equal(40, counters.calls["/caas-lcm/api/v1/CAAS/onBoarding/customer"])
  end)
end)
