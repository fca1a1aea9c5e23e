-- The AML alert closure callback in a real nginx: the sandbox closes an alert
-- and calls the example's /cdp/aml-callback (cdp.ngx.callback_handler), which
-- records the new status; refused calls answer in the documented shape and
-- never reach the partner's function; a repeated event is acknowledged once.
local sandbox = require "helpers.sandbox"
local nginx = require "helpers.nginx"
local fs = require "cdp.sandbox.fs"
local cjson = require "cjson"

local EXAMPLE = "examples/openresty/nginx.conf"
local CALLBACK = "/cdp/aml-callback"
local TOKEN = "partner-issued-" .. fs.random_hex(8)

local function record(emirates_id)
  local f = assert(io.open("examples/ekyc-export.jsonl"))
  local r = cjson.decode(f:read("*l"))
  f:close()
  r["Emirates ID"] = emirates_id
  return r
end

local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- The documented answer: {status_code, status, message}, HTTP status = status_code.
local function assert_answer(res, status)
  assert.equal(status, res.status, res.body)
  assert.same({ "message", "status", "status_code" }, keys(res.json or {}))
  assert.equal(status, res.json.status_code)
  assert.equal(status == 200 and "success" or "failed", res.json.status)
  assert.is_string(res.json.message)
  assert.matches("^application/json", res.headers["content-type"])
end

local function wait_for(done)
  for _ = 1, 200 do
    local v = done()
    if v then return v end
    fs.sleep(0.05)
  end
  return nil
end

