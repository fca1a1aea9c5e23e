-- Numbers where the schema wants text or digits: sent exactly or refused,
-- and every message the same under Lua 5.4 and LuaJIT.
local cdp = require "cdp"
local json = require "cdp.json"
local example_customer = require "fixtures.example_customer"

local function build(change)
  local t = example_customer("examples/images")
  change(t)
  return cdp.customer(t, { today = "2023-01-01" })
end

local function only_error(change)
  local c, err = build(change)
  assert.is_nil(c)
  assert.equal(1, #err.errors)
  return err.errors[1]
end

describe("cdp.customer with numbers", function()
  it("sends an ID number below 2^53 given as a Lua number as its digits", function()
    local c = assert(build(function(t) t.id_details[1].id_number = 784199554586091 end))
    assert.equal("784199554586091", c.data.id_details[1].id_number)
    assert.matches('"id_number":"784199554586091"', c:render(), 1, true)
  end)

  it("refuses a number of 2^53 or more given as a float (it may already be rounded)", function()
    local e = only_error(function(t) t.id_details[1].id_number = 2.0 ^ 63 end)
    assert.equal("id_details[1].id_number", e.path)
    assert.matches("too large to be exact", e.message)
    e = only_error(function(t) t.id_details[1].id_number = 1e20 end)
    assert.matches("too large to be exact", e.message)
  end)

  it("refuses infinity and NaN where text is wanted, with the same words on both ABIs", function()
    local e = only_error(function(t) t.first_name = math.huge end)
    assert.same({ path = "first_name", message = "expected text, got the number infinity" }, e)
    e = only_error(function(t) t.occupation_id = 0 / 0 end)
    assert.same({ path = "occupation_id", message = "expected a whole number, got NaN" }, e)
  end)

  it("refuses a negative zip", function()
    local e = only_error(function(t) t.address_list[1].zip = -1 end)
    assert.same({ path = "address_list[1].zip", message = "expected digits, got -1" }, e)
  end)

  it("quotes a misplaced long value shortly, without control characters", function()
    local e = only_error(function(t) t.date_of_birth = string.rep("QUJD", 1000) .. "\1" end)
    assert.equal("date_of_birth", e.path)
    assert.is_true(#e.message < 120, e.message)
    assert.matches('"QUJDQUJD.*%.%.%."$', e.message)
    e = only_error(function(t) t.email_id = "a\1b" end)
    assert.equal('not an email address: "a?b"', e.message)
  end)
end)

describe("cdp.json.number", function()
  it("writes whole numbers as their exact digits on both ABIs", function()
    assert.equal("784199554586091", json.number(784199554586091))
    assert.equal("9007199254740992", json.number(2.0 ^ 53))
    assert.equal("100000000000000000000", json.number(1e20))
    assert.equal("-5", json.number(-5))
    assert.equal("0.5", json.number(0.5))
  end)
end)

describe("cdp.customer with stray keys", function()
  it("reports a stray key of an additional document given in the API's shape", function()
    local e = only_error(function(t)
      t.additional_docs[1] = { base64_data = "QUJD", content_type = "image/jpeg", document_id = "1",
        document_typ = "passport" }
    end)
    assert.same({ path = "additional_docs[1].document_typ", message = "unknown field; did you mean document_id?" }, e)
  end)

  it("reports a very long unknown key without a suggestion", function()
    local e = only_error(function(t) t[("first_name"):rep(1000)] = "x" end)
    assert.equal("unknown field", e.message)
  end)
end)
