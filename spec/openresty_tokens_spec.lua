-- One token for a whole nginx: 4 workers, 400 lookups through the example's
-- /lookup (cdp.ngx in a real nginx, against the real sandbox over HTTPS),
-- and the sandbox grants exactly one password grant; with short-lived
-- tokens, the shared token is renewed by refresh grants, never by a second
-- password grant, and no call meets an expired token.
local sandbox = require "helpers.sandbox"
local nginx = require "helpers.nginx"
local fs = require "cdp.sandbox.fs"
local cjson = require "cjson"

local EXAMPLE = "examples/openresty/nginx.conf"

describe("openresty tokens", function()
  local sb, srv

  setup(function()
    sb = sandbox.start{ workers = 2 }
    srv = nginx.start{ conf = nginx.render(EXAMPLE, { workers = 4 }), env = sb.env }
  end)

  teardown(function()
    if srv then srv:stop() end
    if sb then sb:stop() end
  end)

  it("400 requests over 4 workers share one password grant", function()
    sb:reset()
    local paths = {}
    for i = 1, 400 do
      -- Unknown IDs: each is a real lookup the sandbox answers with 45001.
      paths[i] = ("/lookup?id_type=4&id_number=7841990%08d"):format(i)
    end
    local results = srv:parallel(paths, 100)
    for i, r in ipairs(results) do
      assert.equal(404, r.status, "request " .. i .. ": " .. r.body)
      assert.matches('"code":45001', r.body, 1, true)
    end

    local counts = sb:counters()
    local seen = cjson.encode({ tokens = counts.tokens, unauthorized = counts.unauthorized })
    assert.equal(400, counts.calls["/caas/api/v2/customer/validate"])
    assert.equal(0, counts.unauthorized and counts.unauthorized.total or 0, seen)
    assert.equal(1, counts.tokens.granted.password, seen)
    assert.equal(0, counts.tokens.granted.refresh_token or 0, seen)

    -- All four workers took part (reuseport spreads the connections).
    local workers = {}
    for _, line in ipairs(srv:access_lines()) do
      local pid = line:match('"GET /lookup%?.-pid=(%d+)$')
      if pid then workers[pid] = true end
    end
    local n = 0
    for _ in pairs(workers) do n = n + 1 end
    assert.equal(4, n)
  end)

  it("recovers when the CDP revokes the token: at most one grant per worker, then none", function()
    local function burst(tag)
      local paths = {}
      for i = 1, 100 do paths[i] = ("/lookup?id_type=4&id_number=78419%s%08d"):format(tag, i) end
      for i, r in ipairs(srv:parallel(paths, 50)) do
        assert.equal(404, r.status, "request " .. tag .. "/" .. i .. ": " .. r.body)
      end
    end
    burst("11")  -- a token is shared
    sb:revoke_tokens("all")
    sb:reset()
    burst("12")  -- every worker meets a 401 and fetches (its refresh token is revoked too)
    local counts = sb:counters()
    local seen = cjson.encode({ tokens = counts.tokens, unauthorized = counts.unauthorized })
    assert.is_true(counts.unauthorized.revoked >= 1, seen)
    assert.is_true(counts.tokens.granted.password >= 1 and counts.tokens.granted.password <= 4, seen)
    sb:reset()
    burst("13")  -- the new token is in use everywhere: no grant, no 401
    counts = sb:counters()
    seen = cjson.encode({ tokens = counts.tokens, unauthorized = counts.unauthorized })
    assert.equal(0, counts.tokens.granted.password + (counts.tokens.granted.refresh_token or 0), seen)
    assert.equal(0, counts.unauthorized.total, seen)
  end)

  describe("with 12-second tokens", function()
    local short_sb, short_srv

    setup(function()
      short_sb = sandbox.start{ workers = 2, token_ttl = 12, refresh_ttl = 600 }
      short_srv = nginx.start{ conf = nginx.render(EXAMPLE, { workers = 4 }), env = short_sb.env }
    end)

    teardown(function()
      if short_srv then short_srv:stop() end
      if short_sb then short_sb:stop() end
    end)

    it("renews the shared token with refresh grants while 4 workers keep calling", function()
      -- About 10 s of steady traffic: the first renewal comes after about 6 s.
      local n = 0
      for round = 1, 25 do
        local paths = {}
        for i = 1, 20 do paths[i] = ("/lookup?id_type=4&id_number=7841990%04d%04d"):format(round, i) end
        for i, r in ipairs(short_srv:parallel(paths, 20)) do
          assert.equal(404, r.status, "round " .. round .. ", request " .. i .. ": " .. r.body)
          n = n + 1
        end
        fs.sleep(0.3)
      end
      local counts = short_sb:counters()
      local seen = cjson.encode({ tokens = counts.tokens, unauthorized = counts.unauthorized })
      assert.equal(n, counts.calls["/caas/api/v2/customer/validate"])
      assert.equal(0, counts.unauthorized and counts.unauthorized.total or 0, seen)
      assert.equal(1, counts.tokens.granted.password, seen)
      assert.is_true((counts.tokens.granted.refresh_token or 0) >= 1, seen)
    end)
  end)
end)
