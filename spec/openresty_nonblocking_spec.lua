-- Nothing blocks nginx's event loop: with one worker, while a CDP call made
-- through cdp.ngx waits on a sandbox answer delayed by 2 s, 50 requests to
-- another location all complete before it. The order is read from the
-- access log, which nginx writes as each request completes.
local sandbox = require "helpers.sandbox"
local nginx = require "helpers.nginx"
local fs = require "cdp.sandbox.fs"

local EXAMPLE = "examples/openresty/nginx.conf"
local LOOKUP = "/caas/api/v2/customer/validate"

-- Poll until `done()` holds; a deadline only, never a timing assert.
local function wait_for(done)
  for _ = 1, 300 do
    local v = done()
    if v then return v end
    fs.sleep(0.05)
  end
  return nil
end

describe("openresty non-blocking", function()
  local sb, srv

  setup(function()
    sb = sandbox.start{}
    srv = nginx.start{ conf = nginx.render(EXAMPLE, { workers = 1 }), env = sb.env }
  end)

  teardown(function()
    if srv then srv:stop() end
    if sb then sb:stop() end
  end)

  it("serves 50 requests, and other CDP calls, while one waits on a sandbox call delayed by 2 s", function()
    -- The token first, so that the slow request is only the delayed call.
    assert.equal(404, srv:request{ path = "/lookup?id_type=4&id_number=784199000000001" }.status)
    sb:reset()
    sb:fault{ path = LOOKUP, kind = "delay", delay = 2, count = 1 }

    local out, done = srv.dir .. "/slow.out", srv.dir .. "/slow.done"
    assert(fs.run(("(curl -s -o %s -w '%%{http_code}' --max-time 30 %s > %s.code; echo > %s) >/dev/null 2>&1 &")
      :format(fs.quote(out), fs.quote(srv.url .. "/lookup?id_type=4&id_number=784199000000002"),
              fs.quote(out), fs.quote(done))))
    -- The slow request is in the sandbox, waiting out its delay.
    assert.truthy(wait_for(function()
      local fired = sb:counters().faults
      return fired and fired.fired and fired.fired[LOOKUP] == 1
    end), "the delayed lookup never reached the sandbox")

    local paths = {}
    for i = 1, 50 do paths[i] = "/health" end
    for i, r in ipairs(srv:parallel(paths, 50)) do
      assert.equal(200, r.status, "health " .. i)
    end

    -- Other CDP calls go on meanwhile in the pool's other threads.
    local lookups = {}
    for i = 1, 20 do lookups[i] = ("/lookup?id_type=4&id_number=7841991%08d"):format(i) end
    for i, r in ipairs(srv:parallel(lookups, 20)) do
      assert.equal(404, r.status, "lookup " .. i .. ": " .. r.body)
    end

    assert.truthy(wait_for(function() return fs.exists(done) end), "the slow request never returned")
    assert.equal("404", fs.read(out .. ".code"))
    assert.matches('"code":45001', fs.read(out), 1, true)

    -- Completion order: every /health line comes before the slow lookup's.
    local slow_at, health, fast = nil, {}, {}
    for i, line in ipairs(srv:access_lines()) do
      if line:find("GET /lookup?id_type=4&id_number=784199000000002 ", 1, true) then slow_at = i end
      if line:find('"GET /health ', 1, true) then health[#health + 1] = i end
      if line:find("GET /lookup?id_type=4&id_number=7841991", 1, true) then fast[#fast + 1] = i end
    end
    assert.truthy(slow_at, "no access log line for the slow request")
    assert.equal(50, #health)
    assert.equal(20, #fast)
    for _, at in ipairs(health) do assert.is_true(at < slow_at) end
    for _, at in ipairs(fast) do assert.is_true(at < slow_at) end
  end)
end)