describe("openresty AML callback", function()
  local sb, srv

  local function known(ecrn)
    return srv:request{ path = "/customers/" .. ecrn }.json
  end

  local function post(event, headers)
    local h = { Authorization = "Bearer " .. TOKEN }
    for k, v in pairs(headers or {}) do h[k] = v or nil end
    return srv:request{ method = "POST", path = CALLBACK, json = event, headers = h }
  end

  setup(function()
    -- The sandbox needs the callback URL before nginx exists: pick the port
    -- first, and pick again should it be taken by the time nginx binds it.
    for _ = 1, 5 do
      local port = nginx.random_port()
      while nginx.listened(port) do port = nginx.random_port() end
      sb = sandbox.start{ callback_url = "http://127.0.0.1:" .. port .. CALLBACK, callback_token = TOKEN,
                          callback_attempts = 3, callback_backoff = 0.2 }
      local env = {}
      for k, v in pairs(sb.env) do env[k] = v end
      env.CDP_CALLBACK_TOKEN = TOKEN
      local ok, started = pcall(nginx.start, { conf = nginx.render(EXAMPLE, { workers = 2 }), env = env,
                                               port = port })
      if ok then srv = started break end
      sb:stop()
      sb = nil
      if not tostring(started):find("port taken", 1, true) then error(started, 0) end
    end
    assert(srv, "no free port for nginx")
  end)

  teardown(function()
    if srv then srv:stop() end
    if sb then sb:stop() end
  end)

  local ecrn

  it("onboards a mapped record through /onboard and answers the ECRN", function()
    local res = srv:request{ method = "POST", path = "/onboard", json = record("784198612345671") }
    assert.equal(200, res.status, res.body)
    assert.matches("^%d+$", res.json.ecrn)
    assert.equal("ACTIVE", res.json.customer_status)
    -- The documents crossed into the worker thread as paths and were streamed from disk.
    local stored = sb:customer(res.json.ecrn)
    assert.equal("Zafar", stored.payload.first_name)
    assert.equal(sandbox.sha256_file("examples/images/id-front.jpg"),
                 stored.documents["id_details[0].id_front"].sha256)
    assert.equal(sandbox.sha256_file("examples/images/face.jpg"),
                 stored.documents["customer_classification.profile_photo"].sha256)
    assert.equal("ACTIVE", known(res.json.ecrn).customer_status)
  end)

  it("answers the CDP's error as JSON (an alert under investigation, a refused record)", function()
    local res = srv:request{ method = "POST", path = "/onboard", json = record("784000000045013") }
    assert.equal(409, res.status, res.body)
    assert.equal(45013, res.json.error.code)
    ecrn = res.json.error.ecrn
    assert.matches("^%d+$", ecrn)
    assert.same({ ecrn = ecrn, customer_status = "KYC_PENDING", aml_scan_status = "Under Investigation",
                  updates = 0 }, known(ecrn))

    local bad = record("784198612345671")
    bad["Date of Birth"] = "31/02/1990"
    res = srv:request{ method = "POST", path = "/onboard", json = bad }
    assert.equal(422, res.status, res.body)
    assert.equal("validation", res.json.error.kind)
  end)

  it("records the status the sandbox's closure callback brings", function()
    assert.truthy(ecrn, "needs the customer under investigation")
    sb:reset()
    local closed = sb:close_alert(ecrn, "accept")
    assert.is_true(closed.callback_scheduled)
    local now = wait_for(function()
      local k = known(ecrn)
      return k.customer_status == "ACTIVE" and k
    end)
    assert.same({ ecrn = ecrn, customer_status = "ACTIVE", aml_scan_status = "Accepted", updates = 1 }, now)
    local counts = wait_for(function()
      local c = sb:counters()
      return (c.callbacks and c.callbacks.delivered or 0) == 1 and c
    end)
    assert.truthy(counts, "the sandbox never saw a 200")
    assert.equal(1, counts.callbacks.attempts)
    assert.equal(200, counts.callbacks.log[1].status)
  end)

  it("answers 404 to the sandbox's closure for a customer the partner never onboarded", function()
    -- Created straight at the sandbox (a passport, so not the customer above).
    local p = sandbox.example_payload("784000000045013")
    p.id_details[2] = nil
    p.id_details[1].id_type = 2
    local res = sb:request{ method = "POST", path = "/caas-lcm/api/v1/CAAS/onBoarding/customer",
                            token = sb:token().access_token, json = p }
    assert.equal(45013, res.json.error_code)
    local stranger = res.json.message:match("(%d+)")
    assert.are_not.equal(ecrn, stranger)
    sb:reset()
    assert.is_true(sb:close_alert(stranger, "reject").callback_scheduled)
    local counts = wait_for(function()
      local c = sb:counters()
      return (c.callbacks and c.callbacks.failed or 0) == 1 and c
    end)
    assert.truthy(counts, "the sandbox did not give up")
    assert.equal(3, counts.callbacks.attempts)  -- callback_attempts: it kept trying
    for _, attempt in ipairs(counts.callbacks.log) do assert.equal(404, attempt.status) end
    assert.equal(404, srv:request{ path = "/customers/" .. stranger }.status)
  end)

  it("refuses unauthenticated, malformed, oversized and out-of-set calls before the partner's function", function()
    assert.truthy(ecrn, "needs the customer")
    local before = known(ecrn)
    -- Each would change the customer if it reached on_event.
    local event = { ecrn = ecrn, aml_scan_status = "Rejected", customer_status = "BLOCKED" }

    assert_answer(post(event, { Authorization = false }), 401)
    assert_answer(post(event, { Authorization = "Bearer wrong-" .. TOKEN }), 401)
    assert_answer(post(event, { Authorization = "Bearer " .. TOKEN:sub(1, -2) }), 401)
    assert_answer(post(event, { Authorization = "Basic " .. TOKEN }), 401)
    assert_answer(srv:request{ method = "GET", path = CALLBACK,
                               headers = { Authorization = "Bearer " .. TOKEN } }, 405)
    assert_answer(srv:request{ method = "POST", path = CALLBACK, body = cjson.encode(event),
      headers = { Authorization = "Bearer " .. TOKEN, ["Content-Type"] = "text/plain" } }, 415)

    local big = { ecrn = ecrn, aml_scan_status = "Rejected", customer_status = "BLOCKED",
                  padding = ("x"):rep(20000) }
    assert_answer(post(big), 413)
    assert_answer(srv:request{ method = "POST", path = CALLBACK, json = big, chunked = true,
                               headers = { Authorization = "Bearer " .. TOKEN } }, 413)

    local function raw(body)
      return srv:request{ method = "POST", path = CALLBACK, body = body,
        headers = { Authorization = "Bearer " .. TOKEN, ["Content-Type"] = "application/json" } }
    end
    assert_answer(raw('{"ecrn": "' .. ecrn .. '", "aml_scan_status": '), 400)
    assert_answer(raw("[]"), 400)
    assert_answer(raw(""), 400)
    for _, wrong in ipairs({
      { customer_status = "DELETED" }, { customer_status = "active" }, { aml_scan_status = "Maybe" },
      { aml_scan_status = "accepted" }, { ecrn = tonumber(ecrn) }, { ecrn = "12ab" }, { ecrn = false },
    }) do
      local e = { ecrn = ecrn, aml_scan_status = "Rejected", customer_status = "BLOCKED" }
      for k, v in pairs(wrong) do e[k] = v end
      assert_answer(post(e), 400)
    end
    assert_answer(post({ aml_scan_status = "Rejected", customer_status = "BLOCKED" }), 400)

    assert.same(before, known(ecrn))
  end)

  it("acknowledges a repeated delivery without calling the partner's function twice", function()
    assert.truthy(ecrn, "needs the customer")
    -- The sandbox's delivery again: already handled.
    assert_answer(post({ ecrn = ecrn, aml_scan_status = "Accepted", customer_status = "ACTIVE" }), 200)
    assert.equal(1, known(ecrn).updates)
    -- A new event is handled once, however often it comes.
    local event = { ecrn = ecrn, aml_scan_status = "Rejected", customer_status = "BLOCKED" }
    for _ = 1, 3 do assert_answer(post(event), 200) end
    assert.same({ ecrn = ecrn, customer_status = "BLOCKED", aml_scan_status = "Rejected", updates = 2 },
                known(ecrn))
  end)

  it("answers 404 for a customer the partner does not know", function()
    assert_answer(post({ ecrn = "7841999999999999", aml_scan_status = "Accepted", customer_status = "ACTIVE" }),
                  404)
    -- Not remembered as handled: once the partner knows it, it is updated.
    assert_answer(post({ ecrn = "7841999999999999", aml_scan_status = "Accepted", customer_status = "ACTIVE" }),
                  404)
  end)

  it("keeps credentials and tokens out of nginx's logs", function()
    local logs = srv:error_log() .. table.concat(srv:access_lines(), "\n")
    assert.truthy(logs:find("/cdp/aml-callback", 1, true))  -- the logs are the right ones
    for _, secret in ipairs({ sb.env.CDP_CLIENT_SECRET, sb.env.CDP_PASSWORD, TOKEN }) do
      assert.falsy(logs:find(secret, 1, true))
    end
  end)
end)
