-- Values a record brings that must not be trusted or misread: file names
-- that climb out of the images folder, digits that arrive as JSON numbers.
local cdp = require "cdp"
local m = cdp.mapping

describe("cdp.mapping.file with a record's values", function()
  local front = m.file("images/%s", "Front Image")
  local ctx = { base_dir = "/data/kyc" }

  it("takes a file name, or a path below the folder", function()
    assert.equal("/data/kyc/images/784-front.jpg", front({ ["Front Image"] = "784-front.jpg" }, ctx).path)
    assert.equal("/data/kyc/images/2024/a..b.jpg", front({ ["Front Image"] = "2024/a..b.jpg" }, ctx).path)
  end)

  for _, bad in ipairs({ "../../home/partner/.ssh/id_rsa", "..", "a/../../b.jpg", "/etc/passwd", "x\0.jpg" }) do
    it(("refuses %q"):format(bad), function()
      local doc, err = front({ ["Front Image"] = bad }, ctx)
      assert.is_nil(doc)
      assert.matches('column "Front Image": .* is not a file name inside the mapping\'s folder', err)
    end)
  end
end)

describe("cdp.mapping.file under submit (files opened only when sent)", function()
  local function record_10()
    for n, rec in require("cdp.records").each("examples/ekyc-export.csv") do
      if n == 10 then return rec.fields end  -- its front image does not exist
    end
  end

  it("makes documents that neither the mapping's own checks nor validation open", function()
    local mapping = assert(m.load("examples/ekyc-mapping.lua"))
    local c, err = mapping:build(record_10())
    assert.is_nil(c)
    assert.equal("id_details[1].id_front", err.errors[1].path)

    mapping._open_files_when_sent = true
    -- Both ways of building: the readers' own checks, and validation's.
    for _, built in ipairs({ assert(mapping:build(record_10())), assert(cdp.customer(mapping:map(record_10()))) }) do
      local front, face = built.data.id_details[1].id_front, built.data.customer_classification.profile_photo
      assert.is_true(front.opened_when_sent)
      assert.equal("examples/images/missing-front.jpg", front.path)
      assert.is_nil(front.content_type)
      assert.is_nil(face.content_type)
    end
  end)
end)

describe("cdp.mapping.phone with a JSON Lines number", function()
  it("reads the digits of a number as a local number", function()
    assert.equal("+971501234567", m.phone("Mobile", "AE")({ Mobile = 501234567 }))
  end)

  it("refuses an ambiguous number that starts with the calling code without +", function()
    local n, err = m.phone("Mobile", "MY")({ Mobile = "60123456789" })
    assert.is_nil(n)
    assert.matches('column "Mobile": ambiguous', err)
  end)
end)

describe("cdp.mapping build", function()
  it("reports the schema's problems too when some cells cannot be mapped", function()
    local mapping = assert(m.load("examples/ekyc-mapping.lua"))
    local record = {}
    for n, rec in require("cdp.records").each("examples/ekyc-export.csv") do
      if n == 1 then record = rec.fields end
    end
    record["Date of Birth"], record.Nationality, record.Email = "31/02/1990", "Atlantis", "zafar at example.com"
    local c, err = mapping:build(record, { today = "2024-01-01" })
    assert.is_nil(c)
    assert.same({
      { path = "nationality", message = 'column "Nationality": "Atlantis" is not a country' },
      { path = "date_of_birth", message = 'column "Date of Birth": "31/02/1990" is not a date in the form %d/%m/%Y' },
      { path = "email_id", message = 'not an email address: "zafar at example.com"' },
    }, err.errors)
    assert.equal('mapping failed: nationality: column "Nationality": "Atlantis" is not a country (and 2 more)',
      err.message)
  end)
end)

describe("cdp.mapping.date with month names", function()
  local dob = m.date("DOB", "%d %b %Y")

  it("reads English month abbreviations in any case", function()
    assert.equal("1986-03-14", dob({ DOB = "14 MAR 1986" }))
    assert.equal("2000-01-01", dob({ DOB = "1 jan 2000" }))
  end)

  it("refuses an unknown month and a day the month does not have", function()
    assert.matches('"14 XYZ 1986" is not a date in the form %%d %%b %%Y', select(2, dob({ DOB = "14 XYZ 1986" })))
    assert.matches('"31 FEB 1990" is not a date', select(2, dob({ DOB = "31 FEB 1990" })))
  end)

  it("refuses two-digit years when the mapping is made: 01/02/03 has no one reading", function()
    assert.has_error(function() m.date("DOB", "%d/%m/%y") end,
      "cdp.mapping.date: %y is not supported (use %d, %m or %b, %Y)")
  end)
end)

describe("cdp.mapping key", function()
  it("gives nil and the reason when the key function raises", function()
    local mapping = cdp.mapping { key = function(record) return record.id .. "" end }
    local key, err = mapping:key({})
    assert.is_nil(key)
    assert.matches("^key function raised an error: ", err)
    assert.equal("7", mapping:key({ id = 7 }))
  end)
end)

describe("cdp.mapping messages", function()
  it("quote cells alike under both ABIs: control characters as ?, long values cut", function()
    assert.equal('column "Country": "X?Y" is not a country', select(2, m.country("Country")({ Country = "X\1Y" })))
    local _, err = m.phone("Mobile", "AE")({ Mobile = "050\0" .. ("9"):rep(100) })
    assert.equal('column "Mobile": not a phone number: "050?' .. ("9"):rep(36) .. '..."', err)
  end)
end)
