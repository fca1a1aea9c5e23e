-- The fault matrix (issue #7): every fault a partner's network, TLS, the
-- CDP's gateway or its token endpoint can throw at cdp.client, with the error
-- kind that lookup and onboard return for it. Nothing may raise; lookups
-- retry only what is retryable, within their retries; an onboarding never
-- makes a second customer, and what the SDK says about its outcome (created,
-- reconciled by a lookup, safe to send again, unknown) is what the sandbox's
-- counters show.
local sandbox = require "helpers.sandbox"
local fs = require "cdp.sandbox.fs"
local cdp = require "cdp"
local errors = require "cdp.errors"

local LOOKUP = "/caas/api/v2/customer/validate"
local ONBOARD = "/caas-lcm/api/v1/CAAS/onBoarding/customer"
local TOKEN = "/auth/realms/cdp/protocol/openid-connect/token"
local IMAGES = "examples/images/"

local RETRIES = 2     -- every client's retries: a retryable lookup fault is met 1 + RETRIES times
local TIMEOUT = 1     -- the stall rows' client timeout (seconds; room for valgrind) ...
local STALL = 2       -- ... and how long the sandbox stalls
-- A stall row's case waits this long at its end, so that its stalled calls
-- (which go on inside the sandbox) end before the next case reads counters.
local SETTLE = STALL - TIMEOUT + 0.3

local function n(v) return v or 0 end

-- ----------------------------------------------------------------------------
-- Fault setups. Each gives the client's extra options and arms the sandbox
-- for `route` (LOOKUP or ONBOARD) once the client holds a token.

-- A fault of the sandbox on `route`: every lookup attempt meets it; an
-- onboarding meets it once (it is never sent twice), before it is processed
-- or, with processed = true, after (the customer exists, its answer is lost).
local function sandbox_fault(kind, extra)
  return function(ctx, route, processed)
    local spec = { path = route, kind = kind, count = route == LOOKUP and 99 or 1,
                   when = processed and "after" or "before" }
    for k, v in pairs(extra or {}) do spec[k] = v end
    ctx.sb:fault(spec)
  end
end

-- The same at the token endpoint, for a client that has no token yet (a
-- scope of its own: a token cache entry of its own, freed with the client).
-- Every grant meets the fault; the call's own request is never sent.
local function token_fault(kind, extra)
  return function(ctx)
    local spec = { path = TOKEN, kind = kind, count = 99 }
    for k, v in pairs(extra or {}) do spec[k] = v end
    ctx.sb:fault(spec)
  end
end
local function own_scope(extra)
  return function(ctx)
    local opts = { scope = "openid " .. ctx.sb.env.CDP_SCOPE }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return opts
  end
end

local MATRIX = {
  -- lookup: "ok" (the customer's data, after the SDK's own recovery) or the
  -- error's { kind, retryable }. onboard: { kind, outcome } when the fault
  -- hits before anything is processed; processed: the same fault after the
  -- sandbox created the customer. Outcomes:
  --   not_sent     nothing reached the API (kind given); no customer
  --   resend_safe  the SDK looked the customer up, found none, and says so
  --                (err.reconciled, outcome_unknown false, retryable): sending
  --                again creates it once
  --   reconciled   the SDK looked the customer up and returns it
  --                (data.reconciled; the lost answer's kind in info.cause)
  --   created      plain success (after the SDK's own recovery)
  --   unknown      err.outcome_unknown: the SDK cannot tell (a stalled call
  --                may still be processed after the client gave up on it)
  { fault = "connection refused (closed local port)",
    client = function(ctx) return { base_url = "https://127.0.0.1:" .. ctx.closed_port } end,
    lookup = { "transport", true }, onboard = { "transport", "not_sent" } },
  { fault = "DNS failure (a name under .invalid)",
    client = function() return { base_url = "https://cdp-fault-matrix.invalid" } end,
    lookup = { "transport", true }, onboard = { "transport", "not_sent" } },
  { fault = "untrusted certificate (not signed by the CA given)",
    client = function(ctx) return { ca_file = ctx.other_ca } end, message = "certificate problem",
    lookup = { "tls", false }, onboard = { "tls", "not_sent" } },
  { fault = "hostname mismatch (a valid cert for another name)",
    client = function(ctx) return { base_url = ctx.mismatch_url, ca_file = ctx.other_ca } end,
    message = "subject name",
    lookup = { "tls", false }, onboard = { "tls", "not_sent" } },
  { fault = "reset before the response", arm = sandbox_fault("reset"),
    lookup = { "transport", true }, onboard = { "transport", "resend_safe" },
    processed = { "transport", "reconciled" } },
  { fault = "reset mid-body", arm = sandbox_fault("reset_body"),
    lookup = { "transport", true }, onboard = { "transport", "resend_safe" },
    processed = { "transport", "reconciled" } },
  { fault = "stall past the timeout", arm = sandbox_fault("delay", { delay = STALL }),
    client = function() return { timeout = TIMEOUT } end, settle = SETTLE,
    lookup = { "timeout", true }, onboard = { "timeout", "unknown" },
    processed = { "timeout", "reconciled" } },
  { fault = "502 with an HTML body", arm = sandbox_fault("502"),
    lookup = { "server", true }, onboard = { "server", "resend_safe" },
    processed = { "server", "reconciled" } },
  { fault = "truncated JSON (Content-Length announced, half sent)", arm = sandbox_fault("truncate"),
    lookup = { "transport", true }, onboard = { "transport", "resend_safe" },
    processed = { "transport", "reconciled" } },
  { fault = "invalid JSON", arm = sandbox_fault("invalid_json"),
    lookup = { "protocol", false }, onboard = { "protocol", "resend_safe" },
    processed = { "protocol", "reconciled" } },
  { fault = "body over the default cap (2 MiB of valid JSON)", arm = sandbox_fault("big_body"),
    lookup = { "protocol", false }, processed = { "protocol", "reconciled" } },
  { fault = "body over max_response_bytes = 4096", arm = sandbox_fault("big_body", { size = 8192 }),
    client = function() return { max_response_bytes = 4096 } end,
    lookup = { "protocol", false }, processed = { "protocol", "reconciled" } },
  { fault = "stale token's 401 (access token expired)",
    arm = function(ctx) ctx.sb:expire_tokens("access") end,
    lookup = "ok", onboard = { nil, "created" },
    counters = function(cn, route)
      assert.are.equal(1, n(cn.unauthorized.expired))
      assert.are.equal(2, cn.calls[route])    -- the 401, then the one retry
      assert.are.equal(1, n(cn.tokens.granted.refresh_token) + n(cn.tokens.granted.password))
    end },
  { fault = "stale token's 401 (access token revoked)",
    arm = function(ctx) ctx.sb:revoke_tokens("access") end,
    lookup = "ok", onboard = { nil, "created" },
    counters = function(cn, route)
      assert.are.equal(1, n(cn.unauthorized.revoked))
      assert.are.equal(2, cn.calls[route])
      assert.are.equal(1, n(cn.tokens.granted.refresh_token) + n(cn.tokens.granted.password))
    end },
  { fault = "revoked refresh token (falls back to a password grant)",
    arm = function(ctx) ctx.sb:revoke_tokens("all") end,
    lookup = "ok", onboard = { nil, "created" },
    counters = function(cn, route)
      assert.are.equal(1, n(cn.unauthorized.revoked))
      assert.are.equal(1, n(cn.tokens.refused.refresh_token))   -- the refresh was tried ...
      assert.are.equal(1, n(cn.tokens.granted.password))        -- ... then one password grant
      assert.are.equal(2, cn.calls[route])
    end },
  { fault = "reset at the token endpoint", arm = token_fault("reset"), client = own_scope(), at = TOKEN,
    lookup = { "transport", true }, onboard = { "transport", "not_sent" } },
  { fault = "stall past the timeout at the token endpoint", arm = token_fault("delay", { delay = STALL }),
    client = own_scope{ timeout = TIMEOUT }, at = TOKEN, settle = SETTLE,
    lookup = { "timeout", true }, onboard = { "timeout", "not_sent" } },
  { fault = "502 with an HTML body at the token endpoint", arm = token_fault("502"), client = own_scope(),
    at = TOKEN, lookup = { "server", true }, onboard = { "server", "not_sent" } },
  { fault = "invalid JSON at the token endpoint", arm = token_fault("invalid_json"), client = own_scope(),
    at = TOKEN, lookup = { "protocol", false }, onboard = { "protocol", "not_sent" } },
  { fault = "wrong password",
    client = function() return { password = "not-the-password" } end,
    lookup = { "auth", false }, onboard = { "auth", "not_sent" },
    counters = function(cn)
      assert.are.equal(1, n(cn.tokens.refused.password))   -- asked once, not hammered
      assert.are.equal(0, n(cn.tokens.granted.password))
    end },
}

-- ----------------------------------------------------------------------------

-- A CA of our own and a server certificate from it for another name only;
-- `openssl s_server` serves it on 127.0.0.1 (stopped by PID in teardown, and
-- by `timeout` if the spec dies).
local function start_mismatch_server(dir)
  local q = fs.quote
  local ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  assert(fs.write(dir .. "/ext", "basicConstraints = critical, CA:FALSE\n"
    .. "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:cdp.elsewhere.example\n"))
  for _, cmd in ipairs({
    ("openssl req -x509 %s -keyout %s -out %s -days 2 -subj '/CN=fault matrix CA'"
      .. " -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign'")
      :format(ec, q(dir .. "/ca.key"), q(dir .. "/ca.pem")),
    ("openssl req %s -keyout %s -out %s -subj '/CN=cdp.elsewhere.example'")
      :format(ec, q(dir .. "/server.key"), q(dir .. "/server.csr")),
    ("openssl x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -out %s -days 2 -extfile %s")
      :format(q(dir .. "/server.csr"), q(dir .. "/ca.pem"), q(dir .. "/ca.key"), q(dir .. "/server.pem"),
              q(dir .. "/ext")),
  }) do
    assert(fs.run(cmd .. " >/dev/null 2>&1"), cmd)
  end
  -- Something accepts connections on the port (curl's 7: could not connect).
  local function taken(port)
    return fs.run(("curl -s -o /dev/null --max-time 1 http://127.0.0.1:%d/; test $? -ne 7"):format(port))
  end
  math.randomseed(os.time() + (fs.self_pid() or 0))
  for _ = 1, 10 do
    local port = math.random(20000, 32000)   -- below the ephemeral ports, as the sandbox helper
    if not taken(port) then
      local pid = tonumber(fs.capture(("timeout 300 openssl s_server -quiet -www -accept 127.0.0.1:%d"
        .. " -cert %s -key %s >/dev/null 2>&1 & echo $!")
        :format(port, q(dir .. "/server.pem"), q(dir .. "/server.key"))))
      for _ = 1, 50 do
        if not fs.alive(pid) then break end   -- it could not listen: try another port
        if taken(port) then
          -- By its own name the certificate verifies: only the name is wrong.
          assert(fs.run(("curl -s -o /dev/null --max-time 2 --cacert %s"
            .. " --resolve cdp.elsewhere.example:%d:127.0.0.1 https://cdp.elsewhere.example:%d/")
            :format(q(dir .. "/ca.pem"), port, port)),
            "the mismatch server's certificate does not verify by its own name")
          return pid, ("https://127.0.0.1:%d"):format(port)
        end
        fs.sleep(0.1)
      end
      if fs.alive(pid) then fs.run("kill " .. pid) end
    end
  end
  error("openssl s_server did not start")
end

-- The example payload with one ID (so that cases share no ID) and its
-- documents as files, streamed.
local function customer(id_number)
  local t = sandbox.example_payload(id_number)
  t.id_details[2] = nil
  local front, back, face = IMAGES .. "id-front.jpg", IMAGES .. "id-back.jpg", IMAGES .. "face.jpg"
  t.additional_docs = { { document = cdp.file(face), document_id = "1" } }
  t.id_details[1].id_front, t.id_details[1].id_back = cdp.file(front), cdp.file(back)
  t.customer_classification.profile_photo = cdp.file(face)
  return t
end

local next_id = 0
local function fresh_id()
  next_id = next_id + 1
  return ("7841998%08d"):format(next_id)
end

describe("fault matrix", function()
  local ctx = {}
  local base   -- the client options every row starts from
  local warm   -- a client with the sandbox's credentials: fills the shared token cache

  setup(function()
    ctx.sb = sandbox.start{}
    ctx.dir = fs.capture("mktemp -d /tmp/cdp-fault-matrix.XXXXXX")
    ctx.server_pid, ctx.mismatch_url = start_mismatch_server(ctx.dir)
    ctx.other_ca = ctx.dir .. "/ca.pem"
    ctx.closed_port = 1
    local e = ctx.sb.env
    base = { base_url = ctx.sb.base_url, ca_file = ctx.sb.ca_file, client_id = e.CDP_CLIENT_ID,
             client_secret = e.CDP_CLIENT_SECRET, username = e.CDP_USERNAME, password = e.CDP_PASSWORD,
             scope = e.CDP_SCOPE, retries = RETRIES, backoff = 0.01 }
    warm = cdp.client(base)
    -- The customer every lookup row looks for.
    local data = assert(warm:onboard(customer("784199800000000")))
    ctx.known_ecrn = data.ecrn
  end)

  teardown(function()
    if warm then warm:close() end
    if ctx.server_pid and fs.alive(ctx.server_pid) then fs.run("kill " .. ctx.server_pid) end
    if ctx.dir and ctx.dir:match("^/tmp/cdp%-fault%-matrix%.") then fs.run("rm -rf " .. fs.quote(ctx.dir)) end
    if ctx.sb then ctx.sb:stop() end
  end)

  -- A client for the row, with a valid token in the cache and the sandbox's
  -- counters zeroed; then the row's fault is armed.
  local function prepare(row, route, processed)
    local opts = {}
    for k, v in pairs(base) do opts[k] = v end
    for k, v in pairs(row.client and row.client(ctx) or {}) do opts[k] = v end
    ctx.sb:reset()   -- the previous row's faults disarmed
    assert(warm:lookup(4, "784199800000000"))
    ctx.sb:reset()
    if row.arm then row.arm(ctx, route, processed) end
    return cdp.client(opts)
  end

  local function check_error(row, err, want_kind)
    assert.is_true(errors.is(err), "an error object: " .. tostring(err))
    assert.are.equal(want_kind, err.kind, tostring(err))
    assert.is_string(err.message)
    assert.is_string(tostring(err))
    if row.message then assert.truthy(err.message:find(row.message, 1, true), err.message) end
  end

  -- The client that met the fault serves the next call once it is gone
  -- (its connection and token state survived). Zeroes the counters.
  local function still_usable(c)
    ctx.sb:reset()
    local ok, data, err = pcall(c.lookup, c, 4, "784199800000000")
    assert.is_true(ok, "the next lookup raised: " .. tostring(data))
    assert.is_table(data, "the next lookup: " .. tostring(err))
    assert.are.equal(ctx.known_ecrn, data.ecrn)
  end

  -- No ID was created twice, and none went to a second customer.
  local function check_no_duplicate(cn)
    for id, c in pairs(cn.customers.by_id or {}) do
      assert.is_true(n(c.created) <= 1, id .. " created " .. tostring(c.created) .. " times")
    end
    assert.are.equal(0, n(cn.customers.duplicates))
  end

  for _, row in ipairs(MATRIX) do
    describe(row.fault, function()
      local want = row.lookup
      it(want == "ok" and "lookup: recovers and finds the customer"
         or ("lookup: kind %s, retryable %s"):format(want[1], tostring(want[2])), function()
        if row.settle then finally(function() fs.sleep(row.settle) end) end
        local c = prepare(row, LOOKUP)
        local ok, data, err = pcall(c.lookup, c, 4, "784199800000000")
        assert.is_true(ok, "lookup raised: " .. tostring(data))
        local cn = ctx.sb:counters()
        if row.arm then still_usable(c) end
        c:close()
        if want == "ok" then
          assert.is_table(data, tostring(err))
          assert.are.equal(ctx.known_ecrn, data.ecrn)
        else
          assert.is_nil(data)
          check_error(row, err, want[1])
          assert.are.equal(want[2], err.retryable, "retryable: " .. tostring(err))
          if row.at == TOKEN then
            -- Token grants retried exactly as often as allowed, or not at all.
            assert.are.equal(want[2] and RETRIES + 1 or 1, n(cn.calls[TOKEN]), "token grants asked")
            assert.are.equal(0, n(cn.calls[LOOKUP]))
          elseif row.arm then
            -- Retried exactly as often as allowed, or not at all.
            assert.are.equal(want[2] and RETRIES + 1 or 1, n(cn.calls[LOOKUP]), "lookups sent")
          else
            assert.are.equal(0, n(cn.calls[LOOKUP]))   -- never reached the API
          end
        end
        if row.counters then row.counters(cn, LOOKUP) end
      end)

      for _, processed in ipairs({ false, true }) do
        local case = processed and row.processed or not processed and row.onboard
        if case then
          local kind, outcome = case[1], case[2]
          local title = ("onboard%s: %s%s"):format(processed and " (processed, answer lost)" or "",
            kind and ("kind " .. kind .. ", ") or "", outcome)
          it(title, function()
            local id = fresh_id()
            local key = "4:" .. id
            local settled = false
            if row.settle then finally(function() if not settled then fs.sleep(row.settle) end end) end
            local c = prepare(row, ONBOARD, processed)
            local ok, data, info = pcall(c.onboard, c, customer(id))
            assert.is_true(ok, "onboard raised: " .. tostring(data))
            local cn = ctx.sb:counters()
            if row.arm then still_usable(c) end
            c:close()
            check_no_duplicate(cn)
            local created = n((cn.customers.by_id or {})[key] and cn.customers.by_id[key].created)
            if outcome == "created" then
              assert.is_table(data, tostring(info))
              assert.is_nil(data.reconciled)
              assert.are.equal(1, created)
              assert.truthy(ctx.sb:customer(data.ecrn))
            elseif outcome == "reconciled" then
              assert.is_table(data, "expected the customer, found by a lookup; got " .. tostring(info))
              assert.is_true(data.reconciled)
              assert.are.equal(1, created)
              assert.are.equal(1, cn.calls[ONBOARD])   -- looked up, not sent again
              assert.truthy(ctx.sb:customer(data.ecrn))
              assert.is_true(info.reconciled)
              check_error(row, info.cause, kind)
            elseif outcome == "unknown" then
              assert.is_nil(data, "expected an error, got data")
              check_error(row, info, kind)
              assert.is_true(info.outcome_unknown,
                "the SDK must not call this settled: " .. tostring(info) .. " (reconciled "
                .. tostring(info.reconciled) .. ", retryable " .. tostring(info.retryable) .. ")")
              assert.are.equal(1, cn.calls[ONBOARD])
              -- Once the stalled call has ended: still at most one customer.
              fs.sleep(row.settle)
              settled = true
              check_no_duplicate(ctx.sb:counters())
            else
              assert.is_nil(data, "expected an error, got data")
              check_error(row, info, kind)
              assert.are.equal(0, created)
              if outcome == "not_sent" then
                assert.are.equal(0, n(cn.calls[ONBOARD]))
                assert.is_not_true(info.outcome_unknown)
                -- As for a lookup: nothing was sent.
                assert.are.equal(row.lookup[2], info.retryable, "retryable: " .. tostring(info))
              elseif outcome == "resend_safe" then
                assert.are.equal(1, cn.calls[ONBOARD])
                assert.is_true(info.reconciled)
                assert.is_false(info.outcome_unknown)
                assert.is_true(info.retryable)
                -- As the error allows: send it again; it is created once.
                local again = cdp.client(base)
                local data2, err2 = again:onboard(customer(id))
                again:close()
                assert.is_table(data2, tostring(err2))
                local cn2 = ctx.sb:counters()
                check_no_duplicate(cn2)
                assert.are.equal(1, cn2.customers.by_id[key].created)
              end
            end
            if row.counters then row.counters(cn, ONBOARD) end
          end)
        end
      end
    end)
  end
end)
