local cdp = require "cdp"
local records = require "cdp.records"
local m = cdp.mapping

local function tmpfile(content)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(content)
  f:close()
  return path
end

describe("mapping helpers", function()
  it("date: only the named format, real dates only", function()
    local d = m.date("DOB", "%d/%m/%Y")
    assert.equal("1990-04-03", d({ DOB = "03/04/1990" }))
    assert.equal("1990-04-03", d({ DOB = "3/4/1990" }))
    assert.matches('"1990%-04%-03" is not a date in the form %%d/%%m/%%Y', select(2, d({ DOB = "1990-04-03" })))
    assert.matches("is not a date", select(2, d({ DOB = "29/02/2023" })))
    assert.equal("2024-02-29", d({ DOB = "29/02/2024" }))
    assert.equal("1990-12-31", m.date("D", "%Y%m%d")({ D = "19901231" }))
    assert.has_error(function() m.date("D", "%d/%m/%y") end)
    assert.has_error(function() m.date("D", "%d/%m") end)
  end)

  it("country: names, alpha-3 and alpha-2 to alpha-2; anything else is an error", function()
    local c = m.country("C")
    assert.equal("IN", c({ C = "India" }))
    assert.equal("GB", c({ C = "united kingdom" }))
    assert.equal("PK", c({ C = "PAK" }))
    assert.equal("AE", c({ C = "ae" }))
    assert.matches('"Atlantis" is not a country', select(2, c({ C = "Atlantis" })))
  end)

  it("phone: local numbers get the default country's code; + and 00 keep theirs", function()
    local p = m.phone("P", "AE")
    assert.equal("+971502106707", p({ P = "050 210 6707" }))
    assert.equal("+971502106707", p({ P = "502106707" }))
    assert.equal("+60321421234", p({ P = "0060 3-2142 1234" }))
    assert.equal("+919876543210", p({ P = "+91 98765 43210" }))
    assert.matches("not a phone number", select(2, p({ P = "call me" })))
    assert.matches("no calling code known for Narnia", select(2, m.phone("P", "Narnia")({ P = "0501" })))
  end)

  it("name: first, middle and last words of a full name", function()
    local rec = { N = "  Irfan  Manakkat Thekke Purayil " }
    assert.equal("Irfan", m.name("N", "first")(rec))
    assert.equal("Manakkat Thekke", m.name("N", "middle")(rec))
    assert.equal("Purayil", m.name("N", "last")(rec))
    assert.is_nil(m.name("N", "middle")({ N = "Ana Silva" }))
    assert.matches("one%-word name has no last name", select(2, m.name("N", "last")({ N = "Madonna" })))
    assert.has_error(function() m.name("N", "surname") end)
  end)

  it("file: a path from the record's columns, relative to the mapping's folder", function()
    local f = m.file("images/%s-%s.jpg", "ID", "Side")
    local doc = f({ ID = "784", Side = "front" }, { base_dir = "/data/kyc" })
    assert.equal("/data/kyc/images/784-front.jpg", doc.path)
    assert.is_nil((f({ ID = "784", Side = "" }, { base_dir = "." })))
    assert.equal("logo.png", m.file("logo.png")({}, { base_dir = "." }).path)  -- no column: one file for all
  end)

  it("file: a pattern that cannot take its columns fails as the mapping is made", function()
    local function message(...)
      local ok, err = pcall(m.file, ...)
      assert.is_false(ok)
      return err
    end
    assert.matches('"images/%%s/%%s" has 2 conversions for 1 column', message("images/%s/%s", "Front"))
    assert.matches('"%%s.jpg" has 1 conversion for 2 columns', message("%s.jpg", "ID", "Side"))
    assert.matches('"images/%%s" has 1 conversion for 0 columns', message("images/%s"))
    assert.matches('"%%y%.jpg": .*format', message("%y.jpg", "ID"))
    assert.matches("the pattern must be a string", message(42, "ID"))
    -- The error names the mapping's own line.
    local ok, err = pcall(function() local doc = m.file("%s/%s", "A") return doc end)
    assert.is_false(ok)
    assert.matches("mapping_spec%.lua:%d+: cdp%.mapping%.file", err)
    assert.equal("100%/a.jpg", m.file("100%%/%s.jpg", "F")({ F = "a" }, { base_dir = "." }).path)
  end)
end)

