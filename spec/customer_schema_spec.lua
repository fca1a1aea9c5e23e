-- cdp.schema describes the API's responses too: the document's published
-- examples check clean against them; the request's inferred points are
-- marked. (Key order: customer_spec compares the render with the document.)
local cjson = require "cjson"
local schema = require "cdp.schema"
local validate = require "cdp.validate"

local function check(spec, text)
  local _, errors, warnings = validate.check(cjson.decode(text), spec)
  return errors, warnings
end

-- Examples copied from ../shared/api/partner-onboarding-service.txt.
local EXAMPLES = {
  { "token response", schema.token_response, [[{"token_type": "bearer", "access_token": "x",
    "expires_in": 7199, "refresh_expires_in": 7199, "refresh_token": "y", "scope": "----"}]] },
  { "lookup success", schema.lookup_response, [[{"status": "success", "statusCode": 200, "data": {
    "ecrn": "7841003233051516", "first_name": "ZAFARBASHIR", "middle_name": "", "last_name": "BASHIRMASIH",
    "agent_location_id": "784101", "primary_mobile_number": "+971554747002", "email_id": "BASHIRMASIH@GMAIL.COM",
    "customer_status": "ACTIVE", "aml_scan_status": "Accepted", "id_status": "Active",
    "id_date_of_expiry": "2030-12-10T00:00:00.000+00:00"}}]] },
  { "lookup not found", schema.lookup_response,
    [[{"status": "failure", "statusCode": 404, "errorCode": 45001, "message": "Customer not found"}]] },
  { "onboarding success", schema.onboard_response, [[{"status": "success", "data": {"aml_scan_status": "Accepted",
    "ecrn": "7841003247752409", "customer_status": "ACTIVE", "pep": false, "aml_category": 2},
    "status_code": 200, "request_id": "4138e3038999d41b7534ce12a18a6031"}]] },
  { "onboarding invalid master data", schema.onboard_response, [[{"request_id": "cb3bc0a37334c4eacdbea088f926b7ab",
    "status": "failed", "status_code": 406, "error_code": 45053, "message": " Invalid Nationality INN!"}]] },
  { "onboarding missing field", schema.onboard_response, [[{"status": "failure", "status_code": 400,
    "error_code": 40002, "message": "Invalid format or missing mandatory request",
    "details": {"firstName": "Invalid first name"}, "request_id": "729d5085e553f3830277d0cb5372f2b2"}]] },
  { "gateway 401", schema.unauthorized_response, [[{"timestamp": "2023-03-15T14:26:24.292+00:00", "status": 401,
    "error": "Unauthorized", "message": "", "path": "/api/v1/CAAS/onBoarding/customer"}]] },
  { "callback answer", schema.aml_callback_response,
    [[{"status_code": 200, "status": "success", "message": "updated"}]] },
}

describe("cdp.schema responses", function()
  for _, case in ipairs(EXAMPLES) do
    it(case[1] .. " checks clean", function()
      local errors, warnings = check(case[2], case[3])
      assert.same({}, errors)
      assert.same({}, warnings)
    end)
  end

  it("catches a status outside the published set", function()
    local errors = check(schema.lookup_response, [[{"status": "success", "data": {"customer_status": "GONE"}}]])
    assert.equal("data.customer_status", errors[1].path)
    assert.matches("must be one of ACTIVE, KYC_PENDING, INACTIVE, REJECTED, BLOCKED", errors[1].message)
  end)
end)

describe("cdp.schema customer", function()
  it("marks inferred points where they are defined", function()
    assert.is_true(schema.customer.by_name.last_name.inferred)
    assert.is_true(schema.customer.by_name.last_name.required)
    assert.is_nil(schema.customer.by_name.first_name.inferred)  -- published: lookup table, 100
    assert.is_true(schema.customer.by_name.address_list.items.by_name.zip.inferred)
  end)
end)
