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
