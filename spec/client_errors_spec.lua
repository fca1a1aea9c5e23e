-- Every documented error response and every injected fault, through the
-- client against the sandbox over HTTPS, lands in the one error shape.
local sandbox = require "helpers.sandbox"
local cdp = require "cdp"
local client_mod = require "cdp.client"
local errors = require "cdp.errors"

local LOOKUP = "/caas/api/v2/customer/validate"
local ONBOARD = "/caas-lcm/api/v1/CAAS/onBoarding/customer"
local GET = "/caas/api/v2/customer/{ecrn}"
local TOKEN = "/auth/realms/cdp/protocol/openid-connect/token"

local function options_for(sb, extra)
  local e = sb.env
  local opts = { base_url = sb.base_url, ca_file = sb.ca_file, client_id = e.CDP_CLIENT_ID,
                 client_secret = e.CDP_CLIENT_SECRET, username = e.CDP_USERNAME,
                 password = e.CDP_PASSWORD, scope = e.CDP_SCOPE, backoff = 0.01, retries = 2 }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return opts
end

local function n(v) return v or 0 end

local shell_quote = require("helpers.files").quote

describe("cdp.client errors", function()
  local sb, c

  setup(function()
    sb = sandbox.start{}
    c = cdp.client(options_for(sb))
  end)

  teardown(function()
    if c then c:close() end
    if sb then sb:stop() end
  end)

  before_each(function()
    sb:reset()
  end)

  describe("documented lookup answers (HTTP 200, camelCase)", function()
    local cases = {
      { "784199554586091", 45001, "CUSTOMER_NOT_FOUND", "business", 404 },
      { "784000000045003", 45003, "CUSTOMER_NOT_SUBSCRIBED", "business", 404 },
      { "784000000040001", 40001, "INVALID_FORMAT", "validation", 400 },
      { "784000000045006", 45006, "SEARCH_FAILED", "server", 500 },
      { "784000000045013", 45013, "UNDER_COMPLIANCE_INVESTIGATION", "business", 500 },
      { "784000000045051", 45051, "CUSTOMER_BLOCKED", "business", 404 },
    }
    for _, case in ipairs(cases) do
      local id, code, name, kind, status_code = case[1], case[2], case[3], case[4], case[5]
      it(("maps %d to kind %s, name %s"):format(code, kind, name), function()
        local data, err = c:lookup(4, id)
        assert.is_nil(data)
        assert.is_true(errors.is(err))
        assert.are.equal(kind, err.kind)
        assert.are.equal(code, err.code)
        assert.are.equal(name, err.name)
        assert.are.equal(200, err.http_status)
        assert.are.equal(status_code, err.status_code)
        assert.is_string(err.message)
        assert.are.equal(code == 45006, err.retryable)
      end)
    end

    it("returns the data of a found customer", function()
      local res = sb:request{ method = "POST", path = ONBOARD, token = sb:token().access_token,
                              json = sandbox.example_payload("784199554586081") }
      assert.are.equal(200, res.status)
      local data = assert(c:lookup(4, "784199554586081"))
      assert.are.equal(res.json.data.ecrn, data.ecrn)
      assert.are.equal("ACTIVE", data.customer_status)
      -- An ID number given as a Lua number goes out as its digits (not 7.8419955458608e+14).
      local by_number = assert(c:lookup(4, 784199554586081))
      assert.are.equal(data.ecrn, by_number.ecrn)
      local got = assert(c:get(data.ecrn))
      assert.are.equal(data.ecrn, got.ecrn)
      assert.are.equal(1, sb:counters().calls[GET])
    end)
  end)

  describe("get by ECRN", function()
    it("maps an unknown ECRN to 45001 and the not-subscribed ECRN to 45003", function()
      local _, err = c:get("7841000000000000")
      assert.are.equal("business", err.kind)
      assert.are.equal(45001, err.code)
      _, err = c:get("7840000000045003")
      assert.are.equal(45003, err.code)
      assert.are.equal("CUSTOMER_NOT_SUBSCRIBED", err.name)
    end)

    it("raises on an ECRN that is not digits", function()
      assert.has_error(function() c:get("12a") end)
      assert.has_error(function() c:get({}) end)
    end)
  end)

  describe("the gateway's 401 (Spring body)", function()
    it("maps the real 401 bodies of lookup and onboarding to kind auth", function()
      for _, case in ipairs({ { LOOKUP, "lookup" }, { ONBOARD, "onboard" } }) do
        local res = sb:request{ method = "POST", path = case[1], json = { idType = "4" } }
        assert.are.equal(401, res.status)
        local data, err = client_mod._results[case[2]]({ status = res.status, body = res.body }, case[2])
        assert.is_nil(data)
        assert.are.equal("auth", err.kind)
        assert.are.equal(401, err.http_status)
        assert.are.equal(401, err.status_code)
        assert.matches("Unauthorized", err.message)
      end
    end)

    it("maps a refused client secret (Keycloak body) to kind auth", function()
      local bad = cdp.client(options_for(sb, { client_secret = "wrong-secret" }))
      local _, err = bad:lookup(4, "784199554586091")
      bad:close()
      assert.are.equal("auth", err.kind)
      assert.are.equal("UNAUTHORIZED_CLIENT", err.name)
      assert.are.equal(401, err.http_status)
      assert.are.equal(1, sb:counters().tokens.refused.password)
    end)
  end)

  describe("injected faults", function()
    for _, kind in ipairs({ "502", "reset", "truncate" }) do
      it("retries a lookup after one " .. kind .. " and succeeds", function()
        sb:fault{ path = LOOKUP, kind = kind, when = "before", count = 1 }
        local _, err = c:lookup(4, "784199554586091")
        assert.are.equal(45001, err.code)
        assert.are.equal(2, sb:counters().calls[LOOKUP])
      end)
    end

    it("retries a get after one 502 and succeeds", function()
      sb:fault{ path = GET, kind = "502", count = 1 }
      local _, err = c:get("7841000000000000")
      assert.are.equal(45001, err.code)
      assert.are.equal(2, sb:counters().calls[GET])
    end)

    it("retries a lookup that timed out", function()
      local slow = cdp.client(options_for(sb, { timeout = 1 }))
      sb:fault{ path = LOOKUP, kind = "delay", delay = 3, count = 1 }
      local _, err = slow:lookup(4, "784199554586091")
      slow:close()
      assert.are.equal(45001, err.code)
      assert.are.equal(2, sb:counters().calls[LOOKUP])
    end)

    it("gives up after its retries with a typed, retryable error", function()
      sb:fault{ path = LOOKUP, kind = "502", count = 10 }
      local data, err = c:lookup(4, "784199554586091")
      assert.is_nil(data)
      assert.are.equal("server", err.kind)
      assert.are.equal(502, err.http_status)
      assert.is_true(err.retryable)
      assert.are.equal(3, sb:counters().calls[LOOKUP])  -- 1 + retries (2)
    end)

    it("gives kind timeout when every attempt times out", function()
      local slow = cdp.client(options_for(sb, { timeout = 0.5, retries = 1 }))
      sb:fault{ path = LOOKUP, kind = "delay", delay = 2, count = 2 }
      local _, err = slow:lookup(4, "784199554586091")
      slow:close()
      assert.are.equal("timeout", err.kind)
      assert.is_true(err.retryable)
    end)

    it("gives kind protocol for an answer that is not JSON", function()
      sb:fault{ path = LOOKUP, kind = "invalid_json", when = "after", count = 1 }
      local data, err = c:lookup(4, "784199554586091")
      assert.is_nil(data)
      assert.are.equal("protocol", err.kind)
      assert.are.equal(200, err.http_status)
    end)

    for _, kind in ipairs({ "502", "reset", "invalid_json" }) do
      it("types a " .. kind .. " at the token endpoint and recovers on the next call", function()
        -- Another scope: a token cache entry of its own, so a token is fetched.
        local fresh = cdp.client(options_for(sb, { retries = 0, scope = "openid " .. sb.env.CDP_SCOPE }))
        sb:fault{ path = TOKEN, kind = kind, count = 1 }
        local data, err = fresh:lookup(4, "784199554586091")
        assert.is_nil(data)
        assert.is_true(errors.is(err))
        local want = ({ ["502"] = "server", reset = "transport", invalid_json = "protocol" })[kind]
        assert.are.equal(want, err.kind)
        assert.are.equal(0, n(sb:counters().calls[LOOKUP]))
        local _, later = fresh:lookup(4, "784199554586091")
        fresh:close()
        assert.are.equal(45001, later.code)
      end)
    end
  end)

  describe("TLS and transport", function()
    it("gives kind tls for the sandbox's certificate without its CA", function()
      local opts = options_for(sb)
      opts.ca_file = "/etc/ssl/certs/ca-certificates.crt"
      local other = cdp.client(opts)
      local _, err = other:lookup(4, "784199554586091")
      other:close()
      assert.are.equal("tls", err.kind)
      assert.is_false(err.retryable)
      assert.are.equal(0, n(sb:counters().calls[TOKEN]))
    end)

    it("gives kind transport, retryable, when nothing listens, after bounded retries", function()
      local opts = options_for(sb, { retries = 2 })
      opts.base_url = "https://127.0.0.1:1"
      local dead = cdp.client(opts)
      local _, err = dead:lookup(4, "784199554586091")
      dead:close()
      assert.are.equal("transport", err.kind)
      assert.are.equal("connect", err.reason)
      assert.is_true(err.retryable)
    end)

    it("loads an mTLS certificate and key, and gives kind tls when they cannot be read", function()
      local dir = sb.dir .. "/mtls"
      assert(os.execute("mkdir -p " .. dir .. " && openssl req -x509 -newkey rsa:2048 -nodes -days 1"
        .. " -subj /CN=cdp-spec-client -keyout " .. dir .. "/key.pem -out " .. dir .. "/cert.pem 2>/dev/null"))
      local scope = "openid " .. sb.env.CDP_SCOPE
      local good = cdp.client(options_for(sb, { client_cert = dir .. "/cert.pem", client_key = dir .. "/key.pem",
                                               scope = scope }))
      local _, err = good:lookup(4, "784199554586091")
      good:close()
      assert.are.equal(45001, err.code)
      local bad = cdp.client(options_for(sb, { client_cert = dir .. "/missing.pem", client_key = dir .. "/key.pem",
                                              scope = scope }))
      _, err = bad:lookup(4, "784199554586091")
      bad:close()
      assert.are.equal("tls", err.kind)
      assert.is_false(err.retryable)
    end)

    it("caps the size of a response: kind protocol beyond max_response_bytes", function()
      -- A token answer is about 300 bytes and a found customer's lookup more:
      -- 256 bytes stops the first answer that passes it.
      local small = cdp.client(options_for(sb, { max_response_bytes = 256, scope = "openid " .. sb.env.CDP_SCOPE }))
      local data, err = small:lookup(4, "784199554586091")
      small:close()
      assert.is_nil(data)
      assert.are.equal("protocol", err.kind)
      assert.matches("larger than 256 bytes", err.message)
      assert.is_false(err.retryable)
      assert.has_error(function() cdp.client(options_for(sb, { max_response_bytes = 10 })) end)
    end)

    it("talks plain HTTP to a loopback sandbox", function()
      local plain = sandbox.start{ http = true }
      local opts = options_for(plain)
      opts.ca_file = nil
      local p = cdp.client(opts)
      local _, err = p:lookup(4, "784199554586091")
      p:close()
      plain:stop()
      assert.are.equal(45001, err.code)
    end)
  end)

  describe("options", function()
    it("refuses http:// except to loopback", function()
      local opts = options_for(sb)
      opts.base_url = "http://cdp.example.com"
      assert.has_error(function() cdp.client(opts) end,
        "cdp.client: http:// is refused except to loopback; use https://")
      opts.base_url = "ftp://127.0.0.1"
      assert.has_error(function() cdp.client(opts) end)
      for _, url in ipairs({ "http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9" }) do
        opts.base_url = url
        cdp.client(opts):close()
      end
    end)

    it("raises on wrong types and unknown options", function()
      local cases = {
        { timeout = "10" }, { connect_timeout = -1 }, { client_id = 5 }, { headers = "X-API-Key: 1" },
        { headers = { ["X-API-Key"] = 1 } }, { headers = { ["Bad Name"] = "x" } },
        { headers = { ["X-API-Key"] = "a\r\nInjected: 1" } }, { retries = "3" }, { colour = "blue" },
        { client_cert = "/tmp/cert.pem" },
      }
      for _, extra in ipairs(cases) do
        assert.has_error(function() cdp.client(options_for(sb, extra)) end)
      end
      assert.has_error(function() cdp.client("https://x") end)
      assert.has_error(function() c:lookup({}, "1") end)
      assert.has_error(function() c:lookup(4, true) end)
    end)

    it("reads every setting not given from CDP_* environment variables", function()
      local e = sb.env
      local env = {
        "CDP_BASE_URL=" .. sb.base_url, "CDP_CLIENT_ID=" .. e.CDP_CLIENT_ID,
        "CDP_CLIENT_SECRET=" .. e.CDP_CLIENT_SECRET, "CDP_USERNAME=" .. e.CDP_USERNAME,
        "CDP_PASSWORD=" .. e.CDP_PASSWORD, "CDP_SCOPE=" .. e.CDP_SCOPE, "CDP_CA_FILE=" .. sb.ca_file,
        "LUA_PATH=" .. os.getenv("LUA_PATH"), "LUA_CPATH=" .. os.getenv("LUA_CPATH"),
      }
      for i, v in ipairs(env) do env[i] = shell_quote(v) end
      local script = [[
        local cdp = require "cdp"
        local c = cdp.client{ headers = { ["X-API-Key"] = "k" } }
        local _, err = c:lookup(4, "784199554586091")
        io.write(tostring(err.code))
      ]]
      local cmd = "env -i " .. table.concat(env, " ") .. " " .. (os.getenv("CDP_LUA") or "lua5.4")
        .. " -e " .. shell_quote(script) .. " 2>&1"
      local p = assert(io.popen(cmd))
      local out = p:read("*a")
      p:close()
      assert.are.equal("45001", out)
      assert.are.equal(1, sb:counters().tokens.granted.password)
    end)

    it("uses the document's scope by default", function()
      assert.are.equal("api://3a3f52a1-1b64-4c27-81f0-50a6ca01324d/customer", client_mod.DEFAULT_SCOPE)
    end)
  end)
end)
