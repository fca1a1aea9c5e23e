-- cdp.validate's quick checks (a value taken as it is, in an object's pass
-- over its own keys) against the full checks, which an object with a
-- metatable always gets: the same value, errors and warnings for values at
-- the quick checks' edges.
local json = require "cdp.json"
local schema = require "cdp.schema"
local validate = require "cdp.validate"

local customer = schema.customer.by_name
local id = customer.id_details.items.by_name

-- A one-field object of the schema's own field, so that the field keeps
-- (and answers from) what it learnt, as in real use.
local function spec_of(field)
  return { type = "object", fields = { field }, by_name = { [field.name] = field } }
end

local function both_ways(field, value)
  local spec = spec_of(field)
  local quick = { validate.check({ [field.name] = value }, spec) }
  local full = { validate.check(setmetatable({ [field.name] = value }, {}), spec) }
  return quick, full
end

local function agree(field, values)
  for _, value in ipairs(values) do
    for _ = 1, 2 do  -- twice: kept answers (countries, enumerations) too
      local quick, full = both_ways(field, value)
      assert.same(full, quick, field.name .. ": " .. tostring(value))
      if math.type then
        local q, f = quick[1][field.name], full[1][field.name]
        assert.equal(math.type(f), math.type(q), field.name .. ": " .. tostring(value))
      end
    end
  end
end

describe("cdp.validate quick checks", function()
  it("take clean text as the full check does, up to the field's length in characters", function()
    local max = customer.first_name.max
    agree(customer.first_name, {
      "Suresh", "a b", "ab", "a", "~", " a", "a ", "\ta", "a\t", "a\127", "\127a", "a\31b", "ZOË", "ZOË ",
      "A\255B", ("x"):rep(max), ("x"):rep(max + 1), ("é"):rep(max), ("é"):rep(max + 1), "", " ", 1234, 1.5,
      true, json.null, {},
    })
  end)

  it("take a date, a phone number and an e-mail address only as the full check takes them as they are", function()
    agree(customer.date_of_birth, { "2024-02-29", "2023-02-29", "2024-02-29 ", " 2024-02-29", "2024-2-29", "" })
    agree(customer.primary_mobile_number, { "+1234567", "+123456789012345", "+1234567890123456", "+0123456789",
      "+971 50 210 6707", " +1234567", "0501234567" })
    agree(customer.phone_number, { "+971502106707", "+1234567890123456", "04 123 4567", "041234567", "1234" })
    agree(customer.email_id, { "a@b.co", "a @b.co", "a@b .co", "a@b.co ", "a\tb@c.de", "a@b@c.de", "a.b@c",
      "a@b.c.d", "a@b.", "é@b.co", "a@b.co\255", "a@b.c\127", "!#$%&'*+-/=?^_`{|}~@b-c.d_e" })
    agree(customer.ecrn, { "123", "0123", "12a", " 1", "" })
  end)

  it("answer countries and enumerations from what the full check kept", function()
    agree(customer.nationality, { "AE", "ae", "AE ", "ARE", "India", "india ", "XX", "" })
    agree(customer.gender, { "Male", "male", "MALE ", "x", "" })
  end)

  it("take whole numbers and booleans as they are", function()
    agree(customer.resident_type_id, { 101, 4.0, 1.5, 2 ^ 53, 2 ^ 53 - 1, -(2 ^ 53) + 1, "101", " 7", "", 0 / 0 })
    if math.maxinteger then
      agree(customer.resident_type_id, { 9007199254740991, 9007199254740992, -9007199254740992, math.maxinteger })
    end
    agree(id.active_status, { true, false, "true", "false", "1", "0", 1, 0, "True", " true", "yes", 2, "" })
  end)
end)
