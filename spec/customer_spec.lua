local cdp = require "cdp"
local cjson = require "cjson"
local files = require "helpers.files"
local core = require "cdp.core"
local customer = require "cdp.customer"
local example_customer = require "fixtures.example_customer"

local IMAGES = "examples/images"
local base64 = files.base64
local function read(path) return (assert(files.read(path), "cannot read " .. path)) end

-- The document's example with each {base64_data, content_type} replaced by
-- what `replace(file, object)` gives; the files are those of the Lua fixture.
local function example_with(replace)
  local t = cjson.decode(read("spec/fixtures/example-payload.json"))
  local front, back, face = IMAGES .. "/id-front.jpg", IMAGES .. "/id-back.jpg", IMAGES .. "/face.jpg"
  t.additional_docs[1] = replace(front, t.additional_docs[1])
  t.additional_docs[2] = replace(back, t.additional_docs[2])
  for _, id in ipairs(t.id_details) do
    id.id_front = replace(front, id.id_front)
    id.id_back = replace(back, id.id_back)
  end
  t.customer_classification.profile_photo = replace(face, t.customer_classification.profile_photo)
  return t
end

describe("cdp.customer with the API document's example", function()
  local c, err = cdp.customer(example_customer(IMAGES), { today = "2023-01-01" })

  it("validates, without warnings while the IDs are valid", function()
    assert.is_nil(err)
    assert.is_true(customer.is(c))
    assert.same({}, c.warnings)
  end)

  it("warns about expired IDs without refusing them", function()
    local later = assert(cdp.customer(example_customer(IMAGES), { today = "2026-11-26" }))
    assert.same({
      { path = "id_details[1].date_of_expiry", message = "the ID has expired" },
      { path = "id_details[2].date_of_expiry", message = "the ID has expired" },
    }, later.warnings)
  end)

  it("renders the document's example, documents as placeholders", function()
    local expected = example_with(function(file, object)
      local data = read(file)
      local placeholder = { content_type = "image/jpeg", size = #data, sha256 = core.sha256(data) }
      placeholder.document_id = object.document_id
      return placeholder
    end)
    assert.same(expected, cjson.decode(c:render()))
  end)

  it("writes keys in the document's order, integers exact and nulls kept", function()
    local keys_of = function(text)
      local keys = {}
      for key in text:gmatch('"([%w_]+)"%s*:') do keys[#keys + 1] = key end
      return keys
    end
    local wire = {}
    for _, p in ipairs(c:parts()) do wire[#wire + 1] = type(p) == "string" and p or "QUJD" end
    wire = table.concat(wire)
    assert.same(keys_of(read("spec/fixtures/example-payload.json")), keys_of(wire))
    assert.matches('"po_box":null', wire)
    assert.matches('"zip":0,', wire)
    assert.matches('"tax_registration_number":123,', wire)
  end)

  it("gives parts whose concatenation with real base64 is the example with the images", function()
    local body = {}
    for _, p in ipairs(c:parts()) do
      if type(p) == "string" then body[#body + 1] = p
      else body[#body + 1] = base64(read(p.path)) end
    end
    local expected = example_with(function(file, object)
      return { base64_data = base64(read(file)), content_type = "image/jpeg", document_id = object.document_id }
    end)
    assert.same(expected, cjson.decode(table.concat(body)))
  end)

  it("leaves a file opened only when sent without its type, for the C core to write after the base64", function()
    local document = require "cdp.document"
    local t = example_customer(IMAGES)
    local function lazy(v)
      if document.is(v) then return document._opened_when_sent(v.path) end
      if type(v) ~= "table" then return v end
      local out = {}
      for k, x in pairs(v) do out[k] = lazy(x) end
      return out
    end
    local later = assert(cdp.customer(lazy(t), { today = "2023-01-01" }))
    -- What the C core sends for each: the base64, then the type it found.
    local sent, docs = {}, 0
    for _, p in ipairs(later:parts()) do
      if type(p) == "string" then sent[#sent + 1] = p
      else
        assert.is_nil(p.content_type)
        docs = docs + 1
        sent[#sent + 1] = base64(read(p.path)) .. '","content_type":"image/jpeg"'
      end
    end
    assert.equal(7, docs)  -- flat ones (additional_docs) too
    local body = {}
    for _, p in ipairs(c:parts()) do
      body[#body + 1] = type(p) == "string" and p or base64(read(p.path))
    end
    assert.equal(table.concat(body), table.concat(sent))
  end)

  it("accepts the API's own shape of documents and renders the same JSON values", function()
    local raw = example_with(function(file, object)
      return { base64_data = base64(read(file)), content_type = "image/jpeg", document_id = object.document_id }
    end)
    raw.address_list[1].po_box = cdp.null
    local built = assert(cdp.customer(raw, { today = "2023-01-01" }))
    local body = table.concat(built:parts())
    assert.same(raw, cjson.decode(body))
  end)
end)

describe("cdp.customer coercions", function()
  local function build(changes)
    local t = example_customer(IMAGES)
    changes(t)
    return cdp.customer(t, { today = "2023-01-01" })
  end

  it("sends an ID number given as a Lua number as its exact digits", function()
    local c = assert(build(function(t) t.id_details[1].id_number = 784199554586091 end))
    assert.equal("784199554586091", c.data.id_details[1].id_number)
    assert.matches('"id_number":"784199554586091"', c:render())
  end)

  it("turns CSV text into booleans and integers, and trims", function()
    local c = assert(build(function(t)
      t.political_exposed_person = "FALSE"
      t.id_details[1].active_status = "1"
      t.resident_type_id = " 101 "
      t.first_name = "  IRFAN  "
    end))
    assert.is_false(c.data.political_exposed_person)
    assert.is_true(c.data.id_details[1].active_status)
    assert.equal(101, c.data.resident_type_id)
    assert.equal("IRFAN", c.data.first_name)
    assert.matches('"resident_type_id":101,', c:render())
  end)

  it("turns country names and alpha-3 codes into alpha-2", function()
    local c = assert(build(function(t)
      t.nationality = "India"
      t.country_of_residence = "are"
      t.address_list[2].country = "in"
    end))
    local got = { c.data.nationality, c.data.country_of_residence, c.data.address_list[2].country }
    assert.same({ "IN", "AE", "IN" }, got)
  end)

  it("accepts what production partners send, with warnings where it looks wrong", function()
    local c = assert(build(function(t)
      t.middle_name = ""
      t.second_nationality = cdp.null
      t.additional_docs = {}
      t.address_list[1].zip = "40000"
      t.address_list[1].mobile_number = "03-2142 1234"
      t.phone_number = "0321421234"
    end))
    assert.equal("", c.data.middle_name)
    assert.equal("40000", c.data.address_list[1].zip)
    local text = c:render()
    assert.matches('"second_nationality":null', text)
    assert.matches('"additional_docs":%[%]', text)
    assert.matches('"zip":"40000"', text)
    assert.same({
      { path = "phone_number", message = "local number without a country code; E.164 (+…) expected" },
      { path = "address_list[1].mobile_number", message = "local number without a country code; E.164 (+…) expected" },
    }, c.warnings)
  end)

  it("runs partner rules after the schema checks, with the record", function()
    local seen
    local t = example_customer(IMAGES)
    local c, err = cdp.customer(t, {
      today = "2023-01-01", record = { branch = "DXB" },
      rules = {
        function(data, record) seen = record.branch; return data.channel == "WEB" end,
        function(data) return data.gender == "Female", "only Female in this test" end,
        function() error("boom") end,
      },
    })
    assert.is_nil(c)
    assert.equal("DXB", seen)
    assert.equal(2, #err.errors)
    assert.same({ path = "rules[2]", message = "only Female in this test" }, err.errors[1])
    assert.equal("rules[3]", err.errors[2].path)
    assert.matches("^rule raised an error: .*boom$", err.errors[2].message)
  end)

  it("raises on misuse", function()
    assert.has_error(function() cdp.customer("x") end)
    assert.has_error(function() cdp.customer({}, { rules = { 1 } }) end)
  end)
end)
