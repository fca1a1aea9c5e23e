-- The admin API: counters (connections, calls, responses, customers), reset,
-- the stored customer, and JSON answers for unknown admin calls.
local sandbox = require "helpers.sandbox"
local fs = require "cdp.sandbox.fs"

local LOOKUP = "/caas/api/v2/customer/validate"
local ONBOARD = "/caas-lcm/api/v1/CAAS/onBoarding/customer"

describe("sandbox admin API", function()
  local sb, token

  setup(function()
    sb = sandbox.start{ workers = 2 }
    token = sb:token().access_token
  end)

  teardown(function()
    if sb then sb:stop() end
  end)

  it("counts connections, not requests: two calls on one kept-alive connection count once", function()
    sb:reset()
    local cmd = ("curl -s -o /dev/null -o /dev/null --cacert %s -H %s -H 'Content-Type: application/json' "
      .. "-d '{\"idType\":\"4\",\"idNumber\":\"1\"}' %s %s -w '%%{num_connects} '")
      :format(fs.quote(sb.ca_file), fs.quote("Authorization: Bearer " .. token),
        fs.quote(sb.base_url .. LOOKUP), fs.quote(sb.base_url .. LOOKUP))
    local out = fs.capture(cmd)
    assert.equal("1 0", out:gsub("%s+$", ""))   -- curl itself reused its connection
    sb:request{ method = "POST", path = LOOKUP, token = token, json = { idType = "4", idNumber = "1" } }
    local c = sb:counters()
    assert.equal(2, c.connections)
    assert.equal(3, c.calls[LOOKUP])
    assert.equal(3, c.responses["200"])
  end)

  it("keeps a connection open for more than nginx's default 1000 requests", function()
    sb:reset()
    local config = os.tmpname()
    local f = assert(io.open(config, "w"))
    for i = 1, 1100 do
      f:write(('url = "%s/caas/api/v2/customer/%016d"\noutput = "/dev/null"\n'):format(sb.base_url, i))
    end
    f:close()
    local out = fs.capture(("curl -s --cacert %s -K %s -w '%%{num_connects}\n'"):format(
      fs.quote(sb.ca_file), fs.quote(config)))
    os.remove(config)
    local connects = 0
    for n in out:gmatch("%d+") do connects = connects + tonumber(n) end
    assert.equal(1, connects)
    local c = sb:counters()
    assert.equal(1100, c.calls["/caas/api/v2/customer/{ecrn}"])
    assert.equal(1100, c.unauthorized.missing)
    assert.equal(1, c.connections)
  end)

  it("counts calls by route before the token check, and 401s by reason", function()
    sb:reset()
    sb:request{ method = "POST", path = LOOKUP, json = { idType = "4", idNumber = "1" } }
    sb:request{ method = "GET", path = "/caas/api/v2/customer/7841000000000001", token = token }
    sb:request{ method = "GET", path = "/caas/api/v2/customer/7841000000000002", token = token }
    sb:request{ method = "GET", path = "/nowhere", token = token }
    local c = sb:counters()
    assert.equal(1, c.calls[LOOKUP])
    assert.equal(2, c.calls["/caas/api/v2/customer/{ecrn}"])
    assert.is_nil(c.calls["/nowhere"])
    assert.equal(1, c.unauthorized.missing)
    assert.equal(1, c.responses["401"])
    assert.equal(1, c.responses["404"])
  end)

  it("resets counters but keeps customers unless asked", function()
    local p = sandbox.example_payload("784199800000001")
    p.id_details[2] = nil
    local ecrn = sb:request{ method = "POST", path = ONBOARD, token = token, json = p }.json.data.ecrn
    assert.equal(1, sb:counters().customers.created)
    local answer = sb:reset()
    assert.is_true(answer.reset)
    local c = sb:counters()
    assert.equal(0, c.customers.created)
    assert.same({}, c.calls)
    assert.truthy(sb:customer(ecrn))
    sb:reset{ customers = true }
    assert.is_nil(sb:customer(ecrn))
    local found = sb:request{ method = "POST", path = LOOKUP, token = token,
                              json = { idType = "4", idNumber = "784199800000001" } }
    assert.equal(45001, found.json.errorCode)
    -- tokens survive a reset unless asked
    assert.equal(200, found.status)
    sb:reset{ tokens = true }
    assert.equal(401, sb:request{ method = "POST", path = LOOKUP, token = token, json = {} }.status)
    token = sb:token().access_token
  end)

  it("shows the stored customer with its statuses, IDs and payload without base64", function()
    local p = sandbox.example_payload("784199800000002")
    local ecrn = sb:request{ method = "POST", path = ONBOARD, token = token, json = p }.json.data.ecrn
    local c = sb:customer(ecrn)
    assert.equal(ecrn, c.ecrn)
    assert.equal("ACTIVE", c.customer_status)
    assert.equal(2, #c.ids)
    assert.equal("784199800000002", c.ids[1].id_number)
    assert.equal("IRFAN MANAKKAT THEKKE", c.payload.first_name)
    assert.is_nil(c.payload.customer_classification.profile_photo.base64_data)
    assert.equal("image/jpeg", c.payload.customer_classification.profile_photo.content_type)
    local slots = 0
    for _, d in pairs(c.documents) do
      slots = slots + 1
      assert.truthy(d.sha256:match("^" .. ("%x"):rep(64) .. "$"))
      assert.truthy(d.size > 0)
    end
    assert.equal(7, slots)   -- 2 additional docs, 2 IDs x front and back, the profile photo
    assert.is_nil(sb:customer("7841000000000009"))
  end)

  it("answers unknown admin calls and bad token changes with JSON errors", function()
    local t, res = sb:admin("GET", "nothing-here")
    assert.equal(404, res.status)
    assert.truthy(t.error)
    t, res = sb:admin("POST", "tokens/expire", { which = "some" })
    assert.equal(400, res.status)
    assert.truthy(t.error:find("access", 1, true))
  end)

  it("refuses admin calls from a peer that is not loopback", function()
    -- Reach 127.0.0.1 from this machine's own non-loopback address, if it has one.
    local addr = fs.capture("hostname -I 2>/dev/null"):match("(%d+%.%d+%.%d+%.%d+)")
    if not addr or addr:match("^127%.") then
      pending("no non-loopback IPv4 address on this machine")
      return
    end
    local function via(path)
      local out = fs.capture(("curl -s --cacert %s --interface %s -w ' %%{http_code}' %s"):format(
        fs.quote(sb.ca_file), addr, fs.quote(sb.base_url .. path)))
      return tonumber(out:match("(%d+)$")), out
    end
    local status, out = via("/__sandbox/counters")
    assert.equal(403, status, out)
    assert.truthy(out:find("loopback", 1, true))
    assert.equal(401, (via("/caas/api/v2/customer/7841000000000001")))   -- the API itself is reachable
  end)

  it("tells its settings, without secrets", function()
    local t = sb:admin("GET", "settings")
    assert.equal(sb.port, t.port)
    assert.equal(128, t.max_body_mb)
    local text = select(2, sb:admin("GET", "settings")).body
    assert.is_nil(text:find(sb.env.CDP_CLIENT_SECRET, 1, true))
    assert.is_nil(text:find(sb.env.CDP_PASSWORD, 1, true))
  end)
end)
