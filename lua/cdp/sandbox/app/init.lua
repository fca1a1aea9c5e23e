--- cdp.sandbox.app: the sandbox inside nginx. init (master), init_worker,
-- and the request flow of every API call:
-- route -> count -> read body -> fault "before" -> bearer check -> handler ->
-- fault "after" -> send.
local settings = require "cdp.sandbox.app.settings"
local masterdata = require "cdp.sandbox.app.masterdata"

local app = {}

--- init_by_lua (nginx master): settings and master data, inherited by workers.
function app.init(dir)
  settings.load(dir)
  masterdata.load()
  require "cdp.sandbox.app.digest"  -- fail at start, not at the first document
end

function app.init_worker()
  math.randomseed(math.floor(ngx.now() * 1000) + ngx.worker.pid())
  if ngx.worker.id() == 0 then require("cdp.sandbox.app.watchdog").start() end
end

local respond = require "cdp.sandbox.app.respond"
local tokens = require "cdp.sandbox.app.tokens"
local customers = require "cdp.sandbox.app.customers"
local counters = require "cdp.sandbox.app.counters"
local faults = require "cdp.sandbox.app.faults"
local watchdog = require "cdp.sandbox.app.watchdog"

app.TOKEN_PATH = "/auth/realms/cdp/protocol/openid-connect/token"
app.LOOKUP_PATH = "/caas/api/v2/customer/validate"
app.ONBOARDING_PATH = "/caas-lcm/api/v1/CAAS/onBoarding/customer"
app.GET_ROUTE = "/caas/api/v2/customer/{ecrn}"

local ROUTES = {
  [app.TOKEN_PATH] = { method = "POST", handler = tokens.grant },
  [app.LOOKUP_PATH] = { method = "POST", handler = customers.lookup, auth = true },
  [app.ONBOARDING_PATH] = { method = "POST", handler = customers.onboard, auth = true },
}
local GET_CUSTOMER = { method = "GET", handler = customers.get, auth = true }

local function route_of(path)
  local route = ROUTES[path]
  if route then return route, path end
  local ecrn = path:match("^/caas/api/v2/customer/([^/]+)$")
  if ecrn then return GET_CUSTOMER, app.GET_ROUTE, ecrn end
  return nil
end

--- The request body, whether nginx kept it in memory or spilled it to a file.
local function read_body()
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if data then return data end
  local file = ngx.req.get_body_file()
  if not file then return "" end
  local f = io.open(file, "rb")
  if not f then return "" end
  data = f:read("*a")
  f:close()
  return data
end

local function finish(resp)
  counters.incr("responses", tostring(resp.status))
  return respond.send(resp)
end

--- content_by_lua for every API path.
function app.handle()
  watchdog.touch()
  if ngx.var.connection_requests == "1" then
    counters.incr("connections")
    -- A client that keeps TLS sessions resumes one instead of a full handshake.
    if ngx.var.ssl_session_reused == "r" then counters.incr("tls_resumed") end
  end
  local path = ngx.var.uri
  local route, key, ecrn = route_of(path)
  if not route then return finish(respond.gateway(404, path)) end
  if ngx.req.get_method() ~= route.method then
    local resp = respond.gateway(405, path)
    resp.headers = { Allow = route.method }
    return finish(resp)
  end
  counters.incr("calls", key)
  local ctx = { path = path, route = key, ecrn = ecrn }
  ctx.body = route.method == "POST" and read_body() or ""
  -- faults.act ends the request, except for a delay, after which the call goes on.
  local fault = faults.claim(key, "before")
  if fault then
    counters.incr("responses", "fault")
    faults.act(fault)
  end
  local resp = route.auth and tokens.check(path) or route.handler(ctx)
  fault = faults.claim(key, "after")
  if fault then
    counters.incr("responses", "fault")
    faults.act(fault, resp)
  end
  return finish(resp)
end

--- error_page target: nginx's own errors (413, 400, ...) as JSON.
function app.error_page()
  local status = tonumber(ngx.var.uri:match("(%d+)$")) or 500
  local path = (ngx.var.request_uri or "/"):gsub("%?.*$", "")
  if status == 413 then counters.incr("responses", "413") end
  local resp = respond.gateway(status, path)
  ngx.status = resp.status
  ngx.header["Content-Type"] = "application/json"
  ngx.print(resp.body)
  return ngx.exit(ngx.HTTP_OK)
end

return app
