--- cdp.ngx.callback: the partner's end of the CDP's AML alert closure
-- callback (NOTES.md), for content_by_lua_block.
--
--   local handle = require("cdp.ngx").callback_handler{
--     token = os.getenv("CDP_CALLBACK_TOKEN"),  -- expects "Authorization: Bearer <token>"
--     secret = nil,                 -- or/and a shared secret in the header `secret_header`
--     secret_header = "X-Callback-Secret",
--     on_event = function(event)    -- { ecrn, aml_scan_status, customer_status }
--       return true                 -- updated (200); nil, "not_found" (404); nil, why or an error (500)
--     end,
--     max_body = 16384,             -- bytes (keep client_max_body_size above it)
--     dict = "cdp_callbacks",       -- lua_shared_dict remembering handled events
--     dedupe_ttl = 86400,           -- seconds a handled event is remembered
--   }
--   content_by_lua_block { handle() }
--
-- Every answer is {"status_code", "status": "success"|"failed", "message"} with
-- the HTTP status equal to status_code: 200 updated, 404 unknown customer,
-- 500 failure, and 400 / 401 / 405 / 413 / 415 for refused input, which never
-- reaches on_event. Unauthenticated calls are refused unless authentication
-- is configured, or explicitly waived with `unauthenticated = true`.
-- A repeated delivery of a handled event is acknowledged (200) without
-- calling on_event again; on_event may yield (cosockets, ngx.sleep).
local bit = require "bit"
local cjson = require "cjson.safe"
local core = require "cdp.core"

local callback = {}

--- The published value sets (API document v1.0.3).
callback.CUSTOMER_STATUS = {
  ACTIVE = true, KYC_PENDING = true, INACTIVE = true, REJECTED = true, BLOCKED = true,
}
callback.AML_SCAN_STATUS = {
  Accepted = true, Rejected = true, ["Under Investigation"] = true, Failed = true,
}

local DEFAULTS = { max_body = 16384, dict = "cdp_callbacks", dedupe_ttl = 86400,
                   secret_header = "X-Callback-Secret" }
-- An event being handled right now is "busy" this long at most.
local BUSY_TTL = 60

--- Constant-time equality: both sides are hashed first, so neither the
-- length nor the first differing byte of the secret shows in the timing.
function callback.equal(given, expected)
  if type(given) ~= "string" or type(expected) ~= "string" then return false end
  local a, b = core.sha256(given), core.sha256(expected)
  local diff = 0
  for i = 1, #a do diff = bit.bor(diff, bit.bxor(a:byte(i), b:byte(i))) end
  return diff == 0
end

local function respond(status, message)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Cache-Control"] = "no-store"
  ngx.print(cjson.encode({ status_code = status, status = status == 200 and "success" or "failed",
                           message = message }))
  return status
end

local function header(name)
  local v = ngx.req.get_headers()[name]
  if type(v) == "table" then return nil end  -- sent twice: ambiguous, refused
  return v
end

local function authenticated(cfg)
  if cfg.token then
    local auth = header("Authorization")
    local given = type(auth) == "string" and auth:match("^[Bb][Ee][Aa][Rr][Ee][Rr] +(%S+)%s*$")
    if not callback.equal(given, cfg.token) then return false end
  end
  if cfg.secret and not callback.equal(header(cfg.secret_header), cfg.secret) then return false end
  return true
end

-- The body, or nil and the status to refuse it with.
local function read_body(max)
  local length = header("Content-Length")
  if length and (not length:match("^%d+$") or tonumber(length) > max) then return nil, 413 end
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if not data then
    local path = ngx.req.get_body_file()
    if not path then return "" end
    local f = io.open(path, "rb")
    if not f then return nil, 500 end
    data = f:read(max + 1)
    f:close()
  end
  if data and #data > max then return nil, 413 end
  return data or ""
end

local ECRN = "^" .. ("%d"):rep(16) .. "%d?%d?%d?%d?$"  -- 16 to 20 digits (NOTES.md)

