-- What the validator's and the writer's shortcuts could get wrong: answers
-- kept per field, objects visited by their own keys (and done again in
-- schema order on any problem), text taken as it is when already clean, and
-- the writer's plain-text test and its reused text list.
local cdp = require "cdp"
local document = require "cdp.document"
local json = require "cdp.json"
local schema = require "cdp.schema"
local validate = require "cdp.validate"
local example_customer = require "fixtures.example_customer"

local IMAGES = "examples/images"

local function build(edit, opts)
  local t = example_customer(IMAGES)
  if edit then edit(t) end
  return cdp.customer(t, opts or { today = "2023-01-01" })
end

local function paths(list)
  local out = {}
  for i, e in ipairs(list) do out[i] = e.path .. ": " .. e.message end
  return out
end

describe("cdp.validate answers kept per field", function()
  it("gives the same normalized value every time a text comes again", function()
    for _ = 1, 3 do
      local c = assert(build(function(t)
        t.nationality, t.gender, t.country_of_residence = "  ind ", "female", "United Arab Emirates"
      end))
      assert.equal("IN", c.data.nationality)
      assert.equal("Female", c.data.gender)
      assert.equal("AE", c.data.country_of_residence)
    end
  end)

  it("keeps what one field made of a text away from another field", function()
    -- "ind" is India at nationality, and stays "ind" at a city (no format).
    local c = assert(build(function(t) t.nationality = "ind" t.address_list[1].city = "ind" end))
    assert.equal("IN", c.data.nationality)
    assert.equal("ind", c.data.address_list[1].city)
    -- "male" is an enum spelling at gender, not a country at nationality.
    local _, err = build(function(t) t.gender = "male" t.nationality = "male" end)
    assert.same({ 'nationality: not an ISO 3166 country: "male"' }, paths(err.errors))
  end)

  it("reports a bad text every time, after the same text was fine elsewhere", function()
    assert(build(function(t) t.first_name = "Atlantis" end))
    for _ = 1, 2 do
      local _, err = build(function(t) t.nationality = "Atlantis" end)
      assert.same({ 'nationality: not an ISO 3166 country: "Atlantis"' }, paths(err.errors))
    end
  end)

  it("warns of a local phone number every time, not only the first", function()
    for _ = 1, 3 do
      local c = assert(build(function(t) t.phone_number = "04 123 4567" end))
      assert.equal("041234567", c.data.phone_number)
      assert.same({ "phone_number: local number without a country code; E.164 (+…) expected" }, paths(c.warnings))
    end
  end)

  it("keeps a number given for text apart from the same digits as text", function()
    local c = assert(build(function(t) t.updated_by = 1234 end))
    assert.equal("1234", c.data.updated_by)
    c = assert(build(function(t) t.updated_by = " 1234 " end))
    assert.equal("1234", c.data.updated_by)
    local _, err = build(function(t) t.updated_by = 1.5 end)
    assert.same({ "updated_by: a number with a fraction where text is expected; give it as text" }, paths(err.errors))
  end)

  it("keeps no more than 256 texts a field, and answers the same past that", function()
    local field = schema.customer.by_name.nationality
    for i = 1, 300 do
      -- 300 spellings of one country: spaces before and after.
      local spelled = (" "):rep(i % 19) .. "in" .. (" "):rep(math.floor(i / 19))
      local c = assert(build(function(t) t.nationality = spelled end))
      assert.equal("IN", c.data.nationality)
    end
    local kept = 0
    for _ in pairs(field.memo) do kept = kept + 1 end
    assert.equal(256, kept)
    assert.equal("IN", assert(build(function(t) t.nationality = (" "):rep(18) .. "in" end)).data.nationality)
  end)

  it("keeps nothing personal: a name, an e-mail or a place is not kept past its customer", function()
    assert(build(function(t) t.place_of_birth, t.email_id = "Kochi", "amal@example.com" end))
    for _, name in ipairs({ "first_name", "last_name", "email_id", "place_of_birth" }) do
      assert.is_nil(schema.customer.by_name[name].memo, name)
    end
  end)
end)

describe("cdp.validate text taken as it is", function()
  it("trims spaces at either end, a single character and UTF-8 included", function()
    local c = assert(build(function(t)
      t.salutation, t.middle_name, t.mothers_maiden_name = "X", "ZOË ", "\tSAFIYA\n"
      t.place_of_birth = "a  b"
    end))
    assert.equal("X", c.data.salutation)
    assert.equal("ZOË", c.data.middle_name)
    assert.equal("SAFIYA", c.data.mothers_maiden_name)
    assert.equal("a  b", c.data.place_of_birth)
  end)

  it("refuses invalid UTF-8 even with clean ends", function()
    local _, err = build(function(t) t.middle_name = "A\255B" end)
    assert.same({ "middle_name: not valid UTF-8" }, paths(err.errors))
  end)
end)

