local records = require "cdp.records"

local function write(name, content)
  local base = os.tmpname()
  os.remove(base)
  local path = base .. name
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
  return path
end

local function read_all(path)
  local out = {}
  for number, rec, problem in records.each(path) do
    out[#out + 1] = { number = number, rec = rec, problem = problem }
  end
  os.remove(path)
  return out
end

describe("records from CSV", function()
  it("reads quoted fields with commas, doubled quotes, newlines, CRLF and a BOM", function()
    local got = read_all(write(".csv", table.concat({
      "\239\187\191Full Name,Address,Note\r\n",
      '"Bashir, Zafar","Villa 3\r\nStreet 5","said ""hi"""\r\n',
      "Ana,,plain\r\n",
      "\r\n",
      'Émile,"x",""\n',
    })))
    assert.equal(3, #got)
    local first = { ["Full Name"] = "Bashir, Zafar", Address = "Villa 3\nStreet 5", Note = 'said "hi"' }
    assert.same(first, got[1].rec.fields)
    assert.equal(2, got[1].rec.line)
    assert.same({ ["Full Name"] = "Ana", Address = "", Note = "plain" }, got[2].rec.fields)
    assert.equal(4, got[2].rec.line)
    assert.equal("Émile", got[3].rec.fields["Full Name"])
    assert.equal(3, got[3].number)
    assert.equal(6, got[3].rec.line)
  end)

  it("reports malformed records by number and line, and goes on", function()
    local got = read_all(write(".csv", "a,b\n1,2,3\nx\"y,2\n\"q\"z,1\n\xff\xfe,1\nok,fine\n"))
    assert.equal(5, #got)
    assert.same({ 1, 2 }, { got[1].problem.number, got[1].problem.line })
    assert.matches("3 fields where the header has 2", got[1].problem.message)
    assert.matches("stray quote", got[2].problem.message)
    assert.matches("text after closing quote", got[3].problem.message)
    assert.matches('column "a" is not valid UTF%-8', got[4].problem.message)
    assert.same({ a = "ok", b = "fine" }, got[5].rec.fields)
  end)

  it("stops at an unterminated quote", function()
    local got = read_all(write(".csv", 'a,b\n1,"open\n2,3\n'))
    assert.equal(1, #got)
    assert.is_true(got[1].problem.fatal)
    assert.matches("unterminated", got[1].problem.message)
  end)

  it("refuses a bad header", function()
    local got = read_all(write(".csv", "a,,a\n1,2,3\n"))
    assert.equal(1, #got)
    assert.equal(0, got[1].number)
    assert.matches("header column 2 is empty", got[1].problem.message)
  end)

  it("splits lines without quotes at every comma: empty fields, a trailing empty field", function()
    local got = read_all(write(".csv", "a,b,c,d\na,,b,\n,,,\nx,y,z,\r\n1,2,3\n1,2,3,4,5\n"))
    assert.equal(5, #got)
    assert.same({ a = "a", b = "", c = "b", d = "" }, got[1].rec.fields)
    assert.same({ a = "", b = "", c = "", d = "" }, got[2].rec.fields)
    assert.same({ a = "x", b = "y", c = "z", d = "" }, got[3].rec.fields)
    assert.same({ number = 4, line = 5, message = "3 fields where the header has 4" }, got[4].problem)
    assert.same({ number = 5, line = 6, message = "5 fields where the header has 4" }, got[5].problem)
  end)

  it("reads quoted and unquoted fields mixed on one line, and CRLF inside and after quotes", function()
    local got = read_all(write(".csv", table.concat({
      "a,b,c,d\r\n",
      'plain,"q, 1",,"x""y"\r\n',
      '"",mid,"",\r\n',
      '"two\r\nlines",b,"c\n""d""",\n',
      'x,"y",z,"w"\r\n',
    })))
    assert.equal(4, #got)
    assert.same({ a = "plain", b = "q, 1", c = "", d = 'x"y' }, got[1].rec.fields)
    assert.same({ a = "", b = "mid", c = "", d = "" }, got[2].rec.fields)
    assert.same({ a = "two\nlines", b = "b", c = 'c\n"d"', d = "" }, got[3].rec.fields)
    assert.same({ 3, 4 }, { got[3].number, got[3].rec.line })
    assert.same({ a = "x", b = "y", c = "z", d = "w" }, got[4].rec.fields)
    assert.same({ 4, 7 }, { got[4].number, got[4].rec.line })
  end)

  it("names the field of a quote problem, quotes or no quotes before it", function()
    local got = read_all(write(".csv", 'a,b,c\n1,2"x,3\n"1",2,3"\n1,"2"x,3\n"1","2",""3\n1,2,"3\n4\n'))
    local messages = {}
    for i, g in ipairs(got) do messages[i] = g.problem.message end
    assert.same({
      "stray quote in field 2 (quote the whole field and double inner quotes)",
      "stray quote in field 3 (quote the whole field and double inner quotes)",
      "text after closing quote in field 2",
      "text after closing quote in field 3",
      "unterminated quote in field 3, which runs to the end of the file (lines 6 to 7 skipped)",
    }, messages)
    assert.same({ 1, 2, 3, 4, 5 }, { got[1].problem.number, got[2].problem.number, got[3].problem.number,
      got[4].problem.number, got[5].problem.number })
    assert.is_true(got[5].problem.fatal)
  end)

  it("keeps valid UTF-8 beyond ASCII, quoted or not", function()
    local got = read_all(write(".csv", "name,city\nÉmile Zoë,\"العين, 🌴\"\n李雷,Dubai ✓\n"))
    assert.equal(2, #got)
    assert.same({ name = "Émile Zoë", city = "العين, 🌴" }, got[1].rec.fields)
    assert.same({ name = "李雷", city = "Dubai ✓" }, got[2].rec.fields)
  end)

  it("names the column and byte of invalid UTF-8, quoted or not, and keeps the valid cells", function()
    local got = read_all(write(".csv", table.concat({
      "id,name,note\n",
      "1,ok\xff,fine\n",                -- an invalid byte, no quotes on the line
      "2,é,\xed\xa0\x80\n",             -- a surrogate
      "3,\xc0\xaf,\xf4\x90\x80\x80\n",   -- an overlong form, then a code point above U+10FFFF
      '4,"ab\xe2\x82",x\n',               -- a sequence cut short, in quotes
      '5,"two\nlines \xc3",y\n',          -- a record of two lines
      "6,\xc3\xa9\xe2\x82\xac,z\n",       -- valid: é€
    })))
    assert.equal(6, #got)
    assert.same({ number = 1, line = 2, message = 'column "name" is not valid UTF-8 (byte 3)',
      fields = { id = "1", note = "fine" } }, got[1].problem)
    assert.same({ number = 2, line = 3, message = 'column "note" is not valid UTF-8 (byte 1)',
      fields = { id = "2", name = "é" } }, got[2].problem)
    assert.same({ number = 3, line = 4, message = 'column "name" is not valid UTF-8 (byte 1)',
      fields = { id = "3" } }, got[3].problem)
    assert.same({ number = 4, line = 5, message = 'column "name" is not valid UTF-8 (byte 3)',
      fields = { id = "4", note = "x" } }, got[4].problem)
    assert.same({ number = 5, line = 6, message = 'column "name" is not valid UTF-8 (byte 11)',
      fields = { id = "5", note = "y" } }, got[5].problem)
    assert.same({ id = "6", name = "é€", note = "z" }, got[6].rec.fields)
  end)

  it("checks UTF-8 sequence by sequence, naming the first bad byte", function()
    local cases = {
      { "plain ascii", true }, { "", true }, { "é€😀", true }, { "\xf4\x8f\xbf\xbf", true },
      { "\xef\xbf\xbf", true }, { "a\0b", true },
      { "ab\x80", false, 3 }, { "\xc1\xbf", false, 1 }, { "\xe0\x9f\xbf", false, 1 },
      { "x\xf0\x8f\xbf\xbf", false, 2 }, { "\xed\xbf\xbf", false, 1 }, { "\xf4\x90\x80\x80", false, 1 },
      { "é\xf5\x80\x80\x80", false, 3 }, { "ab\xe2\x82", false, 3 }, { "\xc3(", false, 1 },
      { "\xf8\x88\x80\x80\x80", false, 1 },
    }
    for _, case in ipairs(cases) do
      local ok, at = records.valid_utf8(case[1])
      assert.same({ case[2], case[3] }, { ok, at }, ("%q"):format(case[1]))
    end
  end)

  it("yields nothing for an empty file", function()
    assert.same({}, read_all(write(".csv", "")))
  end)
end)

describe("records from JSON Lines", function()
  it("reads objects, skips blank lines, reports bad lines", function()
    local got = read_all(write(".jsonl", '{"id":"1","n":784199554586091}\n\n[1]\n{bad\n"\xc3\x28"\n{"id":"2"}\n'))
    assert.equal(5, #got)
    assert.equal("1", got[1].rec.fields.id)
    assert.matches("must be a JSON object", got[2].problem.message)
    assert.equal(3, got[2].problem.line)
    assert.matches("invalid JSON", got[3].problem.message)
    assert.matches("not valid UTF%-8", got[4].problem.message)
    assert.same({ 5, 6 }, { got[5].number, got[5].rec.line })
  end)
end)

describe("records.open", function()
  it("returns nil, message for unknown formats and missing files; raises on misuse", function()
    local it, err = records.open("x.xlsx")
    assert.is_nil(it)
    assert.matches("unknown input format", err)
    it, err = records.open("/no/such/file.csv")
    assert.is_nil(it)
    assert.matches("No such file", err)
    assert.has_error(function() records.open(42) end)
  end)
end)
