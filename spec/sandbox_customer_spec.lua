-- The sandbox's customer calls over HTTPS with a plain client (curl):
-- onboarding, lookup, get by ECRN, update, and their documented answers.
local sandbox = require "helpers.sandbox"
local cjson = require "cjson"

local ONBOARD = "/caas-lcm/api/v1/CAAS/onBoarding/customer"
local LOOKUP = "/caas/api/v2/customer/validate"
local IMAGES = "examples/images/"

describe("sandbox customers", function()
  local sb, token

  setup(function()
    sb = sandbox.start{ workers = 2 }
    token = sb:token().access_token
  end)

  teardown(function()
    if sb then sb:stop() end
  end)

  local function onboard(payload, extra)
    local req = { method = "POST", path = ONBOARD, token = token }
    if type(payload) == "string" then
      req.body, req.headers = payload, { ["Content-Type"] = "application/json" }
    elseif payload then
      req.json = payload
    end
    for k, v in pairs(extra or {}) do req[k] = v end
    return sb:request(req)
  end

  local function lookup(id_type, id_number)
    return sb:request{ method = "POST", path = LOOKUP, token = token,
                       json = { idType = id_type, idNumber = id_number } }
  end

  it("serves HTTPS with a CA it made in its directory", function()
    assert.truthy(sb.base_url:match("^https://127%.0%.0%.1:%d+$"))
    assert.equal(sb.dir .. "/ca.pem", sb.ca_file)
    assert.equal(sb.ca_file, sb.env.CDP_CA_FILE)
    local res = sb:request{ method = "GET", path = "/__sandbox/health" }
    assert.equal(200, res.status)
  end)

  it("accepts the API document's example with real JPEGs, then finds it by lookup and ECRN", function()
    local res = onboard(sandbox.example_payload("784199554586091"))
    assert.equal(200, res.status)
    local b = res.json
    assert.equal("success", b.status)
    assert.equal(200, b.status_code)
    assert.truthy(b.request_id:match("^%x+$"))
    assert.equal(32, #b.request_id)
    assert.truthy(b.data.ecrn:match("^%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d$"))
    assert.equal("Accepted", b.data.aml_scan_status)
    assert.equal("ACTIVE", b.data.customer_status)
    assert.equal(false, b.data.pep)
    assert.equal("number", type(b.data.aml_category))

    local found = lookup("4", "784199554586091")
    assert.equal(200, found.status)
    assert.equal("success", found.json.status)
    assert.equal(200, found.json.statusCode)
    local d = found.json.data
    assert.equal(b.data.ecrn, d.ecrn)
    assert.equal("IRFAN MANAKKAT THEKKE", d.first_name)
    assert.equal("PURAYIL ISMAIL", d.middle_name)
    assert.equal("NANGARATH MUNDACHI", d.last_name)
    assert.equal("+971502106707", d.primary_mobile_number)
    assert.equal("irfanmtp1@gmail.com", d.email_id)
    assert.equal("ACTIVE", d.customer_status)
    assert.equal("Accepted", d.aml_scan_status)
    assert.equal("Expired", d.id_status)       -- the example's Emirates ID expired in 2023
    assert.equal("2023-08-08T00:00:00.000+00:00", d.id_date_of_expiry)
    assert.equal("", d.agent_location_id)

    -- by the second ID (passport) too
    local by_passport = lookup("2", "P4006315")
    assert.equal(b.data.ecrn, by_passport.json.data.ecrn)

    local got = sb:request{ method = "GET", path = "/caas/api/v2/customer/" .. b.data.ecrn, token = token }
    assert.equal(200, got.status)
    assert.equal("success", got.json.status)
    assert.equal(b.data.ecrn, got.json.data.ecrn)

    -- the bytes arrived exactly
    local c = sb:customer(b.data.ecrn)
    local front = c.documents["id_details[0].id_front"]
    assert.equal(#io.open(IMAGES .. "id-front.jpg", "rb"):read("*a"), front.size)
    assert.equal(sandbox.sha256_file(IMAGES .. "id-front.jpg"), front.sha256)
    assert.equal(sandbox.sha256_file(IMAGES .. "id-back.jpg"), c.documents["id_details[1].id_back"].sha256)
    assert.equal(sandbox.sha256_file(IMAGES .. "face.jpg"), c.documents["additional_docs[0]"].sha256)
    assert.equal(sandbox.sha256_file(IMAGES .. "face.jpg"),
      c.documents["customer_classification.profile_photo"].sha256)
    assert.is_nil(c.payload.id_details[1].id_front.base64_data)

    local counts = sb:counters()
    assert.equal(1, counts.customers.by_id["4:784199554586091"].created)
    assert.equal(1, counts.customers.by_id["2:P4006315"].created)
  end)

  it("accepts a payload built like the production partner client's, sent chunked", function()
    local body = sandbox.partner_payload_json("900228145678")
    assert.truthy(body:find('"additional_docs":[]', 1, true))
    assert.truthy(body:find('"zip":"40000"', 1, true))
    -- the partner's token request: no scope
    local tok = sb:request{ method = "POST", path = "/auth/realms/cdp/protocol/openid-connect/token",
      form = sb:partner_token_form(), headers = { ["X-API-Key"] = "partner-key" } }
    assert.equal(200, tok.status)
    local res = sb:request{ method = "POST", path = ONBOARD, token = tok.json.access_token, body = body,
      headers = { ["Content-Type"] = "application/json" }, chunked = true }
    assert.equal(200, res.status)
    assert.equal("success", res.json.status)
    assert.equal(true, res.json.data.pep)
    local c = sb:customer(res.json.data.ecrn)
    assert.equal("40000", c.payload.address_list[1].zip)
    assert.equal("Malaysia", c.payload.agent_location_id)
    local found = lookup("28", "900228145678")
    assert.equal(res.json.data.ecrn, found.json.data.ecrn)
    assert.equal("Active", found.json.data.id_status)
    assert.equal("Malaysia", found.json.data.agent_location_id)
  end)

  it("updates a customer re-sent with its ECRN, and refuses an unknown ECRN with 45032", function()
    local payload = sandbox.example_payload("784199911112222")
    payload.id_details[2].id_number = "P9911112222"
    local created = onboard(payload)
    assert.equal(200, created.status)
    local ecrn = created.json.data.ecrn
    payload = sandbox.example_payload("784199911112222")
    payload.id_details[2].id_number = "P9911112222"
    payload.ecrn = ecrn
    payload.email_id = "new.address@example.com"
    local updated = onboard(payload)
    assert.equal(200, updated.status)
    assert.equal(ecrn, updated.json.data.ecrn)
    assert.equal("new.address@example.com", lookup("4", "784199911112222").json.data.email_id)
    assert.equal(1, sb:counters().customers.by_id["4:784199911112222"].updated)

    payload.ecrn = "7841009999999999"
    local unknown = onboard(payload)
    assert.equal(404, unknown.status)
    assert.same({ status = "failed", status_code = 404, error_code = 45032, message = "Customer update failed",
                  request_id = unknown.json.request_id }, unknown.json)
  end)

  it("answers a second onboarding of the same ID with the same customer, counted as duplicate", function()
    local payload = sandbox.example_payload("784199933334444")
    payload.id_details[2] = nil
    local first = onboard(payload)
    local second = onboard(payload)
    assert.equal(200, second.status)
    assert.equal(first.json.data.ecrn, second.json.data.ecrn)
    local by_id = sb:counters().customers.by_id["4:784199933334444"]
    assert.equal(1, by_id.created)
    assert.equal(1, by_id.duplicates)
  end)

  it("answers lookups of unknown IDs with HTTP 200 and 45001", function()
    local res = lookup("4", "784190000000001")
    assert.equal(200, res.status)
    assert.same({ status = "failure", statusCode = 404, errorCode = 45001, message = "Customer not found" }, res.json)
  end)

  it("answers every documented lookup trigger with its body", function()
    local expected = {
      ["784000000045003"] = { 404, 45003, "Customer not Subscribed" },
      ["784000000040001"] = { 400, 40001, "Invalid format input" },
      ["784000000045006"] = { 500, 45006, "Error while searching customer!" },
      ["784000000045013"] = { 500, 45013, "Customer under Compliance investigation!" },
      ["784000000045051"] = { 404, 45051, "Customer can not be Accepted" },
    }
    for id, e in pairs(expected) do
      local res = lookup("4", id)
      assert.equal(200, res.status)
      assert.same({ status = "failure", statusCode = e[1], errorCode = e[2], message = e[3] }, res.json)
    end
  end)

  it("answers malformed lookups with 40001", function()
    for _, q in ipairs({ { idType = "4" }, { idNumber = "784199554586091" },
                         { idType = "ABCD", idNumber = "1" }, { idType = "4", idNumber = ("9"):rep(31) },
                         { idType = "4", idNumber = 784199554586091 } }) do
      local res = sb:request{ method = "POST", path = LOOKUP, token = token, json = q }
      assert.equal(200, res.status)
      assert.equal(40001, res.json.errorCode)
      assert.equal(400, res.json.statusCode)
    end
    local bad = sb:request{ method = "POST", path = LOOKUP, token = token, body = "{not json",
                            headers = { ["Content-Type"] = "application/json" } }
    assert.equal(200, bad.status)
    assert.equal(40001, bad.json.errorCode)
  end)

  it("answers get by ECRN for unknown and not-subscribed customers", function()
    local res = sb:request{ method = "GET", path = "/caas/api/v2/customer/7841000000000000", token = token }
    assert.equal(200, res.status)
    assert.equal(45001, res.json.errorCode)
    res = sb:request{ method = "GET", path = "/caas/api/v2/customer/7840000000045003", token = token }
    assert.same({ status = "failure", statusCode = 404, errorCode = 45003, message = "Customer not Subscribed" },
      res.json)
  end)

  it("answers onboarding 502 / 40001 for its trigger and creates nothing", function()
    local res = onboard(sandbox.example_payload("784000000040001"))
    assert.equal(502, res.status)
    assert.same({ status = "failed", status_code = 502, error_code = 40001, message = "Backend Technical Problem",
                  request_id = res.json.request_id }, res.json)
    assert.is_nil(sb:counters().customers.by_id["4:784000000040001"])
  end)

  it("answers 45051 for a blocked customer, with its ECRN in the message", function()
    local payload = sandbox.example_payload("784000000045051")
    payload.id_details[2] = nil
    local res = onboard(payload)
    assert.equal(406, res.status)
    assert.equal("failed", res.json.status)
    assert.equal(406, res.json.status_code)
    assert.equal(45051, res.json.error_code)
    local ecrn = res.json.message:match("^Customer (%d+) Cannot be Accepted$")
    assert.truthy(ecrn)
    assert.equal("BLOCKED", sb:customer(ecrn).customer_status)
    assert.equal(45051, lookup("4", "784000000045051").json.errorCode)
  end)

  it("answers 45013 with the ECRN in the message; the customer exists with an open alert", function()
    local payload = sandbox.example_payload("784000000045013")
    payload.id_details[2] = nil
    local res = onboard(payload)
    assert.equal(406, res.status)
    assert.equal(45013, res.json.error_code)
    assert.equal(406, res.json.status_code)
    local ecrn = res.json.message:match("^Customer (%d+) Under Compliance Investigation$")
    assert.truthy(ecrn)
    local c = sb:customer(ecrn)
    assert.equal("open", c.alert)
    assert.equal("Under Investigation", c.aml_scan_status)
    assert.equal(45013, lookup("4", "784000000045013").json.errorCode)
    -- sent again: the same customer, still under investigation
    local again = onboard(payload)
    assert.equal(45013, again.json.error_code)
    assert.equal(ecrn, again.json.message:match("(%d+)"))
    -- closed (accepted) by compliance: lookup now finds it active
    local closed = sb:close_alert(ecrn, "accept")
    assert.equal("Accepted", closed.aml_scan_status)
    assert.equal("ACTIVE", closed.customer_status)
    assert.is_false(closed.callback_scheduled)   -- no callback URL in this sandbox
    local found = lookup("4", "784000000045013")
    assert.equal("success", found.json.status)
    assert.equal(ecrn, found.json.data.ecrn)
  end)

  it("keeps customers across workers: every lookup finds the customer", function()
    local payload = sandbox.example_payload("784199955556666")
    payload.id_details[2] = nil
    local ecrn = onboard(payload).json.data.ecrn
    for _ = 1, 6 do
      assert.equal(ecrn, lookup("4", "784199955556666").json.data.ecrn)
    end
  end)

  it("takes three 20 MiB documents (an ~80 MiB body) under its default cap, bytes intact", function()
    local img, body_path = os.tmpname(), os.tmpname()
    finally(function() os.remove(img) os.remove(body_path) end)
    assert.is_true(require("cdp.sandbox.fs").run("head -c 20971520 /dev/urandom > " .. img))
    local b64 = sandbox.base64_file(img)
    local p = sandbox.example_payload("784199512345678")
    p.id_details[2], p.additional_docs = nil, nil
    p.id_details[1].id_front.base64_data = "@DOC@"
    p.id_details[1].id_back.base64_data = "@DOC@"
    p.customer_classification.profile_photo.base64_data = "@DOC@"
    local f = assert(io.open(body_path, "wb"))
    f:write((cjson.encode(p):gsub("@DOC@", function() return b64 end)))
    f:close()
    b64 = nil
    local res = onboard(nil, { body_file = body_path, json = nil, headers = { ["Content-Type"] = "application/json" } })
    assert.equal(200, res.status)
    local c = sb:customer(res.json.data.ecrn)
    local sha = sandbox.sha256_file(img)
    for _, slot in ipairs({ "id_details[0].id_front", "id_details[0].id_back",
                            "customer_classification.profile_photo" }) do
      assert.equal(20971520, c.documents[slot].size)
      assert.equal(sha, c.documents[slot].sha256)
    end
  end)

  it("writes JSON with unescaped slashes and no cjson artefacts", function()
    local res = sb:request{ method = "POST", path = LOOKUP, json = { idType = "4", idNumber = "1" } }
    assert.truthy(res.body:find('"path":"/api/v2/customer/validate"', 1, true))
    assert.is_nil(res.body:find("\\/", 1, true))
    assert.equal("table", type(cjson.decode(res.body)))
  end)
end)