describe("cdp.validate objects visited by their own keys", function()
  it("reports every problem of an object in schema order, unknown keys first", function()
    local _, err = build(function(t)
      t.email_id = "nope"              -- field 20
      t.first_name = nil               -- field 3, required
      t.gender = "x"                   -- field 16
      t.frist_name = "IRFAN"           -- unknown
      t.id_details[2].id_number = nil
      t.id_details[2].issued_on = "2016-02-30"
      t.id_details[2].id_type = "passport"
    end)
    assert.same({
      "frist_name: unknown field; did you mean first_name?",
      "first_name: is required",
      'gender: must be one of Male, Female, Other: "x"',
      'email_id: not an email address: "nope"',
      'id_details[2].id_type: expected a whole number, got "passport"',
      "id_details[2].id_number: is required",
      'id_details[2].issued_on: not a real date in YYYY-MM-DD form: "2016-02-30"',
    }, paths(err.errors))
  end)

  it("reports a warning once and in order when the object also has an error", function()
    local _, err = build(function(t)
      t.phone_number = "04 123 4567"
      t.secondary_mobile_number = "050 241 2378"
      t.email_id = "nope"
    end)
    assert.same({ 'email_id: not an email address: "nope"' }, paths(err.errors))
    assert.same({
      "secondary_mobile_number: local number without a country code; E.164 (+…) expected",
      "phone_number: local number without a country code; E.164 (+…) expected",
    }, paths(err.warnings))
  end)

  it("counts a required field given as null, and an optional null goes out as null", function()
    local _, err = build(function(t) t.channel = cdp.null end)
    assert.same({ "channel: is required (null given)" }, paths(err.errors))
    local c = assert(build(function(t) t.salutation = cdp.null end))
    assert.equal(cdp.null, c.data.salutation)
    assert.truthy(c:render():find('"salutation":null', 1, true))
  end)

  it("sees the fields a metatable supplies, as the field-by-field check does", function()
    local t = example_customer(IMAGES)
    local first = t.first_name
    t.first_name = nil
    setmetatable(t, { __index = { first_name = first } })
    local c = assert(cdp.customer(t, { today = "2023-01-01" }))
    assert.equal(first, c.data.first_name)
  end)

  it("gives the same errors for a table checked twice in a row", function()
    local bad = { first_name = 5, channel = "WEB", id_details = { {} } }
    local _, e1 = validate.check(bad, schema.customer)
    local _, e2 = validate.check(bad, schema.customer)
    assert.same(paths(e1), paths(e2))
    assert.same({
      "last_name: is required", "nationality: is required", "date_of_birth: is required",
      "country_of_birth: is required", "resident_type_id: is required", "country_of_residence: is required",
      "gender: is required", "primary_mobile_number: is required", "email_id: is required",
      "address_list: is required", "id_details[1].id_type: is required", "id_details[1].id_number: is required",
    }, paths(e1))
  end)
end)

describe("cdp.json plain text in a body", function()
  local SPEC = { type = "object", fields = { { name = "s", type = "string" } }, by_name = {} }

  it("writes every ASCII character as json.string does, / unescaped", function()
    for byte = 0, 127 do
      local s = "a" .. string.char(byte) .. "b"
      assert.equal('{"s":' .. json.string(s) .. "}", json.encode({ s = s }, SPEC))
    end
    assert.equal('{"s":"a/b \\"q\\" \\\\ \\u007f"}', json.encode({ s = 'a/b "q" \\ \127' }, SPEC))
  end)

  it("writes UTF-8 as it is and raises on invalid UTF-8", function()
    assert.equal('{"s":"ZOË ☃"}', json.encode({ s = "ZOË ☃" }, SPEC))
    assert.has_error(function() json.encode({ s = "a\255" }, SPEC) end, "cdp.json: text is not valid UTF-8")
  end)

  it("keeps text before, between and after several documents in order", function()
    local c = assert(build())
    local parts = c:parts()
    local docs, text = 0, {}
    for _, p in ipairs(parts) do
      if type(p) == "string" then text[#text + 1] = p else docs = docs + 1 text[#text + 1] = "<doc>" end
    end
    -- strings and documents alternate: no empty or merged-away string
    for i = 1, #parts - 1 do assert.is_not.equal(type(parts[i]), type(parts[i + 1])) end
    assert.equal(7, docs)  -- 2 fronts, 2 backs, a profile photo, 2 additional docs
    assert.equal(15, #parts)
    local body = table.concat(text)
    assert.equal(2, select(2, body:gsub('"id_front":{"base64_data":"<doc>","content_type":"image/jpeg"}', "")))
    assert.equal(body:gsub("<doc>", "x"), (json.encode(c.data, schema.customer, function(out, d, flat)
      if not flat then out:put("{") end
      if document.is(d) then
        out:put('"base64_data":"x","content_type":', json.string(d.content_type))
      else
        out:put('"base64_data":', json.string(d.base64_data), ',"content_type":', json.string(d.content_type))
      end
      if not flat then out:put("}") end
    end)))
  end)
end)