-- The event, or nil and what is wrong with it.
local function parse(body)
  local t = cjson.decode(body)
  if type(t) ~= "table" or t[1] ~= nil then return nil, "the body is not a JSON object" end
  if type(t.ecrn) ~= "string" or not t.ecrn:match(ECRN) then
    return nil, "ecrn must be a string of 16 to 20 digits"
  end
  if type(t.aml_scan_status) ~= "string" or not callback.AML_SCAN_STATUS[t.aml_scan_status] then
    return nil, "aml_scan_status must be one of Accepted, Rejected, Under Investigation, Failed"
  end
  if type(t.customer_status) ~= "string" or not callback.CUSTOMER_STATUS[t.customer_status] then
    return nil, "customer_status must be one of ACTIVE, KYC_PENDING, INACTIVE, REJECTED, BLOCKED"
  end
  return { ecrn = t.ecrn, aml_scan_status = t.aml_scan_status, customer_status = t.customer_status }
end

local function content_type_ok()
  local ct = header("Content-Type")
  if type(ct) ~= "string" then return false end
  local media = ct:match("^%s*([^;%s]+)")
  return media ~= nil and media:lower() == "application/json"
end

-- Run on_event once per event; the dict remembers handled events.
local function dispatch(cfg, event)
  local key = "cb:" .. core.sha256(event.ecrn .. "\0" .. event.aml_scan_status .. "\0" .. event.customer_status)
  local dict = cfg.dict
  if dict:get(key) == "done" then return respond(200, "Already updated") end
  if not dict:add(key, "busy", BUSY_TTL) then
    if dict:get(key) == "done" then return respond(200, "Already updated") end
    return respond(500, "The same event is being handled; try again later")
  end
  local ok, updated, why = pcall(cfg.on_event, event)
  if ok and updated then
    dict:set(key, "done", cfg.dedupe_ttl)
    return respond(200, "Customer status updated")
  end
  dict:delete(key)
  if ok and why == "not_found" then return respond(404, "Customer not found") end
  ngx.log(ngx.ERR, "cdp.ngx callback: on_event failed for ECRN ", event.ecrn, ": ",
          tostring(ok and why or updated))
  return respond(500, "Customer status update failed")
end

local function check_options(opts)
  if type(opts) ~= "table" then error("callback_handler: options table expected", 3) end
  if type(opts.on_event) ~= "function" then error("callback_handler: on_event must be a function", 3) end
  for _, k in ipairs({ "token", "secret" }) do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "string" or v == "") then
      error("callback_handler: " .. k .. " must be a non-empty string", 3)
    end
  end
  local cfg = { on_event = opts.on_event, token = opts.token, secret = opts.secret,
                unauthenticated = opts.unauthenticated == true }
  for k, v in pairs(DEFAULTS) do
    cfg[k] = opts[k] == nil and v or opts[k]
    if type(cfg[k]) ~= type(v) then error("callback_handler: " .. k .. " must be a " .. type(v), 3) end
  end
  cfg.dict = ngx.shared[cfg.dict]
  if not cfg.dict then error("callback_handler: no lua_shared_dict " .. tostring(opts.dict or DEFAULTS.dict), 3) end
  return cfg
end

--- Make the handler; raises on misuse. The returned function answers the
-- current request and returns the HTTP status it sent.
function callback.handler(opts)
  local cfg = check_options(opts)
  local warned = false
  return function()
    if ngx.req.get_method() ~= "POST" then
      ngx.header["Allow"] = "POST"
      return respond(405, "Method not allowed; POST expected")
    end
    if not cfg.token and not cfg.secret and not cfg.unauthenticated then
      if not warned then
        ngx.log(ngx.ERR, "cdp.ngx callback: no token or secret configured: every call is refused")
        warned = true
      end
      return respond(401, "Unauthorized")
    end
    if not authenticated(cfg) then
      if cfg.token then ngx.header["WWW-Authenticate"] = "Bearer" end
      return respond(401, "Unauthorized")
    end
    if not content_type_ok() then return respond(415, "Content-Type must be application/json") end
    local body, refused = read_body(cfg.max_body)
    if not body then
      if refused == 413 then return respond(413, "Body larger than " .. cfg.max_body .. " bytes") end
      return respond(500, "Cannot read the body")
    end
    local event, why = parse(body)
    if not event then return respond(400, "Invalid callback: " .. why) end
    return dispatch(cfg, event)
  end
end

return callback
