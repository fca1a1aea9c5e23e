local report = require "cdp.report"
local records = require "cdp.records"

local function tmp(ext)
  local path = os.tmpname()
  os.remove(path)
  return path .. ext
end

local rows = {
  { number = 1, key = "4:784199554586091", outcome = "created", ecrn = "7841003247752409",
    customer_status = "ACTIVE", aml_scan_status = "Accepted" },
  { number = 2, key = "2:P40,06", outcome = "failed", error_kind = "business", error_code = 45051,
    error_name = "CUSTOMER_BLOCKED", message = 'Customer "1074" Cannot be Accepted\nsee CDP', request_id = "d0f7" },
}

describe("cdp.report", function()
  for _, ext in ipairs({ ".csv", ".jsonl" }) do
    it("writes rows that read back as the same values (" .. ext .. ")", function()
      local path = tmp(ext)
      local r = assert(report.open(path))
      for _, row in ipairs(rows) do r:row(row) end
      r:close()
      local got = {}
      for _, rec in records.each(path) do got[#got + 1] = rec.fields end
      os.remove(path)
      assert.equal(2, #got)
      assert.equal("4:784199554586091", got[1].key)
      assert.equal("7841003247752409", got[1].ecrn)
      assert.equal("2:P40,06", got[2].key)
      assert.equal('Customer "1074" Cannot be Accepted\nsee CDP', got[2].message)
      assert.equal(45051, tonumber(got[2].error_code))
    end)
  end

  it("writes integer codes decoded as floats without a fraction", function()
    local path = tmp(".csv")
    local r = assert(report.open(path))
    r:row({ number = 1, error_code = 45051.0 })
    r:close()
    local f = assert(io.open(path))
    local text = f:read("a")
    f:close()
    os.remove(path)
    assert.matches("\n1,,,,,,,45051,", text)
  end)

  it("refuses an unknown extension", function()
    local r, err = report.open(tmp(".xlsx"))
    assert.is_nil(r)
    assert.matches("unknown report format", err)
  end)
end)
