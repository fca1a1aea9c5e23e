-- core.json_parts, the C writer of the onboarding body: the same parts as
-- cdp.json's Lua writer (the reference) for every value, well-formed or not,
-- and the same errors.
local core = require "cdp.core"
local json = require "cdp.json"
local schema = require "cdp.schema"
local cdp = require "cdp"
local example_customer = require "fixtures.example_customer"

local NULL = json.null

local function object(fields, flat_document)
  return { type = "object", fields = fields, flat_document = flat_document }
end

local SPEC = object {
  { name = "text", type = "string" },
  { name = "whole", type = "integer" },
  { name = "number", type = "number" },
  { name = "flag", type = "boolean" },
  { name = "list", type = "array", items = { type = "string" } },
  { name = "rows", type = "array",
    items = object({ { name = "a", type = "string" }, { name = "d", type = "document" } }) },
  { name = "inner", type = "object",
    fields = { { name = "x", type = "integer" }, { name = "doc", type = "document" } } },
  { name = "photo", type = "document" },
  { name = "attached", type = "object", flat_document = "document",
    fields = { { name = "document", type = "document" }, { name = "document_id", type = "string" } } },
  { name = "quote\"key", type = "string" },
}

-- A document is the text before its bytes, itself, and the text after.
local function pieces(doc, flat)
  if type(doc) == "table" and doc.raw then return (flat and "" or "{") .. '"raw":1' .. (flat and "" or "}") end
  return flat and '"b64":"' or '{"b64":"', doc, flat and '"' or '"}'
end

-- The reference: cdp.json's writer with the same documents.
local function lua_parts(value, spec)
  return json.encode_parts(value, spec, function(out, doc, flat)
    local before, part, after = pieces(doc, flat)
    out:put(before)
    if part ~= nil then out:part(part) end
    if after then out:put(after) end
  end)
end

local function c_parts(value, spec)
  return core.json_parts(value, spec, NULL, pieces, json.number)
end

-- The same with cdp.document's metatable: for values holding none of its
-- documents (strings have a metatable of their own), all left to `pieces`.
local function c_parts_knowing_documents(value, spec)
  return core.json_parts(value, spec, NULL, pieces, json.number, require("cdp.document")._metatable)
end

-- Both writers' outcome: the parts, or the error without its position.
local function outcome(write, value, spec)
  local ok, result = pcall(write, value, spec)
  if ok then return { ok = true, parts = result } end
  return { ok = false, message = (tostring(result):gsub("^[^:\n]*:%d+: ", "")) }
end

local function same_as_lua(value, spec, has_documents)
  spec = spec or SPEC
  local expected, got = outcome(lua_parts, value, spec), outcome(c_parts, value, spec)
  assert.are.same(expected, got)
  if not has_documents then assert.are.same(expected, outcome(c_parts_knowing_documents, value, spec)) end
  return got
end

