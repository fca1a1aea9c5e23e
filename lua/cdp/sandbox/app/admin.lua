--- The admin API under /__sandbox/, for loopback peers only: health,
-- counters, reset, faults, tokens, customers and their AML alerts.
local json = require "cdp.sandbox.app.json"
local respond = require "cdp.sandbox.app.respond"
local counters = require "cdp.sandbox.app.counters"
local faults = require "cdp.sandbox.app.faults"
local tokens = require "cdp.sandbox.app.tokens"
local store = require "cdp.sandbox.app.store"
local customers = require "cdp.sandbox.app.customers"
local callback = require "cdp.sandbox.app.callback"
local settings = require "cdp.sandbox.app.settings"
local watchdog = require "cdp.sandbox.app.watchdog"

local admin = {}

local LOOPBACK = { ["127.0.0.1"] = true, ["::1"] = true }

local function reply(status, body)
  return respond.send(respond.json(status, body))
end

local function fail(status, message)
  return reply(status, { error = message })
end

local function body_json()
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if not data or data == "" then return {} end
  return json.decode(data)
end

local handlers = {}

handlers["GET health"] = function()
  return reply(200, { status = "ok", pid = ngx.worker.pid() })
end

handlers["GET counters"] = function()
  return reply(200, counters.snapshot())
end

handlers["GET settings"] = function()
  return reply(200, { port = settings.port, http = settings.http, workers = settings.workers,
    token_ttl = settings.token_ttl, refresh_ttl = settings.refresh_ttl, max_body_mb = settings.max_body_mb,
    callback_url = settings.callback_url, callback_attempts = settings.callback_attempts,
    callback_backoff = settings.callback_backoff, watch_pid = settings.watch_pid,
    idle = settings.idle, lifetime = settings.lifetime })
end

-- Zero the counters and disarm faults; {"customers":true} forgets the
-- customers too, {"tokens":true} every token.
handlers["POST reset"] = function()
  local opts = body_json() or {}
  counters.reset()
  faults.clear()
  if opts.customers == true then store.reset() end
  if opts.tokens == true then tokens.reset() end
  return reply(200, { reset = true, customers = opts.customers == true, tokens = opts.tokens == true })
end

handlers["GET faults"] = function()
  return reply(200, { faults = json.array(faults.list()) })
end

handlers["POST faults"] = function()
  local stored, err = faults.set(body_json())
  if not stored then return fail(400, err) end
  return reply(200, stored)
end

handlers["DELETE faults"] = function()
  faults.clear()
  return reply(200, { cleared = true })
end

local function token_change(new_state)
  return function()
    local opts = body_json() or {}
    local n, err = tokens.change(opts.which or "all", new_state)
    if not n then return fail(400, err) end
    return reply(200, { changed = n, which = opts.which or "all", state = new_state })
  end
end
handlers["POST tokens/expire"] = token_change("expired")
handlers["POST tokens/revoke"] = token_change("revoked")

function admin.handle()
  if not LOOPBACK[ngx.var.remote_addr] then return fail(403, "the admin API is for loopback peers only") end
  watchdog.touch()
  local rest = ngx.var.uri:match("^/__sandbox/(.-)/*$") or ""
  local method = ngx.req.get_method()
  local handler = handlers[method .. " " .. rest]
  if handler then return handler() end
  local ecrn, action = rest:match("^customers/(%d+)/?(%a*)$")
  if ecrn and method == "GET" and action == "" then
    local customer = store.get(ecrn)
    if not customer or not customer.ecrn then return fail(404, "no customer " .. ecrn) end
    return reply(200, customer)
  end
  if ecrn and method == "POST" and action == "alert" then
    local opts = body_json() or {}
    local customer, status, err = customers.close_alert(ecrn, opts.decision)
    if not customer then return fail(status, err) end
    local scheduled = callback.schedule(customer)
    return reply(200, { ecrn = customer.ecrn, aml_scan_status = customer.aml_scan_status,
                        customer_status = customer.customer_status, callback_scheduled = scheduled })
  end
  return fail(404, "no admin call " .. method .. " /__sandbox/" .. rest)
end

return admin
