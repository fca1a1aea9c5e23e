-- The sandbox's Keycloak-style token endpoint: grants, refusals, lifetimes,
-- single-use refresh tokens, and expiry / revocation through the admin API.
local sandbox = require "helpers.sandbox"

local TOKEN = "/auth/realms/cdp/protocol/openid-connect/token"
local LOOKUP = "/caas/api/v2/customer/validate"

describe("sandbox tokens", function()
  local sb

  setup(function()
    sb = sandbox.start{ token_ttl = 120, refresh_ttl = 240 }
  end)

  teardown(function()
    if sb then sb:stop() end
  end)

  local function grant(form)
    return sb:request{ method = "POST", path = TOKEN, form = form }
  end

  local function password_form(extra)
    local form = sb:partner_token_form()
    for k, v in pairs(extra or {}) do form[k] = v end
    return form
  end

  local function refresh_form(token)
    return { grant_type = "refresh_token", client_id = sb.env.CDP_CLIENT_ID,
             client_secret = sb.env.CDP_CLIENT_SECRET, refresh_token = token }
  end

  local function lookup(token)
    return sb:request{ method = "POST", path = LOOKUP, token = token,
                       json = { idType = "4", idNumber = "784190000000001" } }
  end

  it("grants a password token with the document's fields and the configured lifetimes", function()
    sb:reset()
    local res = grant(password_form({ scope = sb.env.CDP_SCOPE }))
    assert.equal(200, res.status)
    local t = res.json
    assert.equal("bearer", t.token_type)
    assert.equal(120, t.expires_in)
    assert.equal(240, t.refresh_expires_in)
    assert.equal(sb.env.CDP_SCOPE, t.scope)
    assert.equal(0, t["not-before-policy"])
    assert.equal("string", type(t.session_state))
    assert.truthy(#t.access_token > 20 and #t.access_token <= 600)
    assert.truthy(#t.refresh_token > 20 and #t.refresh_token <= 600)
    assert.equal("no-store", res.headers["cache-control"])
    assert.equal(200, lookup(t.access_token).status)
    assert.equal(1, sb:counters().tokens.granted.password)
  end)

  it("grants without scope, as production partner clients ask", function()
    local res = grant(password_form())
    assert.equal(200, res.status)
    assert.equal(sb.env.CDP_SCOPE, res.json.scope)
  end)

  it("refuses bad requests with Keycloak's error bodies and counts them", function()
    sb:reset()
    local cases = {
      { password_form({ password = "wrong" }), 401, "invalid_grant", "Invalid user credentials" },
      { password_form({ username = "nobody" }), 401, "invalid_grant", "Invalid user credentials" },
      { password_form({ client_secret = "wrong" }), 401, "unauthorized_client",
        "Invalid client or Invalid client credentials" },
      { password_form({ scope = "api://other/thing" }), 400, "invalid_scope", "Invalid scopes: api://other/thing" },
      { password_form({ grant_type = "client_credentials" }), 400, "unsupported_grant_type",
        "Unsupported grant_type" },
      { { client_id = sb.env.CDP_CLIENT_ID }, 400, "invalid_request", "Missing form parameter: grant_type" },
      { refresh_form("sbx-rt-unknown"), 400, "invalid_grant", "Invalid refresh token" },
    }
    for _, c in ipairs(cases) do
      local res = grant(c[1])
      assert.equal(c[2], res.status)
      assert.same({ error = c[3], error_description = c[4] }, res.json)
    end
    local counts = sb:counters().tokens
    assert.equal(4, counts.refused.password)
    assert.equal(2, counts.refused.other)
    assert.equal(1, counts.refused.refresh_token)
    assert.equal(0, counts.granted.password)
  end)

  it("refuses a grant_type sent twice, as the document's examples do", function()
    local body = "grant_type=password&" .. require("helpers.http").form(password_form())
    local res = sb:request{ method = "POST", path = TOKEN, body = body,
                            headers = { ["Content-Type"] = "application/x-www-form-urlencoded" } }
    assert.equal(400, res.status)
    assert.equal("invalid_request", res.json.error)
  end)

  it("refuses a token request that is not form-encoded", function()
    local res = sb:request{ method = "POST", path = TOKEN, json = password_form() }
    assert.equal(400, res.status)
    assert.equal("invalid_request", res.json.error)
  end)

  it("rotates refresh tokens: each is good for one refresh only", function()
    sb:reset()
    local first = grant(password_form()).json
    local second = grant(refresh_form(first.refresh_token))
    assert.equal(200, second.status)
    assert.are_not.equal(first.access_token, second.json.access_token)
    assert.are_not.equal(first.refresh_token, second.json.refresh_token)
    assert.equal(200, lookup(second.json.access_token).status)
    local reused = grant(refresh_form(first.refresh_token))
    assert.equal(400, reused.status)
    assert.same({ error = "invalid_grant", error_description = "Maximum allowed refresh token reuse exceeded" },
      reused.json)
    assert.equal(200, grant(refresh_form(second.json.refresh_token)).status)
    local counts = sb:counters().tokens
    assert.equal(2, counts.granted.refresh_token)
    assert.equal(1, counts.refused.refresh_token)
  end)

  it("answers the gateway's 401 for a missing, unknown or expired token", function()
    sb:reset()
    local t = grant(password_form()).json
    local missing = lookup(nil)
    assert.equal(401, missing.status)
    assert.equal(401, missing.json.status)
    assert.equal("Unauthorized", missing.json.error)
    assert.equal("/api/v2/customer/validate", missing.json.path)
    assert.truthy(missing.json.timestamp:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%d%+00:00$"))
    assert.is_nil(missing.json.message)    -- the lookup service's 401 has no message
    assert.equal(401, lookup("sbx-at-made-up").status)

    local onboarding = sb:request{ method = "POST", path = "/caas-lcm/api/v1/CAAS/onBoarding/customer",
                                   token = "nope", json = {} }
    assert.equal(401, onboarding.status)
    assert.equal("", onboarding.json.message)   -- the onboarding service's has an empty one
    assert.equal("/api/v1/CAAS/onBoarding/customer", onboarding.json.path)

    assert.equal(200, lookup(t.access_token).status)
    local changed = sb:expire_tokens("access")
    assert.truthy(changed.changed >= 1)
    local expired = lookup(t.access_token)
    assert.equal(401, expired.status)
    assert.equal("Unauthorized", expired.json.error)
    -- the refresh token still works after the access token expired
    local refreshed = grant(refresh_form(t.refresh_token))
    assert.equal(200, refreshed.status)
    assert.equal(200, lookup(refreshed.json.access_token).status)

    local u = sb:counters().unauthorized
    assert.equal(1, u.missing)
    assert.equal(2, u.unknown)
    assert.equal(1, u.expired)
    assert.equal(4, u.total)
  end)

  it("refuses expired and revoked refresh tokens", function()
    local a = grant(password_form()).json
    sb:expire_tokens("refresh")
    local expired = grant(refresh_form(a.refresh_token))
    assert.equal(400, expired.status)
    assert.same({ error = "invalid_grant", error_description = "Token is not active" }, expired.json)
    assert.equal(200, lookup(a.access_token).status)   -- access tokens untouched

    local b = grant(password_form()).json
    sb:revoke_tokens("all")
    assert.equal(401, lookup(b.access_token).status)
    local revoked = grant(refresh_form(b.refresh_token))
    assert.equal(400, revoked.status)
    assert.same({ error = "invalid_grant", error_description = "Session not active" }, revoked.json)
    assert.equal(1, sb:counters().unauthorized.revoked)
    -- a new password grant works again
    assert.equal(200, lookup(grant(password_form()).json.access_token).status)
  end)

  it("lets access tokens expire by themselves after token_ttl", function()
    local short = sandbox.start{ token_ttl = 1, refresh_ttl = 60, http = true }
    finally(function() short:stop() end)
    local e = short.env
    local t = short:request{ method = "POST", path = TOKEN, form = { grant_type = "password",
      client_id = e.CDP_CLIENT_ID, client_secret = e.CDP_CLIENT_SECRET, username = e.CDP_USERNAME,
      password = e.CDP_PASSWORD } }.json
    assert.equal(1, t.expires_in)
    os.execute("sleep 1.5")
    local res = short:request{ method = "POST", path = LOOKUP, token = t.access_token,
                               json = { idType = "4", idNumber = "1" } }
    assert.equal(401, res.status)
    assert.equal(1, short:counters().unauthorized.expired)
  end)
end)
