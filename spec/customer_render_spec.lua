-- customer:render() is the same text, byte for byte, under Lua 5.4 and
-- LuaJIT: compared with renders checked in under spec/fixtures/. After an
-- intended change to render, rewrite them with
--   CDP_WRITE_FIXTURES=1 make test-5.4 SPEC=spec/customer_render_spec.lua
-- and review the diff.
local cdp = require "cdp"
local cjson = require "cjson"
local files = require "helpers.files"
local example_customer = require "fixtures.example_customer"

local IMAGES = "examples/images"
local base64 = files.base64
local function read(path) return (assert(files.read(path), "cannot read " .. path)) end

-- The example with every cdp.file replaced by the API's own shape.
local function as_raw_documents(t)
  local function raw(doc)
    return { base64_data = base64(read(doc.path)), content_type = "image/jpeg" }
  end
  for _, item in ipairs(t.additional_docs) do
    local r = raw(item.document)
    item.document, item.base64_data, item.content_type = nil, r.base64_data, r.content_type
  end
  for _, id in ipairs(t.id_details) do
    id.id_front, id.id_back = raw(id.id_front), raw(id.id_back)
  end
  t.customer_classification.profile_photo = raw(t.customer_classification.profile_photo)
  return t
end

local function matches_fixture(text, path)
  if os.getenv("CDP_WRITE_FIXTURES") then
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
  end
  assert.equal(read(path), text)
end

-- Values that lua-cjson or a careless writer gets wrong: text to escape and
-- trim, a 15-digit ID number given as a Lua number, explicit nulls, empty
-- arrays, a zip as digit text and as a float, CSV booleans, country names.
local function tricky()
  local t = example_customer(IMAGES)
  t.first_name = "  Zo\195\171 \"\197\189\" O'Brien\t"
  t.middle_name = cdp.null
  t.mothers_maiden_name = "line1\nline2\1\127 \\ /"
  t.id_details[1].id_number = 784199554586091
  t.id_details[2] = nil
  t.additional_docs = {}
  t.address_list[1].zip = "40000"
  t.address_list[2].zip = 13345.0
  t.customer_classification.social_links = {}
  t.customer_classification.tax_registration_number = "123"
  t.political_exposed_person = "0"
  t.nationality = "ind"
  t.second_nationality = "United Kingdom"
  return t
end

describe("customer:render under both ABIs", function()
  it("renders the document's example as spec/fixtures/example-render.json", function()
    local c = assert(cdp.customer(example_customer(IMAGES), { today = "2023-01-01" }))
    matches_fixture(c:render(), "spec/fixtures/example-render.json")
  end)

  it("renders documents given as base64 with the same placeholders as the files they came from", function()
    local raw = as_raw_documents(example_customer(IMAGES))
    local c = assert(cdp.customer(raw, { today = "2023-01-01" }))
    assert.equal(read("spec/fixtures/example-render.json"), c:render())
  end)

  it("decodes base64 with one, two or no padding characters for the placeholder", function()
    for _, bytes in ipairs({ "\255\216\255a", "\255\216\255ab", "\255\216\255abc" }) do
      local from_bytes = example_customer(IMAGES)
      from_bytes.customer_classification.profile_photo = cdp.bytes(bytes, "image/jpeg")
      local from_base64 = example_customer(IMAGES)
      from_base64.customer_classification.profile_photo = { base64_data = base64(bytes), content_type = "image/jpeg" }
      local shown = cjson.decode(assert(cdp.customer(from_base64, { today = "2023-01-01" })):render())
      assert.same(cjson.decode(assert(cdp.customer(from_bytes, { today = "2023-01-01" })):render()), shown)
      assert.equal(#bytes, shown.customer_classification.profile_photo.size)
    end
  end)

  it("renders escapes, exact integers, nulls and empty arrays as spec/fixtures/tricky-render.json", function()
    local c = assert(cdp.customer(tricky(), { today = "2023-01-01" }))
    local text = c:render()
    matches_fixture(text, "spec/fixtures/tricky-render.json")
    local back = cjson.decode(text)
    assert.equal("Zo\195\171 \"\197\189\" O'Brien", back.first_name)
    assert.equal("line1\nline2\1\127 \\ /", back.mothers_maiden_name)
    assert.equal(cjson.null, back.middle_name)
    assert.equal("IN", back.nationality)
    assert.equal("GB", back.second_nationality)
    assert.is_false(back.political_exposed_person)
    assert.matches('"id_number":"784199554586091"', text, 1, true)
    assert.matches('"additional_docs":[]', text, 1, true)
    assert.matches('"social_links":[]', text, 1, true)
    assert.matches('"zip":"40000"', text, 1, true)
    assert.matches('"zip":13345,', text, 1, true)
    assert.matches('"tax_registration_number":123,', text, 1, true)
  end)

  it("puts the same JSON on the wire as it renders, documents aside", function()
    local c = assert(cdp.customer(tricky(), { today = "2023-01-01" }))
    local body = {}
    for _, part in ipairs(c:parts()) do
      body[#body + 1] = type(part) == "string" and part or "QUJD"
    end
    local wire, shown = cjson.decode(table.concat(body)), cjson.decode(c:render())
    wire.id_details[1].id_front, shown.id_details[1].id_front = nil, nil
    wire.id_details[1].id_back, shown.id_details[1].id_back = nil, nil
    wire.customer_classification.profile_photo, shown.customer_classification.profile_photo = nil, nil
    assert.same(shown, wire)
  end)
end)