describe("core.json_parts", function()
  it("writes the example customer's body as the Lua writer does, documents as parts", function()
    local c = assert(cdp.customer(example_customer("examples/images")))
    local got = same_as_lua(c.data, schema.customer, true)
    assert.is_true(got.ok)
    local documents = 0
    for _, p in ipairs(got.parts) do
      if type(p) ~= "string" then documents = documents + 1 end
    end
    assert.is_true(documents >= 3)
    assert.are.same(c:parts(), core.json_parts(c.data, schema.customer, NULL, function(doc, flat)
      local open = flat and '"base64_data":"' or '{"base64_data":"'
      return open, doc, '","content_type":' .. json.string(doc.content_type) .. (flat and "" or "}")
    end, json.number))
  end)

  it("escapes texts, keeps UTF-8, keys in schema order, nulls, empty lists and objects", function()
    local got = same_as_lua({
      ["quote\"key"] = "k", text = 'a"b\\c\n\r\t\b\f\0\1\31\127 Zo\195\171 \226\128\168 \240\159\152\128 /',
      whole = 784199554586091, flag = false, list = {}, inner = {}, number = NULL, unknown = "left out",
    })
    assert.are.same({ '{"text":"a\\"b\\\\c\\n\\r\\t\\b\\f\\u0000\\u0001\\u001f\\u007f Zo\195\171 \226\128\168 '
      .. '\240\159\152\128 /","whole":784199554586091,"number":null,"flag":false,"list":[],"inner":{},'
      .. '"quote\\"key":"k"}' }, got.parts)
  end)

  it("writes texts longer than its first buffer (4 KiB), between documents too", function()
    local long = ("x\n"):rep(5000)  -- 15,000 bytes escaped, twice
    local got = same_as_lua({ text = long, photo = "P", attached = { document = "D", document_id = long } })
    assert.equal(5, #got.parts)  -- text, "P", text, "D", text
    assert.is_true(#got.parts[1] > 15000 and #got.parts[5] > 15000)
  end)

  it("writes numbers as cdp.json.number does", function()
    for _, n in ipairs({ 0, -0.0, 1, -1, 4.0, 0.1, 1 / 3, -2.5, 2 ^ 53, 2 ^ 53 + 2, 2 ^ 63, -2 ^ 63, 1e16,
      1e21, 1e300, 5e-324, math.maxinteger or 2 ^ 62, math.mininteger or -2 ^ 62 }) do
      same_as_lua({ number = n, whole = n })
    end
  end)

  it("hands documents over in place: in a list, nested, flat and null", function()
    local got = same_as_lua({
      photo = "P", rows = { { a = "x", d = "D1" }, { d = NULL }, {} },
      inner = { x = 3, doc = "D2" }, attached = { document = "D3", document_id = "7" },
    })
    assert.are.same({ '{"rows":[{"a":"x","d":{"b64":"', "D1", '"}},{"d":null},{}],"inner":{"x":3,"doc":{"b64":"',
      "D2", '"}},"photo":{"b64":"', "P", '"},"attached":{"b64":"', "D3", '","document_id":"7"}}' }, got.parts)
    -- A document written as text only joins the text around it.
    got = same_as_lua({ photo = { raw = true }, attached = { document = { raw = true } } })
    assert.are.same({ '{"photo":{"raw":1},"attached":{"raw":1}}' }, got.parts)
  end)

  it("reads through metatables as the Lua writer does", function()
    same_as_lua(setmetatable({}, { __index = { text = "hidden", whole = 2 } }))
    local got = same_as_lua({ list = setmetatable({ "a", nil, "c" }, { __index = { [2] = "b" } }) })
    assert.is_true(got.ok)
  end)

  it("refuses what it cannot write, with the Lua writer's messages", function()
    for _, value in ipairs({
      { text = "\255" }, { text = "a\195" }, { text = "\237\160\128" }, { text = "\244\144\128\128" },
      { number = 0 / 0 }, { number = math.huge }, { number = -math.huge },
      { text = function() end }, { text = io.stdout }, { text = {} }, { list = { "a", {} } },
      { inner = { x = { 1 } } },
    }) do
      local got = same_as_lua(value)
      assert.is_false(got.ok)
    end
  end)

  it("writes cdp.document's documents itself, as customer.lua would, and others through on_document", function()
    local document = require "cdp.document"
    -- customer.lua's pieces: the type after the base64, but never for a file
    -- opened only when sent, which the C core types each time it opens it.
    local function typed_pieces(doc, flat)
      local after = not doc.opened_when_sent and '","content_type":' .. json.string(doc.content_type) or ""
      return flat and '"base64_data":"' or '{"base64_data":"', doc, after .. (flat and "" or "}")
    end
    local calls = {}
    local function counted(doc, flat)
      calls[#calls + 1] = doc
      return typed_pieces(doc, flat)
    end
    local gif = cdp.bytes("GIF89a", "image/gif")  -- not one the CDP takes: left to on_document
    local raw = { base64_data = "QUJD", content_type = "image/png" }  -- not a cdp.document
    local lookalike = setmetatable({ kind = "file", path = "x.jpg", content_type = "image/jpeg" }, {})
    local sent = document._opened_when_sent("sent.jpg")
    sent.content_type = "image/jpeg"  -- as the C core leaves it after a send: the next writes no type
    local value = {
      photo = cdp.bytes("\255\216\255\224", "image/jpeg"),
      attached = { document = cdp.bytes("%PDF-1.4", "application/pdf"), document_id = "7" },
      inner = { doc = document._opened_when_sent("later.jpg") },
      rows = { { d = cdp.bytes("\137PNG\r\n\26\n") }, { d = gif }, { d = raw }, { d = lookalike }, { d = sent } },
    }
    local by_c = core.json_parts(value, SPEC, NULL, counted, json.number, document._metatable)
    assert.are.same({ gif, raw, lookalike }, calls)
    assert.are.same(core.json_parts(value, SPEC, NULL, typed_pieces, json.number), by_c)
    local text = {}
    for _, p in ipairs(by_c) do text[#text + 1] = type(p) == "string" and p or "<doc>" end
    assert.are.equal('{"rows":[{"d":{"base64_data":"<doc>","content_type":"image/png"}},{"d":{"base64_data":"'
      .. '<doc>","content_type":"image/gif"}},{"d":{"base64_data":"<doc>","content_type":"image/png"}},'
      .. '{"d":{"base64_data":"<doc>","content_type":"image/jpeg"}},{"d":{"base64_data":"<doc>}}],'
      -- no type yet: the C core writes '","content_type":"…"' after the base64 when it sends the file
      .. '"inner":{"doc":{"base64_data":"<doc>}},'
      .. '"photo":{"base64_data":"<doc>","content_type":"image/jpeg"},'
      .. '"attached":{"base64_data":"<doc>","content_type":"application/pdf","document_id":"7"}}',
      table.concat(text))
    assert.has_error(function() core.json_parts({}, SPEC, NULL, pieces, json.number, "not a table") end)
  end)

  it("checks its arguments", function()
    assert.has_error(function() core.json_parts({}, nil, NULL, pieces, json.number) end)
    assert.has_error(function() core.json_parts({}, SPEC, NULL, nil, json.number) end)
    assert.has_error(function() core.json_parts({}, SPEC, NULL, pieces, nil) end)
  end)
end)

describe("core.json_line", function()
  it("writes a flat table of texts, whole numbers and booleans as one JSON object", function()
    local cjson = require "cjson"
    local t = { key = 'a"b\\c\n\0', n = 784199554586091, big = 2 ^ 60, neg = -7, yes = true, no = false,
      text = "Zo\195\171 /" }
    local line = core.json_line(t)
    assert.are.same(t, cjson.decode(line))
    assert.truthy(line:find('"n":784199554586091', 1, true))
    assert.truthy(line:find('"big":1152921504606846976', 1, true))
    assert.equal("{}", core.json_line({}))
    local long = { message = ("\1"):rep(3000) }  -- 18,000 bytes escaped: past its first buffer
    assert.are.same(long, cjson.decode(core.json_line(long)))
  end)

  it("returns nil for what it does not write: nested tables, fractions, other keys, invalid UTF-8", function()
    for _, t in ipairs({ { a = {} }, { a = 1.5 }, { a = 0 / 0 }, { a = math.huge }, { [1] = "x" },
      { a = "\255" }, { ["\255"] = 1 }, { a = io.stdout }, { a = function() end } }) do
      assert.is_nil(core.json_line(t))
    end
    assert.has_error(function() core.json_line("x") end)
  end)
end)