describe("cdp.mapping", function()
  local mapping = cdp.mapping {
    key = "Ref",
    channel = m.const("WEB"),
    first_name = m.name("Name", "first"),
    last_name = m.name("Name", "last"),
    date_of_birth = m.date("DOB", "%d.%m.%Y"),
    nationality = "Nationality",
    country_of_birth = "Nationality",
    country_of_residence = m.const("AE"),
    resident_type_id = 101,
    gender = "Gender",
    primary_mobile_number = m.phone("Mobile", "AE"),
    email_id = "Email",
    id_details = {
      { id_type = 4, id_number = "EID", id_front = cdp.file("examples/images/id-front.jpg") },
      { id_type = 2, id_number = "Passport" },
    },
    address_list = { { country = m.const("AE"), city = "City" } },
    rules = { function(c) return c.gender ~= "Other", "gender Other needs a manual check" end },
  }
  local record = { Ref = "R1", Name = "Ana Maria Silva", DOB = "01.02.1990", Nationality = "Portugal",
    Gender = "female", Mobile = "0501234567", Email = "ana@example.com", EID = "784199000000001",
    Passport = "", City = "Dubai" }

  it("maps and validates a record; an item with nothing but constants is left out", function()
    local c = assert(mapping:build(record))
    assert.equal("PT", c.data.nationality)
    assert.equal("Female", c.data.gender)
    assert.equal("+971501234567", c.data.primary_mobile_number)
    assert.equal(1, #c.data.id_details)
    assert.equal("R1", mapping:key(record, c))
  end)

  it("reports mapping problems, then schema problems, then rules, at field paths", function()
    local bad = {}
    for k, v in pairs(record) do bad[k] = v end
    bad.DOB, bad.Mobile = "1990-02-01", "x"
    local _, err = mapping:build(bad)
    assert.equal("validation", err.kind)
    assert.same({ "date_of_birth", "primary_mobile_number" }, { err.errors[1].path, err.errors[2].path })
    bad = {}
    for k, v in pairs(record) do bad[k] = v end
    bad.Gender = "Other"
    _, err = mapping:build(bad)
    assert.same({ { path = "rules[1]", message = "gender Other needs a manual check" } }, err.errors)
  end)

  it("reports problems inside a second list item at its own path, once per field", function()
    local two_ids = m.new {
      first_name = "Name",
      id_details = {
        { id_type = 4, id_number = "EID", issued_on = m.date("Issued", "%d/%m/%Y") },
        { id_type = 1, id_number = "Passport", issued_on = m.date("Passport issued", "%d %b %Y") },
      },
    }
    local t, problems = two_ids:map({ Name = "Ana", EID = "784199001234567", Issued = "01/02/2020",
      Passport = "N123", ["Passport issued"] = "31 Feb 2020" })
    assert.is_nil(t)
    assert.same({ { path = "id_details[2].issued_on",
      message = 'column "Passport issued": "31 Feb 2020" is not a date in the form %d %b %Y' } }, problems)
    t = assert(two_ids:map({ Name = "Ana", EID = " 784199001234567 ", Issued = "01/02/2020",
      Passport = "N123", ["Passport issued"] = "14 MAR 2019" }))
    assert.same({ { id_type = 4, id_number = "784199001234567", issued_on = "2020-02-01" },
      { id_type = 1, id_number = "N123", issued_on = "2019-03-14" } }, t.id_details)
  end)

  it("splits a full name per record: the next record's parts are its own", function()
    local names = m.new { first_name = m.name("N", "first"), middle_name = m.name("N", "middle"),
      last_name = m.name("N", "last") }
    local a = assert(names:map({ N = "Irfan Manakkat Thekke Purayil" }))
    local b = assert(names:map({ N = "Ana Silva" }))
    assert.same({ first_name = "Irfan", middle_name = "Manakkat Thekke", last_name = "Purayil" }, a)
    assert.same({ first_name = "Ana", last_name = "Silva" }, b)
  end)

  it("splits the name of the record it is given, even with a ctx passed on from another", function()
    local ctx = {}
    assert.equal("Alice", m.name("Name", "first")({ Name = "Alice Smith" }, ctx))
    assert.equal("Jones", m.name("Name", "last")({ Name = "Bob Jones" }, ctx))
  end)

  it("names a column missing from the record", function()
    local _, err = mapping:build({ Ref = "R2" })
    assert.equal('no column "Name" in the record', err.errors[1].message)
  end)
end)

describe("cdp.mapping's readers, made once per mapping", function()
  it("report a problem of an item table used twice at each item's own path", function()
    local id = { id_type = 4, id_number = "EID", issued_on = m.date("Issued", "%d/%m/%Y") }
    local two = m.new { first_name = "Name", id_details = { id, id } }
    local t, problems = two:map({ Name = "Ana", EID = "784199001234567", Issued = "2020-02-01" })
    assert.is_nil(t)
    local message = 'column "Issued": "2020-02-01" is not a date in the form %d/%m/%Y'
    assert.same({ { path = "id_details[1].issued_on", message = message },
      { path = "id_details[2].issued_on", message = message } }, problems)
  end)

  it("report a column missing, a helper raising and a function's message in field order; the rest maps", function()
    local seen
    local mapping = m.new {
      first_name = "Name",
      last_name = function() error("no last name today", 0) end,
      email_id = function(_, ctx)
        seen = { #ctx.errors, ctx.missing_column }
        return nil, "no e-mail"
      end,
      address_list = { { city = "City", country = m.const("AE") }, { city = "Town", country = m.const("AE") } },
    }
    local t, problems, partial = mapping:map({ City = " Dubai " })
    assert.is_nil(t)
    assert.same({
      { path = "first_name", message = 'no column "Name" in the record' },
      { path = "last_name", message = "mapping raised an error: no last name today" },
      { path = "email_id", message = "no e-mail" },
      { path = "address_list[2].city", message = 'no column "Town" in the record' },
    }, problems)
    assert.same({ 2, true }, seen)  -- a function sees the problems so far
    assert.same({ address_list = { { city = "Dubai", country = "AE" } } }, partial)
  end)

  it("leave out blank cells, and objects and items with nothing but constants", function()
    local mapping = m.new {
      first_name = "Name",
      id_details = { { id_type = 4, id_number = "EID" }, { id_type = 1, id_number = "Passport" } },
      customer_classification = { segment = m.const("retail"), profile_photo = m.file("%s/%s.jpg", "Dir", "Photo") },
    }
    local t = assert(mapping:map({ Name = "Ana", EID = "", Passport = " N123 ", Dir = "faces", Photo = "  " }))
    assert.same({ first_name = "Ana", id_details = { { id_type = 1, id_number = "N123" } } }, t)
    t = assert(mapping:map({ Name = "Ana", EID = "", Passport = "", Dir = "faces", Photo = "ana" }))
    assert.equal("faces/ana.jpg", t.customer_classification.profile_photo.path)
    assert.same({}, t.id_details)
  end)

  it("read an object of any width and any field names, each field where it belongs", function()
    local spec, record, want = {}, {}, {}
    for i = 1, 130 do
      local name = ("field_%03d"):format(i)
      spec[name] = (i % 3 == 0) and m.date("D" .. i, "%d/%m/%Y") or "C" .. i
      record["C" .. i], record["D" .. i] = "v" .. i, ("%02d/01/2000"):format(i % 28 + 1)
      want[name] = (i % 3 == 0) and ("2000-01-%02d"):format(i % 28 + 1) or "v" .. i
    end
    local odd = 'a "quoted"\nname\\ ]]'
    spec[odd], record.Odd, want[odd] = "Odd", "odd", "odd"
    spec[7] = "Seven"  -- a key that is no string: looked up by the code, not written in it
    record.Seven, want[7] = "seven", "seven"
    assert.same(want, assert(m.new(spec):map(record)))
    record.D129 = "31/02/2000"
    local t, problems = m.new(spec):map(record)
    assert.is_nil(t)
    assert.same({ { path = "field_129", message = 'column "D129": "31/02/2000" is not a date in the form %d/%m/%Y' } },
      problems)
  end)
end)

describe("mapping scripts", function()
  it("loads the e-KYC example and checks its CSV: three records wrong on purpose", function()
    local mapping = assert(m.load("examples/ekyc-mapping.lua"))
    local outcome = {}
    for n, rec in records.each("examples/ekyc-export.csv") do
      local c, err = mapping:build(rec.fields)
      outcome[n] = c and "ok" or err.errors[1].path
    end
    assert.same({ "ok", "ok", "ok", "ok", "ok", "ok", "ok", "date_of_birth", "nationality",
      "id_details[1].id_front", "ok" }, outcome)
  end)

  it("the JSON Lines export maps to the same customers", function()
    local mapping = assert(m.load("examples/ekyc-mapping.lua"))
    local csv, jsonl = {}, {}
    for _, rec in records.each("examples/ekyc-export.csv") do
      local c = mapping:build(rec.fields)
      csv[#csv + 1] = c and c:render() or false
    end
    for _, rec in records.each("examples/ekyc-export.jsonl") do
      local c = mapping:build(rec.fields)
      jsonl[#jsonl + 1] = c and c:render() or false
    end
    assert.same(csv, jsonl)
    assert.equal(11, #csv)
  end)

  it("accepts a script returning a plain function", function()
    local path = tmpfile("return function(record) return { first_name = record.Name } end")
    local mapping = assert(m.load(path))
    os.remove(path)
    assert.same({ first_name = "Ana" }, mapping:map({ Name = "Ana" }))
  end)

  it("reports a syntax error, an error while loading, and a wrong return", function()
    local path = tmpfile("return cdp.mapping {")
    local mapping, err = m.load(path)
    assert.is_nil(mapping)
    assert.matches("expected", err)
    os.remove(path)
    path = tmpfile("error('no config')")
    mapping, err = m.load(path)
    assert.is_nil(mapping)
    assert.matches("no config", err)
    os.remove(path)
    path = tmpfile("return 42")
    mapping, err = m.load(path)
    assert.is_nil(mapping)
    assert.matches("must return cdp.mapping", err)
    os.remove(path)
  end)

  it("reports a mapping function that raises, with its line, as the record's problem", function()
    local path = tmpfile("return function(record)\n  if record.n == '37' then error('bad record') end\n"
      .. "  return {}\nend")
    local mapping = assert(m.load(path))
    os.remove(path)
    local _, err = mapping:build({ n = "37" })
    assert.matches(":2: bad record", err.errors[1].message)
  end)
end)

describe("cdp.mapping and validation in place", function()
  local schema = require "cdp.schema"
  local validate = require "cdp.validate"
  local record = { Name = "Ana Maria Silva", DOB = "01.02.1990", Nationality = "Portugal", Gender = "female",
    Mobile = "0501234567", Email = "ana@example.com", City = "Dubai", PEP = "false", Active = "true" }
  local function fields(extra)
    local spec = {
      channel = m.const("WEB"), first_name = m.name("Name", "first"), last_name = m.name("Name", "last"),
      date_of_birth = m.date("DOB", "%d.%m.%Y"), nationality = m.country("Nationality"),
      country_of_birth = m.country("Nationality"), country_of_residence = m.const("AE"),
      resident_type_id = 101, gender = "Gender", primary_mobile_number = m.phone("Mobile", "AE"),
      email_id = "Email", political_exposed_person = "PEP",
      address_list = { { country = m.const("AE"), city = "City" } },
      id_details = {
        { id_type = 4, id_number = m.const("784199000000001"), active_status = "Active",
          id_front = cdp.file("examples/images/id-front.jpg") },
      },
    }
    for k, v in pairs(extra or {}) do spec[k] = v end
    return spec
  end

  it("validation normalizes tables it may own, and copies the others", function()
    local t = assert(cdp.mapping(fields()):map(record))
    assert.equal("true", t.id_details[1].active_status)
    local copy = validate.check(t, schema.customer)
    assert.are_not.equal(t, copy)
    assert.equal("true", t.id_details[1].active_status)  -- the copy alone normalized
    assert.is_true(copy.id_details[1].active_status)
    local same = validate.check(t, schema.customer, true)
    assert.equal(t, same)
    assert.equal(t.id_details, same.id_details)
    assert.is_true(t.id_details[1].active_status)
    assert.is_false(t.political_exposed_person)
  end)

  it("never normalizes a table the partner's function hands out again and again", function()
    local shared = { { id_type = 4, id_number = "784199000000001", active_status = "true",
      id_front = cdp.file("examples/images/id-front.jpg") } }
    local built = {}
    local mapping = cdp.mapping(fields({ id_details = function() return shared end }))
    for i = 1, 2 do built[i] = assert(mapping:build(record)) end
    assert.equal("true", shared[1].active_status)
    assert.is_true(built[1].data.id_details[1].active_status)
    assert.are_not.equal(shared, built[1].data.id_details)
    assert.are_not.equal(built[1].data.id_details, built[2].data.id_details)
  end)

  it("never normalizes a table given to mapping.const, which every customer shares", function()
    local shared = { { id_type = 4, id_number = "784199000000001", active_status = "true",
      id_front = cdp.file("examples/images/id-front.jpg") } }
    local mapping = cdp.mapping(fields({ id_details = m.const(shared) }))
    local a, b = assert(mapping:build(record)), assert(mapping:build(record))
    assert.equal("true", shared[1].active_status)
    assert.is_true(a.data.id_details[1].active_status)
    assert.are_not.equal(a.data.id_details, b.data.id_details)
  end)

  it("gives integers for whole floats in place as the copy does (4.0 == 4 under Lua 5.4)", function()
    local t = assert(cdp.mapping(fields()):map(record))
    t.id_details[1].id_type, t.resident_type_id = 4.0, 101.0
    local copy = validate.check(t, schema.customer)
    local same = validate.check(t, schema.customer, true)
    if math.type then
      assert.equal("integer", math.type(copy.resident_type_id))
      assert.equal("integer", math.type(same.resident_type_id))
      assert.equal("integer", math.type(same.id_details[1].id_type))
    end
    assert.are.same(copy, same)
  end)

  it("copies a table a column holds (JSON Lines): the record stays as it was read", function()
    local rec = {}
    for k, v in pairs(record) do rec[k] = v end
    rec.Addresses = { { country = " germany", city = "Berlin" } }
    local mapping = cdp.mapping(fields({ address_list = "Addresses" }))
    local a, b = assert(mapping:build(rec)), assert(mapping:build(rec))
    assert.equal(" germany", rec.Addresses[1].country)
    assert.equal("DE", a.data.address_list[1].country)
    assert.are_not.equal(rec.Addresses, a.data.address_list)
    assert.are_not.equal(a.data.address_list, b.data.address_list)
    local by_helper = cdp.mapping(fields({ address_list = m.column("Addresses") }))
    assert.equal("DE", assert(by_helper:build(rec)).data.address_list[1].country)
    assert.equal(" germany", rec.Addresses[1].country)
  end)

  it("gives each customer of a helpers-only mapping tables of its own", function()
    local mapping = cdp.mapping(fields())
    local a, b = assert(mapping:build(record)), assert(mapping:build(record))
    assert.is_true(a.data.id_details[1].active_status)
    assert.are_not.equal(a.data.id_details[1], b.data.id_details[1])
    assert.are.same(a.data, b.data)
  end)
end)
