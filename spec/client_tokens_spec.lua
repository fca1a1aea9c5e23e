-- The client's token handling against the sandbox over HTTPS: one grant and
-- one connection for many calls, refresh ahead of expiry, fallbacks, 401s.
local sandbox = require "helpers.sandbox"
local core = require "cdp.core"

local TOKEN = "/auth/realms/cdp/protocol/openid-connect/token"

local function client_for(sb, extra) return sb:client(extra) end

local function n(v) return v or 0 end

local function monotonic_seconds()
  -- os.clock is CPU time; os.time has 1 s steps, enough for a 20 s run.
  return os.time()
end

describe("cdp.client tokens", function()
  local sb

  before_each(function()
    sb = sandbox.start{ token_ttl = 300, refresh_ttl = 600 }
  end)

  after_each(function()
    if sb then sb:stop() end
  end)

  it("makes 1,000 lookups with one password grant, one connection and no 401", function()
    local c = client_for(sb)
    for i = 1, 1000 do
      local data, err = c:lookup(4, ("784%012d"):format(i))
      assert.is_nil(data)
      assert.are.equal(45001, err.code)
    end
    local counters = sb:counters()
    assert.are.equal(1, counters.tokens.granted.password)
    assert.are.equal(0, n(counters.tokens.granted.refresh_token))
    assert.are.equal(1000, counters.calls["/caas/api/v2/customer/validate"])
    assert.are.equal(0, n(counters.unauthorized.total))
    assert.are.equal(1, counters.connections)
    assert.are.equal(1, c:stats().connects)
    c:close()
  end)

  it("refreshes 5-second tokens a few times over a 20 s run: refresh grants only, no 401", function()
    sb:stop()
    sb = sandbox.start{ token_ttl = 5, refresh_ttl = 600 }
    local c = client_for(sb)
    local calls = 0
    local started = monotonic_seconds()
    while monotonic_seconds() - started < 20 do
      local _, err = c:lookup(4, "784199554586091")
      assert.are.equal(45001, err.code)
      calls = calls + 1
      core.sleep(0.05)
    end
    local counters = sb:counters()
    c:close()
    assert.are.equal(1, counters.tokens.granted.password)
    local refreshes = n(counters.tokens.granted.refresh_token)
    -- 20 s of 5 s tokens: at least 3 refreshes; "a few" means far fewer than calls.
    assert.is_true(refreshes >= 3, "refresh grants: " .. refreshes)
    assert.is_true(refreshes <= 10, "refresh grants: " .. refreshes)
    assert.is_true(calls > 5 * refreshes, "calls " .. calls .. " vs refreshes " .. refreshes)
    assert.are.equal(0, n(counters.unauthorized.total))
    assert.are.equal(0, n(counters.tokens.refused.password) + n(counters.tokens.refused.refresh_token))
  end)

  it("falls back to the password grant when the refresh token is revoked", function()
    local c = client_for(sb)
    assert.are.equal(45001, select(2, c:lookup(4, "784199554586091")).code)
    sb:reset()
    sb:revoke_tokens("refresh")
    sb:expire_tokens("access")
    local _, err = c:lookup(4, "784199554586091")
    local counters = sb:counters()
    c:close()
    assert.are.equal(45001, err.code)  -- the call itself succeeded
    assert.are.equal(1, counters.tokens.refused.refresh_token)
    assert.are.equal(1, counters.tokens.granted.password)
    assert.are.equal(1, counters.unauthorized.total)  -- the expired access token, once
  end)

  it("answers a revoked access token's 401 with one new token and succeeds", function()
    local c = client_for(sb)
    assert.are.equal(45001, select(2, c:lookup(4, "784199554586091")).code)
    sb:reset()
    sb:revoke_tokens("access")
    local _, err = c:lookup(4, "784199554586091")
    local counters = sb:counters()
    c:close()
    assert.are.equal(45001, err.code)
    assert.are.equal(1, counters.unauthorized.total)
    assert.are.equal(1, counters.unauthorized.revoked)
    assert.are.equal(1, n(counters.tokens.granted.refresh_token) + n(counters.tokens.granted.password))
    assert.are.equal(2, counters.calls["/caas/api/v2/customer/validate"])
  end)

  it("gives kind auth for a wrong password, after exactly one refused grant", function()
    local c = client_for(sb, { password = "not-the-password" })
    local data, err = c:lookup(4, "784199554586091")
    local counters = sb:counters()
    c:close()
    assert.is_nil(data)
    assert.are.equal("auth", err.kind)
    assert.are.equal(401, err.http_status)
    assert.are.equal("INVALID_GRANT", err.name)
    assert.is_false(err.retryable)
    assert.are.equal(1, counters.tokens.refused.password)
    assert.are.equal(1, counters.calls[TOKEN])
    assert.are.equal(0, n(counters.calls["/caas/api/v2/customer/validate"]))
  end)

  it("keeps a wrong password's client apart from a good client's token", function()
    local good = client_for(sb)
    assert.are.equal(45001, select(2, good:lookup(4, "784199554586091")).code)
    local bad = client_for(sb, { password = "not-the-password" })
    local _, err = bad:lookup(4, "784199554586091")
    assert.are.equal("auth", err.kind)
    assert.are.equal(1, good:stats().clients)
    good:close()
    bad:close()
  end)

  it("shares one token between clients with the same credentials", function()
    local a, b = client_for(sb), client_for(sb)
    assert.are.equal(45001, select(2, a:lookup(4, "784199554586091")).code)
    assert.are.equal(45001, select(2, b:lookup(4, "784199554586091")).code)
    assert.are.equal(2, a:stats().clients)
    local counters = sb:counters()
    a:close()
    b:close()
    assert.are.equal(1, counters.tokens.granted.password)
  end)
end)
