-- Mapping:build checks the values of a mapping of helpers and constants as
-- its readers make them, and skips validate.check when every one passed
-- (customer._checked). Whatever the way, the result must be the one
-- customer.new gives for the mapped table; anything the readers do not
-- vouch for goes the usual way.
local cdp = require "cdp"
local customer = require "cdp.customer"
local document = require "cdp.document"
local json = require "cdp.json"
local m = cdp.mapping

local TODAY = "2026-01-01"
local FRONT = "examples/images/id-front.jpg"
local math_type = math.type or function() return "number" end

-- A value written out with its types (4 and 4.0 differ), documents by path.
local function show(v, out)
  out = out or {}
  local t = type(v)
  if v == json.null then out[#out + 1] = "null"
  elseif document.is(v) then out[#out + 1] = "doc(" .. v.path .. "," .. tostring(v.content_type) .. ")"
  elseif t == "table" then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    out[#out + 1] = "{"
    for _, k in ipairs(keys) do
      out[#out + 1] = tostring(k) .. "="
      show(v[k], out)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  elseif t == "number" then out[#out + 1] = math_type(v) .. ":" .. tostring(v)
  else out[#out + 1] = t .. ":" .. tostring(v) end
  return table.concat(out)
end

local function copy(v)
  if type(v) ~= "table" or getmetatable(v) ~= nil then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = copy(x) end
  return c
end

-- A mapping of helpers and constants only, with `changes` (a false removes
-- a field).
local function spec_with(changes)
  local spec = {
    key = "Ref",
    channel = m.const("WEB"),
    first_name = m.name("Name", "first"),
    last_name = m.name("Name", "last"),
    date_of_birth = m.date("DOB", "%d/%m/%Y"),
    nationality = m.country("Nationality"),
    country_of_birth = m.country("Nationality"),
    country_of_residence = m.const("AE"),
    resident_type_id = 101,
    gender = "Gender",
    primary_mobile_number = m.phone("Mobile", "AE"),
    email_id = "Email",
    political_exposed_person = "PEP",
    id_details = { { id_type = 4, id_number = "EID", issued_on = m.date("Issued", "%d/%m/%Y"),
                     default_status = true, id_front = m.file("%s", "Front") } },
    address_list = { { address_type_id = m.const("1"), city = "City", country = m.const("AE") } },
  }
  for k, v in pairs(changes or {}) do
    if v == false then spec[k] = nil else spec[k] = v end
  end
  return spec
end

local function record_with(changes)
  local r = { Ref = "R-1", Name = "Ana Maria Silva", DOB = "03/04/1990", Nationality = "India",
              Gender = "Female", Mobile = "050 210 6707", Email = "ana@example.com", PEP = "false",
              EID = "784199012345678", Issued = "01/02/2020", Front = FRONT, City = "Dubai" }
  for k, v in pairs(changes or {}) do r[k] = v end
  return r
end

-- Builds `record` with `spec`; returns what build gave, whether it went the
-- checked way, and what customer.new gives for the mapped table.
local function build(spec, record)
  local mp = cdp.mapping(spec)
  local checked, real = false, customer._checked
  customer._checked = function(...)
    checked = true
    return real(...)
  end
  local ok, c, err = pcall(mp.build, mp, record, { today = TODAY })
  customer._checked = real
  assert(ok, c)
  local t = assert(mp:map(copy(record)), "the mapping itself failed")
  local want, want_err = customer.new(copy(t), { today = TODAY, rules = mp.rules, record = record })
  return { c = c, err = err, checked = checked, want = want, want_err = want_err }
end

local function same_result(r)
  if r.want then
    assert.is_truthy(r.c, r.err and r.err.message)
    assert.equal(show(r.want.data), show(r.c.data))
    assert.equal(show(r.want.warnings), show(r.c.warnings))
  else
    assert.is_nil(r.c)
    assert.equal(show(r.want_err.errors), show(r.err.errors))
    assert.equal(show(r.want_err.warnings), show(r.err.warnings))
  end
end

local function has_error(err, path, message)
  for _, e in ipairs(err.errors) do
    if e.path == path and e.message:find(message, 1, true) then return true end
  end
  return false
end

describe("Mapping:build checking as it maps", function()
  it("takes a valid record the checked way, with the customer customer.new makes", function()
    local r = build(spec_with(), record_with())
    assert.is_true(r.checked)
    same_result(r)
    assert.equal(101, r.c.data.resident_type_id)
    if math.type then assert.equal("integer", math.type(r.c.data.resident_type_id)) end
    assert.is_false(r.c.data.political_exposed_person)  -- "false" normalized
    assert.equal("image/jpeg", r.c.data.id_details[1].id_front.content_type)  -- sniffed
  end)

  it("keeps a null of a field that may be null, checked", function()
    local r = build(spec_with{ middle_name = m.const(json.null) }, record_with())
    assert.is_true(r.checked)
    same_result(r)
    assert.equal(json.null, r.c.data.middle_name)
  end)

  it("leaves a null of a required field to validation", function()
    local r = build(spec_with{ gender = m.const(json.null) }, record_with())
    assert.is_false(r.checked)
    same_result(r)
    assert.is_true(has_error(r.err, "gender", "is required (null given)"))
  end)

  it("leaves a required field the mapping lacks to validation", function()
    local r = build(spec_with{ gender = false }, record_with())
    assert.is_false(r.checked)
    same_result(r)
    assert.is_true(has_error(r.err, "gender", "is required"))
  end)

  it("leaves a value that fails its field's check to validation, warnings too", function()
    local bad = build(spec_with(), record_with{ Email = "not an e-mail" })
    assert.is_false(bad.checked)
    same_result(bad)
    assert.is_true(has_error(bad.err, "email_id", "e-mail"))
    -- a plain column with a local number: a warning, not an error
    local warned = build(spec_with{ primary_mobile_number = "Mobile" }, record_with())
    assert.is_false(warned.checked)
    same_result(warned)
  end)

  it("leaves a list with fewer items than the schema's minimum to validation", function()
    local r = build(spec_with(), record_with{ EID = "", Issued = "", Front = "" })
    assert.is_false(r.checked)
    same_result(r)
    assert.is_true(has_error(r.err, "id_details", "at least 1 item"))
  end)

  it("leaves a field the schema lacks to validation", function()
    local r = build(spec_with{ nickname = "Name" }, record_with())
    assert.is_false(r.checked)
    same_result(r)
    assert.is_true(has_error(r.err, "nickname", "unknown field"))
  end)

  it("leaves a mapping of nothing but constants to validation", function()
    local r = build({ channel = m.const("WEB"), resident_type_id = 101 }, record_with())
    assert.is_false(r.checked)
    same_result(r)
    assert.is_true(has_error(r.err, "first_name", "is required"))
  end)

  it("neither checks nor changes a table of the record's own (JSON Lines)", function()
    -- at an object field: a record's object, one field of it to normalize
    local classification = { customer_type_id = 1, show_remarks_on_txn = "true" }
    local at_object = build(spec_with{ customer_classification = "Class" }, record_with{ Class = classification })
    assert.is_false(at_object.checked)
    same_result(at_object)
    assert.is_true(at_object.c.data.customer_classification.show_remarks_on_txn)
    assert.equal("true", classification.show_remarks_on_txn)
    -- as an item of a list: "4" is the integer 4 once checked
    local id = { id_type = "4", id_number = "784199012345678", id_front = cdp.file(FRONT) }
    local at_item = build(spec_with{ id_details = { "ID" } }, record_with{ ID = id })
    assert.is_false(at_item.checked)
    same_result(at_item)
    assert.equal("4", id.id_type)
    -- at a text field
    local at_text = build(spec_with{ email_id = m.column("Email") }, record_with{ Email = { "a@b.c" } })
    assert.is_false(at_text.checked)
    same_result(at_text)
  end)

  it("leaves a partner's own function to the usual way", function()
    local r = build(spec_with{ gender = function(record) return record.Gender end }, record_with())
    assert.is_false(r.checked)
    same_result(r)
  end)

  it("checks nothing of an object it leaves out: a document there is not read", function()
    -- an item of nothing but constants once its one column is empty
    local png = cdp.file("examples/images/id-front.jpg")
    local r = build(spec_with{ additional_docs = { { document = png, document_id = "DocId" } } },
      record_with{ DocId = "" })
    assert.is_true(r.checked)
    same_result(r)
    assert.is_nil(r.c.data.additional_docs[1])
    assert.is_nil(png.content_type)  -- never sniffed, as validation never saw it
  end)

  it("raises for rules that are not functions before any document is read", function()
    local own = cdp.file(FRONT)
    local mp = cdp.mapping(spec_with{ rules = { "not a function" }, id_details = {
      { id_type = 4, id_number = "EID", id_front = m.file("%s", "Front"), id_back = "Back" } } })
    local ok, err = pcall(mp.build, mp, record_with{ Back = own }, { today = TODAY })
    assert.is_false(ok)
    assert.matches("rules%[1%] is not a function", err)
    assert.is_nil(own.content_type)  -- the record's own document is left as it was
  end)

  it("runs the checks across fields and the rules on a checked customer", function()
    local future = build(spec_with(), record_with{ Issued = "01/02/2030" })
    assert.is_true(future.checked)
    same_result(future)
    assert.is_true(has_error(future.err, "id_details[1].issued_on", "is in the future"))
    local spec = spec_with{ rules = { function() return false, "no" end } }
    local ruled = build(spec, record_with())
    assert.is_true(ruled.checked)
    assert.is_true(has_error(ruled.err, "rules[1]", "no"))
  end)
end)
