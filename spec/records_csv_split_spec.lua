-- The C core's CSV line splitter (core.csv_split, used by cdp.records for
-- every line) against the Lua reader it stands in for, on crafted and on
-- random lines, and its UTF-8 check against Lua's.
local core = require "cdp.core"
local records = require "cdp.records"

-- What the C splitter gives, in the Lua reader's terms.
local function c_split(line, names)
  local fields, count, extra = core.csv_split(line, names, {})
  if fields == false then return "runs on" end
  if fields == nil then
    return nil, (count == "stray quote"
      and "stray quote in field %d (quote the whole field and double inner quotes)"
      or "text after closing quote in field %d"):format(extra)
  end
  return fields, count
end

local function lua_split(line, names)
  local fields, count, ran_on = records._lua_csv_line(line, names)
  if ran_on then return "runs on" end
  return fields, count
end

local NAMES = { "a", "b", "c" }

local function same(line)
  local cf, cn = c_split(line, NAMES)
  local lf, ln = lua_split(line, NAMES)
  assert.are.same({ lf, ln }, { cf, cn }, ("line %q"):format(line))
end

describe("core.csv_split", function()
  it("splits as the Lua reader does: plain, quoted, doubled quotes, empty and extra fields", function()
    local fields, count, utf8_ok = core.csv_split('x,"y, ""z""",,w', NAMES, {})
    assert.are.same({ a = "x", b = 'y, "z"', c = "", [4] = "w" }, fields)
    assert.are.equal(4, count)
    assert.is_true(utf8_ok)
    for _, line in ipairs({
      "", ",", ",,", "x", "x,", ",x", '""', '"",""', '"a""b"', '"a,b",c', 'a,"b"', '"x"y', 'x"y',
      '"x" ,y', 'a,b"', '"""', '""""', '"a""', 'a,"b""c",d', '"', 'a,"', '"a', "a,b,c,d,e,f",
    }) do
      same(line)
    end
  end)

  it("leaves a quote that runs past the line to the Lua reader", function()
    assert.are.equal("runs on", (c_split('a,"b', NAMES)))
    assert.are.equal("runs on", (c_split('"a""', NAMES)))
    assert.are.equal("runs on", (lua_split('"a""', NAMES)))
  end)

  it("reads lines longer than its stack buffer", function()
    local long = ("y"):rep(5000)
    local line = ('"%s""q",%s'):format(long, long)
    local fields = core.csv_split(line, NAMES, {})
    assert.are.equal(long .. '"q', fields.a)
    assert.are.equal(long, fields.b)
    same(line)
  end)

  it("agrees with the Lua reader on 20,000 random lines", function()
    local alphabet = { "a", "b", ",", ",", '"', '"', '""', " ", "\r", "é", "\255", "\0" }
    math.randomseed(7)
    for _ = 1, 20000 do
      local parts = {}
      for i = 1, math.random(0, 14) do parts[i] = alphabet[math.random(#alphabet)] end
      same(table.concat(parts))
    end
  end)

  it("checks UTF-8 as Lua 5.4's utf8.len does, whatever the line's length", function()
    local cases = {
      "", "plain ascii text", "é", "日本", "😀", "\0", "\127",
      "\192\128", "\193\191", "\224\159\191", "\237\160\128", "\237\159\191", "\240\143\191\191",
      "\244\144\128\128", "\244\143\191\191", "\245\128\128\128", "\255", "\128", "\195", "\226\130",
      "abcdefgh\195\169", "abcdefghijklmnop\128", ("x"):rep(64) .. "\240\159\152",
    }
    -- Code points written as UTF-8 (surrogates and all), then one byte of
    -- every other text changed at random.
    local function encode(cp)
      if cp < 0x80 then return string.char(cp) end
      if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
      if cp < 0x10000 then
        return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
      end
      return string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
        0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
    end
    local ranges = { 0x7F, 0x7FF, 0xFFFF, 0x10FFFF }
    math.randomseed(11)
    for n = 1, 4000 do
      local chars = {}
      for i = 1, math.random(0, 12) do chars[i] = encode(math.random(0, ranges[math.random(#ranges)])) end
      local s = table.concat(chars)
      if n % 2 == 0 and #s > 0 then
        local at = math.random(#s)
        s = s:sub(1, at - 1) .. string.char(math.random(0, 255)) .. s:sub(at + 1)
      end
      cases[#cases + 1] = s
    end
    local invalid = 0
    for _, s in ipairs(cases) do
      local want = records._utf8_scan(s)
      if _VERSION == "Lua 5.4" then assert.are.equal(want, utf8.len(s) ~= nil, ("%q"):format(s)) end
      assert.are.equal(want, core.utf8_valid(s), ("%q"):format(s))
      if not want then invalid = invalid + 1 end
    end
    assert.is_true(invalid > 500 and invalid < #cases - 500, invalid .. " invalid")  -- many of both kinds
  end)
end)
