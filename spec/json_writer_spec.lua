-- cdp.json, the ordered writer behind render and parts: escapes, numbers,
-- nulls, empty arrays, key order, and document parts between strings.
local cjson = require "cjson"
local json = require "cdp.json"

-- A small schema of its own, so the writer is tested apart from the API's.
local function object(fields)
  local by_name = {}
  for i, f in ipairs(fields) do f.index, by_name[f.name] = i, f end
  return { type = "object", fields = fields, by_name = by_name }
end

local SPEC = object {
  { name = "zeta", type = "string" },
  { name = "alpha", type = "integer" },
  { name = "list", type = "array", items = { type = "string" } },
  { name = "photo", type = "document" },
  { name = "gone", type = "string" },
  { name = "nothing", type = "string" },
}

local function as_part(out, doc)
  out:put('{"b64":"')
  out:part(doc)
  out:put('"}')
end

describe("cdp.json.string", function()
  it("escapes quotes, backslashes and every control character, DEL included", function()
    assert.equal([["a\"b\\c"]], json.string('a"b\\c'))
    assert.equal([["\n\r\t\b\f"]], json.string("\n\r\t\b\f"))
    assert.equal([["\u0000\u0001\u001f\u007f"]], json.string("\0\1\31\127"))
    for byte = 0, 127 do
      local s = string.char(byte)
      assert.equal(s, cjson.decode("[" .. json.string(s) .. "]")[1])
    end
  end)

  it("writes UTF-8 as it is, / unescaped", function()
    local text = "Zo\195\171 \226\128\168 / \240\159\152\128"  -- ë, U+2028, an emoji
    assert.equal('"' .. text .. '"', json.string(text))
  end)

  it("raises on invalid UTF-8 rather than send text the CDP cannot read", function()
    for _, bad in ipairs({ "\255", "a\195", "\192\175", "\237\160\128", "\244\144\128\128" }) do
      assert.has_error(function() json.string(bad) end, "cdp.json: text is not valid UTF-8")
    end
    for byte = 128, 255 do  -- a lone byte above ASCII is never plain text
      assert.has_error(function() json.string(string.char(byte)) end, "cdp.json: text is not valid UTF-8")
    end
  end)
end)

describe("cdp.json writing by a schema", function()
  it("writes keys in schema order, nulls kept, absent fields left out, [] for an empty list", function()
    local text = json.encode({ alpha = 784199554586091, zeta = "z", list = {}, nothing = json.null }, SPEC)
    assert.equal('{"zeta":"z","alpha":784199554586091,"list":[],"nothing":null}', text)
  end)

  it("hands each document to the callback as a part between merged strings", function()
    local doc = setmetatable({}, { __tostring = function() return "a document" end })
    local parts = json.encode_parts({ zeta = "z", list = { "a", "b" }, photo = doc }, SPEC,
      function(out, d) as_part(out, d) end)
    assert.same({ '{"zeta":"z","list":["a","b"],"photo":{"b64":"', doc, '"}}' }, parts)
  end)

  it("closes a text before the next key, a flat document and the object's end", function()
    local FLAT = object {
      { name = "before", type = "string" },
      { name = "doc", type = "document" },
      { name = "after", type = "string" },
      { name = "count", type = "integer" },
    }
    FLAT.flat_document = "doc"
    local function flat_doc(out) out:put('"k":1') end
    assert.equal('{"before":"a","k":1,"after":"b"}',
      json.encode({ before = "a", doc = {}, after = "b" }, FLAT, flat_doc))
    assert.equal('{"k":1,"after":"b","count":2}', json.encode({ doc = {}, after = "b", count = 2 }, FLAT, flat_doc))
    assert.equal('{"before":"a\\\\","count":2}', json.encode({ before = "a\\", count = 2 }, FLAT))
    assert.equal('{"after":"","count":null}', json.encode({ after = "", count = json.null }, FLAT))
    assert.equal("{}", json.encode({}, FLAT))
  end)

  it("writes numbers as json.number does, small whole ones and -0 too", function()
    for _, n in ipairs({ 0, -0.0, 1, 4, 4.0, 101, 1023, 1024, -1, 0.5, 2 ^ 53, 784199554586091 }) do
      assert.equal('{"alpha":' .. json.number(n) .. "}", json.encode({ alpha = n }, SPEC))
    end
    assert.equal('{"alpha":-0}', json.encode({ alpha = -0.0 }, SPEC))
  end)

  it("writes fields an __index gives and leaves out keys the schema does not have", function()
    local value = setmetatable({ zeta = "z", extra = "x" }, { __index = { alpha = 1, unknown = 2 } })
    assert.equal('{"zeta":"z","alpha":1}', json.encode(value, SPEC))
  end)

  it("refuses a document in a plain string encode", function()
    assert.has_error(function()
      json.encode({ photo = {} }, SPEC, function(out, d) as_part(out, d) end)
    end, "cdp.json.encode: a document part in a string encode")
  end)
end)
