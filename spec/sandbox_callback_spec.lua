-- AML alert closure callbacks: the sandbox POSTs {ecrn, aml_scan_status,
-- customer_status} with the partner's bearer token to a receiver this spec
-- runs (luasocket, Debian's lua-socket), retrying until it answers 200.
local sandbox = require "helpers.sandbox"
local socket = require "socket"
local cjson = require "cjson"

local ONBOARD = "/caas-lcm/api/v1/CAAS/onBoarding/customer"

-- A one-connection-at-a-time HTTP receiver on a free loopback port.
local function receiver()
  local server = assert(socket.bind("127.0.0.1", 0))
  server:settimeout(20)
  local _, port = server:getsockname()
  return server, tonumber(port)
end

-- Accept one request, answer `status` with the partner's body; returns the request.
local function answer(server, status)
  local conn = assert(server:accept())
  conn:settimeout(10)
  local request = { headers = {} }
  request.line = assert(conn:receive("*l"))
  while true do
    local line = assert(conn:receive("*l"))
    if line == "" then break end
    local name, value = line:match("^([^:]+):%s*(.*)$")
    request.headers[name:lower()] = value
  end
  local length = tonumber(request.headers["content-length"])
  request.body = length and length > 0 and assert(conn:receive(length)) or ""
  local reply = cjson.encode({ status_code = status, status = status == 200 and "success" or "failed",
                               message = status == 200 and "Customer updated" or "try later" })
  conn:send(("HTTP/1.1 %d Status\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
    .. "Connection: close\r\n\r\n%s"):format(status, #reply, reply))
  conn:close()
  return request
end

-- Poll the counters until `done(counters)` holds (no timing asserts: a deadline only).
local function wait_for(sb, done)
  local counts
  for _ = 1, 100 do
    counts = sb:counters()
    if done(counts) then return counts end
    socket.sleep(0.1)
  end
  return counts
end

local function under_investigation(sb, id)
  local token = sb:token().access_token
  local p = sandbox.example_payload("784000000045013")
  p.id_details[2] = nil
  p.id_details[1].id_type = id or 4
  local res = sb:request{ method = "POST", path = ONBOARD, token = token, json = p }
  assert.equal(45013, res.json.error_code)
  return res.json.message:match("(%d+)")
end

describe("sandbox AML alert callback", function()
  local server, port, sb

  setup(function()
    server, port = receiver()
    sb = sandbox.start{ callback_url = "http://127.0.0.1:" .. port .. "/partner/aml-callback",
                        callback_token = "partner-issued-token", callback_attempts = 3,
                        callback_backoff = 0.2 }
  end)

  teardown(function()
    if sb then sb:stop() end
    if server then server:close() end
  end)

  it("delivers the closure with the bearer token, retrying until the partner answers 200", function()
    sb:reset()
    local ecrn = under_investigation(sb, 4)
    local closed = sb:close_alert(ecrn, "accept")
    assert.is_true(closed.callback_scheduled)

    local first = answer(server, 500)
    assert.equal("POST /partner/aml-callback HTTP/1.1", first.line)
    assert.equal("Bearer partner-issued-token", first.headers.authorization)
    assert.truthy(first.headers["content-type"]:find("application/json", 1, true))
    assert.same({ ecrn = ecrn, aml_scan_status = "Accepted", customer_status = "ACTIVE" }, cjson.decode(first.body))

    local second = answer(server, 200)
    assert.equal(first.body, second.body)

    local counts = wait_for(sb, function(c) return c.callbacks.delivered == 1 end)
    assert.equal(1, counts.callbacks.delivered)
    assert.equal(2, counts.callbacks.attempts)
    assert.equal(0, counts.callbacks.failed)
    assert.equal(2, #counts.callbacks.log)
    assert.equal(500, counts.callbacks.log[1].status)
    assert.equal(1, counts.callbacks.log[1].attempt)
    assert.equal(200, counts.callbacks.log[2].status)
    assert.equal(ecrn, counts.callbacks.log[2].ecrn)

    -- the customer is updated: lookup finds it active
    local c = sb:customer(ecrn)
    assert.equal("closed", c.alert)
    assert.equal("ACTIVE", c.customer_status)
  end)

  it("sends a rejection, and gives up after the configured attempts", function()
    sb:reset({ customers = true })
    local ecrn = under_investigation(sb, 2)
    local closed = sb:close_alert(ecrn, "reject")
    assert.equal("Rejected", closed.aml_scan_status)
    assert.equal("REJECTED", closed.customer_status)
    for attempt = 1, 3 do
      local req = answer(server, attempt == 3 and 404 or 500)
      assert.same({ ecrn = ecrn, aml_scan_status = "Rejected", customer_status = "REJECTED" },
        cjson.decode(req.body))
    end
    local counts = wait_for(sb, function(c) return c.callbacks.failed == 1 end)
    assert.equal(1, counts.callbacks.failed)
    assert.equal(3, counts.callbacks.attempts)
    assert.equal(0, counts.callbacks.delivered)
    assert.equal(404, counts.callbacks.log[3].status)
  end)

  it("refuses a bad decision, an alert that is not open, and an unknown customer", function()
    local ecrn = under_investigation(sb, 29)
    local _, bad = sb:close_alert(ecrn, "maybe")
    assert.equal(400, bad.status)
    local _, ok = sb:close_alert(ecrn, "accept")
    assert.equal(200, ok.status)
    answer(server, 200)
    local t, again = sb:close_alert(ecrn, "accept")
    assert.equal(409, again.status)
    assert.truthy(t.error:find("no open AML alert", 1, true))
    local _, missing = sb:close_alert("7841000000000001", "accept")
    assert.equal(404, missing.status)
  end)
end)

describe("sandbox AML alert callback to a partner that is down", function()
  it("records each failed attempt with its error", function()
    local server, port = receiver()
    server:close()   -- nothing listens on this port any more
    local sb = sandbox.start{ callback_url = "http://localhost:" .. port .. "/cb", callback_token = "t",
                              callback_attempts = 2, callback_backoff = 0.1, http = true }
    finally(function() sb:stop() end)
    local ecrn = under_investigation(sb, 4)
    sb:close_alert(ecrn, "accept")
    local counts = wait_for(sb, function(c) return c.callbacks.failed == 1 end)
    assert.equal(1, counts.callbacks.failed)
    assert.equal(2, counts.callbacks.attempts)
    assert.truthy(counts.callbacks.log[1].error:find("connect", 1, true))
    assert.is_nil(counts.callbacks.log[1].status)
  end)
end)

describe("sandbox AML alert callback over HTTPS", function()
  -- A second sandbox is the HTTPS peer: any answer from it (here a JSON 404)
  -- shows that the TLS handshake and certificate check passed.
  local peer

  setup(function()
    peer = sandbox.start{}
  end)

  teardown(function()
    if peer then peer:stop() end
  end)

  local function attempt_with(ca, host)
    local url = peer.base_url:gsub("127%.0%.0%.1", host or "localhost") .. "/partner/cb"
    local sb = sandbox.start{ http = true, callback_url = url, callback_token = "t",
                              callback_attempts = 1, callback_ca = ca }
    local ecrn = under_investigation(sb, 4)
    sb:close_alert(ecrn, "accept")
    local counts = wait_for(sb, function(c) return c.callbacks.attempts == 1 end)
    sb:stop()
    assert.truthy(counts.callbacks.log[1], "no callback attempt recorded")
    return counts.callbacks.log[1]
  end

  it("verifies the partner's certificate and name against the CA it was given", function()
    local entry = attempt_with(peer.ca_file)
    assert.equal(404, entry.status)
    assert.is_nil(entry.error)
    entry = attempt_with(peer.ca_file, "127.0.0.1")
    assert.equal(404, entry.status)
  end)

  it("refuses a partner whose certificate it cannot verify", function()
    local entry = attempt_with(nil)     -- the system's CAs do not know the peer's CA
    assert.is_nil(entry.status)
    assert.truthy(entry.error:find("tls", 1, true))
  end)
end)
