-- client:batch(n): many calls at once over the C core's libcurl multi handle,
-- against the sandbox over HTTPS. Each task runs the client's own code
-- (retries, reconciliation), so what holds for one call holds in a batch.
local sandbox = require "helpers.sandbox"
local cdp = require "cdp"
local run = require "cdp.cli.records"

local ONBOARD = "/caas-lcm/api/v1/CAAS/onBoarding/customer"
local LOOKUP = "/caas/api/v2/customer/validate"

local function client_for(sb, extra) return sb:client(extra) end

-- The example export's valid customers (records 8-10 are wrong on purpose).
local function example_customers()
  local each = assert(run.open{ mapping = "examples/ekyc-mapping.lua", input = "examples/ekyc-export.csv" })
  local list = {}
  for _, item in each do
    if not item.err then list[#list + 1] = item end
  end
  return list
end

-- Run fn(client, arg) for every arg, `size` at a time; the packed results in
-- the order of `args`.
local function run_all(c, size, fn, args)
  local b = c:batch(size)
  local results, index = {}, {}
  local next_arg = 1
  while next_arg <= #args or b:running() > 0 do
    while b:free() > 0 and next_arg <= #args do
      local i = next_arg
      next_arg = next_arg + 1
      b:spawn(function(client, arg) return i, fn(client, arg) end, args[i])
    end
    for _, r in ipairs(b:wait(1)) do
      results[r[1]] = { r[2], r[3] }
      index[#index + 1] = r[1]
    end
  end
  b:close()
  return results, index
end

local function lookup(client, id) return client:lookup(4, id) end

describe("client:batch", function()
  local sb

  before_each(function()
    sb = sandbox.start{ token_ttl = 300, refresh_ttl = 600 }
  end)

  after_each(function()
    if sb then sb:stop() end
    sb = nil
  end)

  it("onboards the example customers with the same outcomes as one at a time", function()
    local c = client_for(sb)
    local items = example_customers()
    local results = run_all(c, 4, function(client, item) return client:onboard(item.customer) end, items)
    for i, item in ipairs(items) do
      local data, err = results[i][1], results[i][2]
      if item.key == "C-1011" then  -- the sandbox's 45013 trigger
        assert.is_nil(data)
        assert.are.equal(45013, err.code)
      else
        assert.is_truthy(data, item.key .. ": " .. tostring(err))
        assert.is_truthy(tostring(data.ecrn):match("^%d+$"))
      end
    end
    local counters = sb:counters()
    assert.are.equal(#items, counters.calls[ONBOARD])
    assert.are.equal(1, counters.tokens.granted.password)
    assert.are.equal(0, counters.customers.duplicates or 0)
    for id, n in pairs(counters.customers.by_id) do
      assert.are.equal(1, n.created, id)
    end
    c:close()
  end)

  it("has n calls in flight at once, each on its own kept-alive connection", function()
    local c = client_for(sb)
    -- Every lookup answers after 0.5 s: with 8 in flight, 8 connections are open at once.
    sb:fault{ path = LOOKUP, kind = "delay", delay = 0.5, count = 8 }
    -- Then 40 more, 8 at a time, reuse those connections.
    local ids = {}
    for i = 1, 48 do ids[i] = ("78419900000%04d"):format(i) end
    local results = run_all(c, 8, lookup, ids)
    for i = 1, 48 do assert.are.equal(45001, results[i][2].code) end
    local counters = sb:counters()
    assert.are.equal(48, counters.calls[LOOKUP])
    assert.are.equal(1 + 8, counters.connections)  -- the token request's, and 8 for the lookups
    -- The connections share the client's TLS sessions: new ones resume a
    -- session instead of a full handshake (0 without the share). How many
    -- depends on when the tickets arrive (8 of 9 in a submit run, 3 to 8
    -- here under load), so the spec asks for at least one.
    assert.is_true(counters.tls_resumed >= 1, "tls_resumed: " .. tostring(counters.tls_resumed))
    assert.are.equal(1, counters.tokens.granted.password)
    c:close()
  end)

  it("fetches the token ahead in a thread: the requests after use it, one grant in all", function()
    local c = client_for(sb)
    local b = c:batch(4)
    assert.is_true(b:prefetch_token())
    assert.is_false(b:prefetch_token())  -- once a batch
    -- The grant arrives at the sandbox with no request started by Lua.
    local deadline = os.time() + 10
    while (sb:counters().tokens.granted.password or 0) == 0 and os.time() < deadline do
      require("socket").sleep(0.02)
    end
    assert.are.equal(1, sb:counters().tokens.granted.password)
    b:wait(0)  -- joins the thread once it has ended
    assert.is_false(b:prefetch_token())  -- still once a batch
    for i = 1, 4 do b:spawn(lookup, ("78419900000%04d"):format(i)) end
    local ended = {}
    while #ended < 4 do
      for _, r in ipairs(b:wait(5)) do ended[#ended + 1] = r end
    end
    for _, r in ipairs(ended) do assert.are.equal(45001, r[2].code) end  -- "not found": answered
    assert.is_false(b:prefetch_token())  -- too late: requests went out
    b:close()
    local counters = sb:counters()
    assert.are.equal(1, counters.tokens.granted.password)
    assert.are.equal(0, counters.tokens.granted.refresh_token or 0)
    assert.are.equal(4, counters.calls[LOOKUP])
    c:close()
  end)

  it("says nothing of a prefetch that failed: the request fetches again and reports it", function()
    local c = client_for(sb, { password = "not-the-password" })
    local b = c:batch(1)
    assert.is_true(b:prefetch_token())
    b:spawn(lookup, "784199000000001")
    local ended = {}
    while #ended < 1 do
      for _, r in ipairs(b:wait(5)) do ended[#ended + 1] = r end
    end
    assert.is_nil(ended[1][1])
    assert.are.equal("auth", ended[1][2].kind)
    b:close()
    local counters = sb:counters()
    assert.are.equal(0, counters.calls[LOOKUP] or 0)
    -- The request waited for the prefetch's answer or took it: asked once.
    assert.are.equal(1, counters.tokens.refused.password)
    c:close()
  end)

  it("refreshes a token in the prefetch's thread while requests go out here on the token still valid", function()
    sb:stop()
    sb = sandbox.start{ token_ttl = 5, refresh_ttl = 600 }  -- refreshed in its last 1.25 s
    local c = client_for(sb)
    local _, err = c:lookup(4, "784199000000001")
    assert.are.equal(45001, err.code)
    require("cdp.core").sleep(4)
    -- The refresh takes 0.5 s: meanwhile the lookups use the current token,
    -- over connections that share the thread's TLS session cache.
    sb:fault{ path = "/auth/realms/cdp/protocol/openid-connect/token", kind = "delay", delay = 0.5, count = 1 }
    local b = c:batch(4, { queue = 4 })
    assert.is_true(b:prefetch_token())
    for i = 1, 8 do b:spawn(lookup, ("78419900000%04d"):format(i)) end
    local ended = {}
    while #ended < 8 do
      for _, r in ipairs(b:wait(5)) do ended[#ended + 1] = r end
    end
    for _, r in ipairs(ended) do assert.are.equal(45001, r[2].code) end
    b:close()
    local counters = sb:counters()
    assert.are.equal(1, counters.tokens.granted.password)
    assert.are.equal(1, counters.tokens.granted.refresh_token)
    assert.are.equal(9, counters.calls[LOOKUP])
    assert.are.equal(0, counters.unauthorized.total)
    c:close()
  end)

  it("asks a token endpoint that refused the credentials once for the whole batch", function()
    local c = client_for(sb, { password = "not-the-password" })
    local b = c:batch(3, { queue = 3 })
    for i = 1, 6 do b:spawn(lookup, ("78419900000%04d"):format(i)) end
    local ended = {}
    while #ended < 6 do
      for _, r in ipairs(b:wait(5)) do ended[#ended + 1] = r end
    end
    for _, r in ipairs(ended) do
      assert.is_nil(r[1])
      assert.are.equal("auth", r[2].kind)
      assert.are.equal("INVALID_GRANT", r[2].name)
    end
    b:close()
    local counters = sb:counters()
    assert.are.equal(1, counters.tokens.refused.password)
    assert.are.equal(0, counters.calls[LOOKUP] or 0)
    c:close()
  end)

  it("closing the batch or its client while the token is fetched frees all and crashes nothing", function()
    -- Each token answer waits 0.3 s: the thread is still at it when Lua closes.
    sb:fault{ path = "/auth/realms/cdp/protocol/openid-connect/token", kind = "delay", delay = 0.3, count = 3 }
    local c = client_for(sb)
    local b = c:batch(2)
    assert.is_true(b:prefetch_token())
    b:close()  -- joins the thread
    assert.has_error(function() b:prefetch_token() end, "batch:prefetch_token: the batch is closed")
    c:close()  -- the last client of these credentials: the cached token goes with it
    local c2 = client_for(sb)
    local b2 = c2:batch(2)
    assert.is_true(b2:prefetch_token())
    c2:close()  -- the thread works on copies of the client's connection
    b2:close()
    assert.are.equal(2, sb:counters().tokens.granted.password)
  end)

  it("puts spawned requests on the wire at send(), before any wait", function()
    local c = client_for(sb)
    local b = c:batch(4)
    local function settle_all()
      local ended = {}
      while b:running() > 0 do
        for _, r in ipairs(b:wait(5)) do ended[#ended + 1] = r end
      end
      return ended
    end
    -- A first round opens the 4 connections (a new one needs more than one pass).
    for i = 1, 4 do b:spawn(lookup, ("78419900000%04d"):format(i)) end
    assert.are.equal(4, #settle_all())
    for i = 5, 8 do b:spawn(lookup, ("78419900000%04d"):format(i)) end
    -- The sandbox sees all 8 though nothing waits on the batch: send() moves
    -- the transfers on (one pass each; a connection found dead and opened
    -- again takes more than one).
    local seen = 0
    for _ = 1, 100 do
      b:send()
      seen = sb:counters().calls[LOOKUP] or 0
      if seen == 8 then break end
      os.execute("sleep 0.05")
    end
    assert.are.equal(8, seen)
    local ended = settle_all()
    assert.are.equal(4, #ended)
    for _, r in ipairs(ended) do assert.are.equal(45001, r[2].code) end
    b:close()
    assert.has_error(function() b:send() end)
    c:close()
  end)

  -- Calls b:send() until the sandbox has seen `want` lookups (a pass may
  -- not be enough for a connection found dead); returns what it saw.
  local function send_until_seen(b, want)
    local seen = 0
    for _ = 1, 100 do
      b:send()
      seen = sb:counters().calls[LOOKUP] or 0
      if seen >= want then break end
      os.execute("sleep 0.05")
    end
    return seen
  end

  it("with a queue, keeps n in flight and sends a queued call as one ends, inside wait", function()
    local c = client_for(sb)
    local b = c:batch(2, { queue = 2 })
    -- The first two lookups answer after 1 s; the others at once.
    sb:fault{ path = LOOKUP, kind = "delay", delay = 1, count = 2 }
    for i = 1, 4 do b:spawn(function(client) return i, lookup(client, ("78419900000%04d"):format(i)) end) end
    assert.are.equal(0, b:free())
    assert.has_error(function() b:spawn(lookup, "784199000000005") end)
    -- Two go out; the queued two stay here while those two are in flight.
    assert.are.equal(2, send_until_seen(b, 2))
    b:send()
    assert.are.equal(2, sb:counters().calls[LOOKUP])
    -- A slow one ends: a queued one was sent before wait returned (nothing
    -- moves the batch after it, yet the sandbox sees the call).
    local ended = b:wait(5)
    assert.is_true(#ended >= 1)
    local seen = 0
    for _ = 1, 100 do
      seen = sb:counters().calls[LOOKUP]
      if seen >= 3 then break end
      os.execute("sleep 0.05")
    end
    assert.is_true(seen >= 3, "calls seen: " .. tostring(seen))
    while b:running() > 0 do
      for _, r in ipairs(b:wait(5)) do ended[#ended + 1] = r end
    end
    assert.are.equal(4, #ended)
    for _, r in ipairs(ended) do assert.are.equal(45001, r[3].code) end
    local counters = sb:counters()
    assert.are.equal(4, counters.calls[LOOKUP])
    assert.are.equal(1 + 2, counters.connections)  -- the token request's, and 2 for the lookups
    b:close()
    c:close()
  end)

  it("drops the queued calls unsent and returns what their tasks were spawned with", function()
    local c = client_for(sb)
    local b = c:batch(1, { queue = 2 })
    sb:fault{ path = LOOKUP, kind = "delay", delay = 1, count = 1 }
    for i = 1, 3 do b:spawn(lookup, ("78419900000%04d"):format(i)) end
    assert.are.equal(1, send_until_seen(b, 1))
    local dropped = b:drop_queued()
    assert.are.equal(2, #dropped)
    assert.are.same({ { n = 1, "784199000000002" }, { n = 1, "784199000000003" } }, dropped)
    assert.are.equal(1, b:running())
    assert.are.equal(2, b:free())
    local ended = {}
    while b:running() > 0 do
      for _, r in ipairs(b:wait(5)) do ended[#ended + 1] = r end
    end
    assert.are.equal(1, #ended)
    assert.are.equal(1, sb:counters().calls[LOOKUP])
    assert.are.same({}, b:drop_queued())
    b:close()
    assert.has_error(function() b:drop_queued() end)
    c:close()
  end)

  it("syncs a file in a thread of its own while a call is in flight; wait returns when it has ended", function()
    local c = client_for(sb)
    local b = c:batch(1)
    sb:fault{ path = LOOKUP, kind = "delay", delay = 2, count = 1 }
    b:spawn(lookup, "784199000000001")
    assert.are.equal(1, send_until_seen(b, 1))
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write("an entry\n")  -- still in Lua's buffer: fsync flushes it first
    assert.are.equal("none", b:fsync_state())
    assert.is_true(b:fsync(f))
    assert.has_error(function() b:fsync(f) end)  -- one at a time
    -- The call takes 2 s; wait returns as soon as the sync has ended.
    local ended = b:wait(10)
    assert.are.equal(0, #ended)
    assert.are.equal("ended", b:fsync_state())
    assert.are.equal(1, b:running())
    assert.is_true(b:fsync_wait())
    assert.are.equal("none", b:fsync_state())
    assert.has_error(function() b:fsync_wait() end)
    local copy = assert(io.open(path, "rb"))
    assert.are.equal("an entry\n", copy:read("a"))
    copy:close()
    -- A sync still running when the batch closes is waited for.
    f:write("another\n")
    assert.is_true(b:fsync(f))
    b:close()
    f:close()
    os.remove(path)
    c:close()
  end)

  it("reports a file that cannot be flushed, and refuses a closed one", function()
    local c = client_for(sb)
    local b = c:batch(1)
    local full = assert(io.open("/dev/full", "wb"))
    full:write("x")
    local ok, err = b:fsync(full)
    assert.is_nil(ok)
    assert.matches("^flush: ", err)
    assert.are.equal("none", b:fsync_state())
    full:close()
    assert.has_error(function() b:fsync(full) end)
    b:close()
    c:close()
  end)

  it("retries a 401 once with a new token, for every call in flight", function()
    local c = client_for(sb)
    local ids = { "784199000000001", "784199000000002", "784199000000003", "784199000000004" }
    run_all(c, 4, lookup, ids)
    sb:expire_tokens("access")
    local results = run_all(c, 4, lookup, ids)
    for i = 1, 4 do assert.are.equal(45001, results[i][2].code) end
    local counters = sb:counters()
    assert.are.equal(1, counters.tokens.granted.password)
    assert.are.equal(1, counters.tokens.granted.refresh_token)
    assert.are.equal(4, counters.unauthorized.total)
    c:close()
  end)

  it("settles an onboarding whose answer was lost by a lookup, creating it once", function()
    local c = client_for(sb)
    local items = example_customers()
    -- The third and fourth onboardings are processed, then their connections reset.
    sb:fault{ path = ONBOARD, kind = "reset", when = "after", skip = 2, count = 2 }
    local results = run_all(c, 4, function(client, item) return client:onboard(item.customer) end, items)
    local reconciled = 0
    for i, item in ipairs(items) do
      if item.key ~= "C-1011" then
        local data = results[i][1]
        assert.is_truthy(data, item.key .. ": " .. tostring(results[i][2]))
        if data.reconciled then reconciled = reconciled + 1 end
      end
    end
    assert.are.equal(2, reconciled)
    local counters = sb:counters()
    assert.are.equal(#items, counters.calls[ONBOARD])
    for id, n in pairs(counters.customers.by_id) do
      assert.are.equal(1, n.created, id)
    end
    c:close()
  end)

  it("reports an unreadable document and refused credentials through wait", function()
    local c = client_for(sb)
    -- A task that raises: the error reaches the caller of spawn or wait.
    local b = c:batch(2)
    assert.has_error(function() b:spawn(function() error("before any call") end) end)
    b:spawn(function(client)
      client:lookup(4, "784199000000001")
      error("after a call")
    end)
    assert.has_error(function() b:wait(5) end)
    assert.are.equal(0, b:running())
    b:close()

    local doc = cdp.file("/nonexistent/front.jpg", "image/jpeg")
    local customer = setmetatable({ data = {}, parts = function() return { "{", doc, "}" } end }, {})
    local results = run_all(c, 2, function(client) return client:onboard(customer) end, { 1 })
    assert.are.equal("validation", results[1][2].kind)
    assert.is_truthy(results[1][2].message:find("nonexistent", 1, true))

    local lookups = sb:counters().calls[LOOKUP]
    local bad = client_for(sb, { password = "wrong" })
    results = run_all(bad, 2, lookup, { "784199000000001", "784199000000002" })
    for i = 1, 2 do assert.are.equal("auth", results[i][2].kind) end
    assert.are.equal(lookups, sb:counters().calls[LOOKUP])  -- nothing reached the API
    c:close()
    bad:close()
  end)

  it("refuses misuse", function()
    local c = client_for(sb)
    -- A URL that libcurl would read differently (cut at a NUL) is refused in C.
    assert.has_error(function() c._core:request("GET", "https://127.0.0.1/a\0b") end)
    local raw = require("cdp.core").batch(c._core, 1)
    assert.has_error(function() raw:start("GET", "https://127.0.0.1/a b") end)
    raw:close()
    assert.has_error(function() c:batch(0) end)
    assert.has_error(function() c:batch(65) end)
    assert.has_error(function() c:batch(1, { queue = -1 }) end)
    assert.has_error(function() c:batch(1, { queue = 65 }) end)
    assert.has_error(function() c:batch(1, { queue = 1.5 }) end)
    local b = c:batch(1)
    local leaked
    b:spawn(function(client) leaked = client; return client:lookup(4, "784199000000001") end)
    assert.has_error(function() b:spawn(function() end) end, nil)
    b:wait(5)
    -- A task's client outside its task: refused rather than silently blocking.
    assert.has_error(function() leaked:lookup(4, "784199000000001") end)
    b:close()
    assert.has_error(function() b:wait(1) end)
    c:close()
  end)
end)
