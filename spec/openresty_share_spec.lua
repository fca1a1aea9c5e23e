-- core.token_share, the C side of cdp.ngx's one token per nginx, against the
-- real sandbox: a fetch, a forced renewal (a refresh grant), peek, seed
-- (a longer-lived token is installed, a shorter one is not), the share and
-- a client of the same settings using one cache entry, refusals without
-- secrets, misuse. Clean under valgrind (measured):
--   env LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;$PWD/spec/?.lua;;" LUA_CPATH="$PWD/build/5.4/?.so;;" \
--     valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
--     lua5.4 /usr/bin/busted --helper=spec/helpers/init.lua spec/openresty_share_spec.lua
local sandbox = require "helpers.sandbox"
local core = require "cdp.core"
local client = require "cdp.client"
local options = require "cdp.ngx.options"

local function settings(sb, extra)
  local o = { base_url = sb.env.CDP_BASE_URL, client_id = sb.env.CDP_CLIENT_ID,
              client_secret = sb.env.CDP_CLIENT_SECRET, username = sb.env.CDP_USERNAME,
              password = sb.env.CDP_PASSWORD, scope = sb.env.CDP_SCOPE, ca_file = sb.ca_file }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

describe("openresty token share (core.token_share)", function()
  local sb

  setup(function() sb = sandbox.start{ token_ttl = 30 } end)
  teardown(function() if sb then sb:stop() end end)

  it("is there, in a core that can share", function()
    assert.is_true(core.token_sharing)
    assert.is_function(core.token_share)
  end)

  it("fetches, renews on demand with a refresh grant, peeks and seeds", function()
    sb:reset()
    local o = settings(sb)
    local share = core.token_share(options.core_config(o))
    local token, expires_in, lifetime = share:fetch()
    assert.is_string(token)
    assert.is_true(expires_in > 25 and expires_in <= 30)
    assert.equal(30, lifetime)
    assert.equal(token, (share:fetch()))       -- cached: no new grant
    local renewed = share:fetch(token)         -- `token` went stale: a new grant
    assert.are_not.equal(token, renewed)
    assert.equal(renewed, (share:peek()))
    assert.equal(1, sb:counters().tokens.granted.password)
    assert.equal(1, sb:counters().tokens.granted.refresh_token)
    assert.equal(renewed, (share:fetch("not the current token")))  -- only the current one is dropped
    share:close()
  end)

  it("shares its cache entry with a client of the same settings", function()
    local o = settings(sb, { token_skew = 5 })
    local share = core.token_share(options.core_config(o))
    local c = client.new(o)
    local token = share:fetch()
    sb:reset()
    local _, err = c:lookup(4, "784199000000001")
    assert.equal(45001, err.code)
    assert.equal(0, sb:counters().tokens.granted.password)  -- the client used the share's token
    assert.equal(2, share:stats().clients)
    -- A seed that lives longer replaces it; one that lives shorter does not.
    assert.is_false(share:seed(token .. "-other", 5, 30))
    assert.is_true(share:seed(token .. "-other", 3000, 3000))
    assert.equal(token .. "-other", (share:peek()))
    -- The API refuses the seeded token: the client drops it, fetches anew, and the share sees that.
    sb:reset()
    _, err = c:lookup(4, "784199000000002")
    assert.equal(45001, err.code)
    assert.equal(1, sb:counters().unauthorized.total)
    local now = share:peek()
    assert.are_not.equal(token .. "-other", now)
    c:close()
    share:close()
  end)

  it("reports a refused password without the secrets, and raises on misuse", function()
    local o = settings(sb, { password = "wrong-" .. sb.env.CDP_PASSWORD })
    local share = core.token_share(options.core_config(o))
    local none, failure = share:fetch()
    assert.is_nil(none)
    assert.equal("auth", failure.kind)
    assert.equal("token", failure.phase)
    assert.equal("invalid_grant", failure.oauth_error)
    for _, v in pairs(failure) do
      if type(v) == "string" then
        assert.falsy(v:find(sb.env.CDP_PASSWORD, 1, true))
        assert.falsy(v:find(sb.env.CDP_CLIENT_SECRET, 1, true))
      end
    end
    assert.is_nil(share:peek())
    assert.has_error(function() share:seed("a token with spaces", 10) end)
    assert.has_error(function() share:seed("", 10) end)
    share:close()
    assert.has_error(function() share:fetch() end)
    assert.equal("cdp.core.token_share (closed)", tostring(share))
    assert.has_error(function() core.token_share({}) end)
    assert.has_error(function() core.token_share({ token_url = 1 }) end)
    assert.has_error(function() core.token_share({ token_url = "https://x", headers = { 1 } }) end)
    assert.has_error(function() core.token_share({ token_url = "https://x", headers = { "a\r\nb: c" } }) end)
  end)
end)
