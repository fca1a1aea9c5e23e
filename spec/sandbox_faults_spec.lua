-- Fault injection through the admin API: each kind, before and after the
-- call is processed, for the next N calls of a path.
local sandbox = require "helpers.sandbox"

local ONBOARD = "/caas-lcm/api/v1/CAAS/onBoarding/customer"
local LOOKUP = "/caas/api/v2/customer/validate"
local TOKEN = "/auth/realms/cdp/protocol/openid-connect/token"

describe("sandbox faults", function()
  local sb, token

  setup(function()
    sb = sandbox.start{ workers = 2 }
    token = sb:token().access_token
  end)

  teardown(function()
    if sb then sb:stop() end
  end)

  before_each(function()
    sb:reset()
  end)

  local function lookup(id)
    return sb:request{ method = "POST", path = LOOKUP, token = token,
                       json = { idType = "4", idNumber = id or "784190000000001" } }
  end

  local function payload(id)
    local p = sandbox.example_payload(id)
    p.id_details[2] = nil
    return p
  end

  it("closes the connection without a response for the next N calls, then answers again", function()
    sb:fault{ path = LOOKUP, kind = "reset", count = 2 }
    for _ = 1, 2 do
      local res = lookup()
      assert.equal(0, res.status)
      assert.equal(52, res.curl_exit)   -- empty reply from server
    end
    local res = lookup()
    assert.equal(200, res.status)
    assert.equal(45001, res.json.errorCode)
    local counts = sb:counters()
    assert.equal(2, counts.faults.fired[LOOKUP])
    assert.equal(3, counts.calls[LOOKUP])
  end)

  it("answers 502 with nginx's HTML page", function()
    sb:fault{ path = ONBOARD, kind = "502" }
    local res = sb:request{ method = "POST", path = ONBOARD, token = token, json = payload("784199400000001") }
    assert.equal(502, res.status)
    assert.truthy(res.headers["content-type"]:find("text/html", 1, true))
    assert.truthy(res.body:find("<h1>502 Bad Gateway</h1>", 1, true))
    assert.is_nil(res.json)
    -- "before": the onboarding was not processed
    assert.is_nil(sb:counters().customers.by_id["4:784199400000001"])
  end)

  it("creates the customer but loses the response when fired after processing", function()
    sb:fault{ path = ONBOARD, kind = "reset", when = "after" }
    local res = sb:request{ method = "POST", path = ONBOARD, token = token, json = payload("784199400000002") }
    assert.equal(0, res.status)
    assert.equal(52, res.curl_exit)
    assert.equal(1, sb:counters().customers.by_id["4:784199400000002"].created)
    local found = lookup("784199400000002")
    assert.equal("success", found.json.status)
    assert.truthy(found.json.data.ecrn)
  end)

  it("answers 502 after processing: created, but the client sees a gateway error", function()
    sb:fault{ path = ONBOARD, kind = "502", when = "after" }
    local res = sb:request{ method = "POST", path = ONBOARD, token = token, json = payload("784199400000003") }
    assert.equal(502, res.status)
    assert.equal("success", lookup("784199400000003").json.status)
  end)

  it("truncates the body: Content-Length announced, half sent, connection closed", function()
    sb:fault{ path = LOOKUP, kind = "truncate" }
    local res = lookup()
    assert.equal(200, res.status)
    assert.equal(18, res.curl_exit)      -- partial file
    assert.is_nil(res.json)
    assert.truthy(tonumber(res.headers["content-length"]) > #res.body)

    sb:fault{ path = ONBOARD, kind = "truncate", when = "after" }
    res = sb:request{ method = "POST", path = ONBOARD, token = token, json = payload("784199400000004") }
    assert.equal(200, res.status)
    assert.equal(18, res.curl_exit)
    assert.truthy(res.body:find('"status"', 1, true) or res.body:find('"data"', 1, true))
    assert.equal("success", lookup("784199400000004").json.status)
  end)

  it("resets the connection mid-body: Content-Length announced, half sent, then a TCP reset", function()
    sb:fault{ path = LOOKUP, kind = "reset_body" }
    local res = lookup()
    assert.equal(200, res.status)
    assert.equal(56, res.curl_exit)      -- recv failure: connection reset by peer (not 18's clean close)
    assert.is_nil(res.json)
    assert.truthy(#res.body > 0)
    assert.truthy(tonumber(res.headers["content-length"]) > #res.body)

    sb:fault{ path = ONBOARD, kind = "reset_body", when = "after" }
    res = sb:request{ method = "POST", path = ONBOARD, token = token, json = payload("784199400000006") }
    assert.equal(56, res.curl_exit)
    assert.truthy(res.body:find('"status"', 1, true) or res.body:find('"data"', 1, true))
    assert.equal(1, sb:counters().customers.by_id["4:784199400000006"].created)
    assert.equal("success", lookup("784199400000006").json.status)
    assert.equal(200, lookup().status)   -- the next call is served normally
  end)

  it("answers a valid JSON body padded with whitespace to the given size", function()
    sb:fault{ path = LOOKUP, kind = "big_body", when = "after", size = 100000 }
    local res = lookup()
    assert.equal(200, res.status)
    assert.equal(0, res.curl_exit)
    assert.equal(100000, #res.body)
    assert.equal("100000", res.headers["content-length"])
    assert.equal(45001, res.json.errorCode)   -- still the real answer
    -- the default size is 2 MiB, twice the SDK's default cap
    sb:fault{ path = LOOKUP, kind = "big_body", when = "after" }
    res = lookup()
    assert.equal(2 * 1024 * 1024, #res.body)
    assert.equal(45001, res.json.errorCode)
    local _, refused = sb:admin("POST", "faults", { path = LOOKUP, kind = "big_body", size = 0 })
    assert.equal(400, refused.status)
  end)

  it("answers a complete response whose JSON is invalid", function()
    sb:fault{ path = LOOKUP, kind = "invalid_json" }
    local res = lookup()
    assert.equal(200, res.status)
    assert.equal(0, res.curl_exit)
    assert.equal("application/json", res.headers["content-type"])
    assert.is_nil(res.json)
    assert.is_false(pcall(require("cjson").decode, res.body))
  end)

  it("delays a call: a client with a shorter timeout gives up, the call still completes", function()
    sb:fault{ path = ONBOARD, kind = "delay", delay = 3, when = "before" }
    local res = sb:request{ method = "POST", path = ONBOARD, token = token, json = payload("784199400000005"),
                            timeout = 1 }
    assert.equal(28, res.curl_exit)      -- operation timed out
    -- the delayed request goes on inside the sandbox and creates the customer
    local found
    for _ = 1, 50 do
      found = lookup("784199400000005")
      if found.json and found.json.status == "success" then break end
      os.execute("sleep 0.2")
    end
    assert.equal("success", found.json.status)
  end)

  it("delays without failing a patient client", function()
    sb:fault{ path = LOOKUP, kind = "delay", delay = 1 }
    local res = lookup()
    assert.equal(200, res.status)
    assert.equal(45001, res.json.errorCode)
  end)

  it("applies to the token endpoint and to any path with \"*\"", function()
    sb:fault{ path = TOKEN, kind = "502" }
    local res = sb:request{ method = "POST", path = TOKEN, form = sb:partner_token_form() }
    assert.equal(502, res.status)
    assert.equal(200, sb:request{ method = "POST", path = TOKEN, form = sb:partner_token_form() }.status)
    sb:fault{ path = "*", kind = "reset", count = 2 }
    assert.equal(52, lookup().curl_exit)
    assert.equal(52, sb:request{ method = "GET", path = "/caas/api/v2/customer/7841000000000000",
                                 token = token }.curl_exit)
    assert.equal(200, lookup().status)
    assert.equal(1, sb:counters().faults.fired["/caas/api/v2/customer/{ecrn}"])
  end)

  it("lists armed faults and disarms them on reset", function()
    sb:fault{ path = LOOKUP, kind = "reset", count = 5 }
    local list = sb:admin("GET", "faults").faults
    assert.equal(1, #list)
    assert.equal(5, list[1].remaining)
    assert.equal("before", list[1].when)
    sb:reset()
    assert.equal(200, lookup().status)
  end)

  it("refuses a fault it does not know", function()
    local t, res = sb:admin("POST", "faults", { path = LOOKUP, kind = "meteor" })
    assert.equal(400, res.status)
    assert.truthy(t.error:find("kind", 1, true))
    local _, res2 = sb:admin("POST", "faults", { path = LOOKUP, kind = "reset", when = "during" })
    assert.equal(400, res2.status)
  end)
end)
