-- Cross-field checks and the warnings for codes the CDP's master data may
-- refuse: errors where the CDP certainly would, warnings where it looks wrong.
local cdp = require "cdp"
local example_customer = require "fixtures.example_customer"

local function build(change)
  local t = example_customer("examples/images")
  change(t)
  return cdp.customer(t, { today = "2023-01-01" })
end

describe("cdp.customer cross-field checks", function()
  it("refuses an ID that expires before it was issued, and one issued in the future", function()
    local _, err = build(function(t)
      t.id_details[2].date_of_expiry = "2016-04-27"
      t.id_details[1].issued_on, t.id_details[1].date_of_expiry = "2023-06-01", "2033-06-01"
    end)
    assert.same({
      { path = "id_details[1].issued_on", message = "is in the future" },
      { path = "id_details[2].date_of_expiry", message = "must be after issued_on (2016-04-28)" },
    }, err.errors)
  end)

  it("compares only real dates: a blank optional date is no date", function()
    for _, blank in ipairs({ "", "    ", "          " }) do
      local c, err = build(function(t)
        t.id_details[1].issued_on, t.id_details[1].date_of_expiry = "2020-06-01", blank
        t.id_details[2].issued_on, t.id_details[2].date_of_expiry = blank, "2030-06-01"
      end)
      assert.is_nil(err and err.message)
      assert.truthy(c)
    end
  end)

  it("refuses a date of birth that is not in the past", function()
    local _, err = build(function(t) t.date_of_birth = "2023-01-01" end)
    assert.same({ { path = "date_of_birth", message = "must be in the past" } }, err.errors)
  end)

  it("refuses a customer whose IDs have no front image", function()
    local _, err = build(function(t)
      for _, id in ipairs(t.id_details) do id.id_front = nil end
    end)
    assert.same({ { path = "id_details", message = "at least one ID needs a front image (id_front)" } }, err.errors)
  end)
end)

describe("cdp.customer warnings on codes", function()
  it("warns about an ID type and a resident type not seen in partner code", function()
    local c = assert(build(function(t)
      t.id_details[2].id_type = 7
      t.resident_type_id = 102
    end))
    assert.same({
      { path = "resident_type_id",
        message = "not a resident type seen in partner code (100 non-resident, 101 resident)" },
      { path = "id_details[2].id_type",
        message = "not an ID type seen in partner code (2 passport, 4 Emirates ID, 28 MyKad, 29 UNHCR card)" },
    }, c.warnings)
  end)

  it("warns about an Emirates ID number that is not 15 digits from 784", function()
    local c = assert(build(function(t) t.id_details[1].id_number = "78419955458609" end))
    assert.same({
      { path = "id_details[1].id_number", message = "an Emirates ID number has 15 digits and starts with 784" },
    }, c.warnings)
  end)

  it("gives no warning for the document's example", function()
    assert.same({}, assert(build(function() end)).warnings)
  end)
end)
