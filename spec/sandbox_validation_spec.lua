-- The sandbox's own validation of onboarding payloads (400 / 40002 with one
-- `details` entry per bad field, 45053 for unknown countries) and its answers
-- to bad input: invalid JSON, wrong methods, unknown paths, oversized bodies.
local sandbox = require "helpers.sandbox"
local cjson_null = require("cjson").null

local ONBOARD = "/caas-lcm/api/v1/CAAS/onBoarding/customer"

describe("sandbox validation", function()
  local sb, token, big_file

  setup(function()
    sb = sandbox.start{ max_body_mb = 40 }
    token = sb:token().access_token
  end)

  teardown(function()
    if sb then sb:stop() end
    if big_file then os.remove(big_file) end
  end)

  local function onboard(payload)
    return sb:request{ method = "POST", path = ONBOARD, token = token, json = payload }
  end

  local function base()
    local p = sandbox.example_payload("784199577778888")
    p.id_details[2] = nil
    return p
  end

  local function expect_details(res, expected)
    assert.equal(400, res.status)
    local b = res.json
    assert.equal("failure", b.status)
    assert.equal(400, b.status_code)
    assert.equal(40002, b.error_code)
    assert.equal("Invalid format or missing mandatory request", b.message)
    assert.truthy(b.request_id:match("^%x+$"))
    local keys = {}
    for k in pairs(b.details) do keys[#keys + 1] = k end
    table.sort(keys)
    table.sort(expected)
    assert.same(expected, keys)
    return b.details
  end

  it("names a missing first name like the API document", function()
    local p = base()
    p.first_name = nil
    local details = expect_details(onboard(p), { "firstName" })
    assert.equal("Invalid first name", details.firstName)
  end)

  it("gives one details entry per bad field, with camelCase paths", function()
    local p = base()
    p.last_name = 42                                  -- wrong type
    p.gender = nil                                    -- missing mandatory
    p.first_name = ("X"):rep(101)                     -- too long
    p.date_of_birth = "1995-02-29"                    -- not a calendar date
    p.primary_mobile_number = "0502106707"            -- not E.164
    p.email_id = "not-an-email"
    p.resident_type_id = "101"                        -- string, not integer
    p.political_exposed_person = "false"              -- string, not boolean
    p.id_details[1].issued_on = "2020-13-01"
    p.id_details[1].id_front.base64_data = "***not base64***"
    p.id_details[1].id_back.content_type = "image/gif"
    p.customer_classification.annual_income_currency_code = "XYZ"
    p.customer_classification.profile_photo.base64_data = ""
    p.address_list[1].zip = "40A00"
    p.additional_docs[1].document_id = cjson_null
    local details = expect_details(onboard(p), {
      "lastName", "gender", "firstName", "dateOfBirth", "primaryMobileNumber", "emailId", "residentTypeId",
      "politicalExposedPerson", "idDetails[0].issuedOn", "idDetails[0].idFront.base64Data",
      "idDetails[0].idBack.contentType", "customerClassification.annualIncomeCurrencyCode",
      "customerClassification.profilePhoto.base64Data", "addressList[0].zip", "additionalDocs[0].documentId",
    })
    assert.equal("Invalid last name", details.lastName)
    assert.equal("Invalid gender", details.gender)
    assert.truthy(details.firstName:find("100", 1, true))
    assert.truthy(details.dateOfBirth:find("calendar", 1, true))
  end)

  it("names nested values of the wrong shape instead of failing", function()
    local p = base()
    p.address_list = { { 1, 2 } }
    p.customer_classification = "none"
    p.id_details = { "784199577778888" }
    p.additional_docs = { {} }
    p.channel = { "WEB" }
    local details = expect_details(onboard(p), { "addressList[0]", "customerClassification", "idDetails[0]",
      "additionalDocs[0].base64Data", "additionalDocs[0].contentType", "additionalDocs[0].documentId", "channel" })
    assert.equal("Invalid address list", details["addressList[0]"])
    assert.equal("Invalid customer classification", details.customerClassification)
  end)

  it("answers any value of any field with 200 or a 400 naming that field, never an error", function()
    local values = { 1.5, true, {}, { 1 }, ("9"):rep(300), cjson_null, "" }
    local fields = {}
    for name in pairs(base()) do fields[#fields + 1] = name end
    table.sort(fields)
    local function camel(name) return (name:gsub("_(%w)", string.upper)) end
    for _, name in ipairs(fields) do
      for _, value in ipairs(values) do
        local p = base()
        p[name] = value
        local res = onboard(p)
        assert.truthy(res.json, name)
        if res.status == 400 and res.json.error_code == 40002 then
          local named = false
          for key in pairs(res.json.details) do
            if key == camel(name) or key:sub(1, #camel(name) + 1):match("^" .. camel(name) .. "[%.%[]") then
              named = true
            end
          end
          assert.is_true(named, name)
        elseif res.json.error_code == 45053 then
          assert.truthy(name:find("nationality") or name:find("country"), name)
        else
          assert.equal(200, res.status, name)
        end
      end
    end
    for _, a in ipairs(values) do
      for _, b in ipairs(values) do
        local res = sb:request{ method = "POST", path = "/caas/api/v2/customer/validate", token = token,
                                json = { idType = a, idNumber = b } }
        assert.equal(200, res.status)
        assert.equal(40001, res.json.errorCode)
      end
    end
    local log = io.open(sb.dir .. "/error.log"):read("*a")
    assert.is_nil(log:find("runtime error", 1, true))
    assert.is_nil(log:find("entry thread aborted", 1, true))
  end)

  it("requires id_details and address_list entries", function()
    local p = base()
    p.id_details = {}
    p.address_list = nil
    expect_details(onboard(p), { "idDetails", "addressList" })
    p = base()
    p.id_details[1].id_number = nil
    p.id_details[1].id_type = "4"
    expect_details(onboard(p), { "idDetails[0].idNumber", "idDetails[0].idType" })
  end)

  it("accepts explicit nulls and empty strings for optional fields, and leap days", function()
    local p = base()
    p.middle_name = ""
    p.salutation = cjson_null
    p.second_nationality = ""
    p.date_of_birth = "1996-02-29"
    p.customer_classification = cjson_null
    p.additional_docs = cjson_null
    p.address_list[1].zip = "00400"
    p.address_list[1].mobile_number = "04 123 4567"
    p.phone_number = "(04) 1234567"
    p.id_details[1].id_front = cjson_null
    local res = onboard(p)
    assert.equal(200, res.status)
    assert.equal("success", res.json.status)
  end)

  it("accepts PNG and PDF documents that decode", function()
    local p = base()
    p.id_details[1].id_number = "784199500001111"
    p.id_details[1].id_front = { content_type = "application/pdf", base64_data = "JVBERi0xLjQKJeLjz9MK" }
    p.id_details[1].id_back = { content_type = "image/png", base64_data = "iVBORw0KGgo=" }
    local res = onboard(p)
    assert.equal(200, res.status)
    local c = sb:customer(res.json.data.ecrn)
    assert.equal(15, c.documents["id_details[0].id_front"].size)
    assert.equal(8, c.documents["id_details[0].id_back"].size)
  end)

  it("answers an unknown nationality with HTTP 400, status_code 406 and 45053", function()
    local p = base()
    p.nationality = "INN"
    local res = onboard(p)
    assert.equal(400, res.status)
    assert.same({ status = "failed", status_code = 406, error_code = 45053, message = " Invalid Nationality INN!",
                  request_id = res.json.request_id }, res.json)
    p.nationality = "XX"
    assert.equal(" Invalid Nationality XX!", onboard(p).json.message)
    p = base()
    p.address_list[2].country = "ZZ"
    res = onboard(p)
    assert.equal(45053, res.json.error_code)
    assert.equal(" Invalid Country ZZ!", res.json.message)
  end)

  it("answers invalid JSON and non-object bodies with 40002", function()
    for _, body in ipairs({ "{not json", "[1,2]", "\"text\"", "" }) do
      local res = sb:request{ method = "POST", path = ONBOARD, token = token, body = body,
                              headers = { ["Content-Type"] = "application/json" } }
      assert.equal(400, res.status)
      assert.equal(40002, res.json.error_code)
      assert.equal("table", type(res.json.details))
    end
  end)

  it("answers wrong methods and unknown paths with JSON, never nginx's HTML", function()
    local res = sb:request{ method = "GET", path = ONBOARD, token = token }
    assert.equal(405, res.status)
    assert.equal("application/json", res.headers["content-type"])
    assert.equal(405, res.json.status)
    assert.equal("Method Not Allowed", res.json.error)
    assert.equal("POST", res.headers["allow"])
    res = sb:request{ method = "DELETE", path = "/caas/api/v2/customer/validate", token = token }
    assert.equal(405, res.status)
    res = sb:request{ method = "POST", path = "/caas/api/v9/nothing", token = token, json = {} }
    assert.equal(404, res.status)
    assert.equal("Not Found", res.json.error)
    assert.equal("/api/v9/nothing", res.json.path)
    res = sb:request{ method = "GET", path = "/", token = token }
    assert.equal(404, res.json.status)
    -- a request nginx itself refuses (HTTP/1.1 without Host) is JSON too
    res = sb:request{ method = "POST", path = ONBOARD, token = token, json = {}, headers = { Host = "" } }
    assert.equal(400, res.status)
    assert.equal("application/json", res.headers["content-type"])
    assert.equal("Bad Request", res.json.error)
  end)

  it("refuses a 50 MiB body over its 40 MiB cap with a JSON 413, plain and chunked", function()
    big_file = os.tmpname()
    local f = assert(io.open(big_file, "wb"))
    local chunk = ("A"):rep(1024 * 1024)
    f:write('{"channel":"')
    for _ = 1, 50 do f:write(chunk) end
    f:write('"}')
    f:close()
    for _, chunked in ipairs({ false, true }) do
      local res = sb:request{ method = "POST", path = ONBOARD, token = token, body_file = big_file,
                              chunked = chunked, headers = { ["Content-Type"] = "application/json" } }
      assert.equal(413, res.status)
      assert.equal(413, res.json.status)
      assert.equal("Payload Too Large", res.json.error)
      assert.equal("/api/v1/CAAS/onBoarding/customer", res.json.path)
    end
    assert.equal(2, sb:counters().responses["413"])
    -- and the sandbox still serves
    assert.equal(200, sb:request{ method = "GET", path = "/__sandbox/health" }.status)
  end)

  it("reads a large body under the cap (spilled to a file) and answers 40002 for its content", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write('{"channel":"', ("B"):rep(3 * 1024 * 1024), '"}')
    f:close()
    local res = sb:request{ method = "POST", path = ONBOARD, token = token, body_file = path, chunked = true,
                            headers = { ["Content-Type"] = "application/json" } }
    os.remove(path)
    assert.equal(400, res.status)
    assert.truthy(res.json.details.channel)
    assert.truthy(res.json.details.firstName)
  end)
end)
