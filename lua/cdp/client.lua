--- cdp.client: the CDP's API calls over the C core (libcurl, token cache).
--
--   local c = cdp.client{ base_url = ..., client_id = ..., ... }  -- or CDP_* env
--   local data, err = c:lookup(4, "784199554586091")
--   local data, err = c:get("7841003247752409")
--   local data, err = c:onboard(customer_table_or_built_customer)
--
-- Every call returns the response's `data` table (and a second table with the
-- call's `request_id` and `http_status`), or `nil, err` with `err` made by
-- cdp.errors. Nothing here ever puts a secret, a token or document bytes into
-- an error, a string or the client table: the secrets live in the C core only.
local core = require "cdp.core"
local document_types = require("cdp.document").content_types
local errors = require "cdp.errors"
local cjson = require "cjson"

local json = cjson.new()
if json.decode_array_with_array_mt then json.decode_array_with_array_mt(true) end

local client = {}

client.DEFAULT_SCOPE = "api://3a3f52a1-1b64-4c27-81f0-50a6ca01324d/customer"

--- Paths below base_url (NOTES.md: the get-by-ECRN path is inferred).
client.paths = {
  token = "/auth/realms/cdp/protocol/openid-connect/token",
  lookup = "/caas/api/v2/customer/validate",
  onboard = "/caas-lcm/api/v1/CAAS/onBoarding/customer",
  get = "/caas/api/v2/customer/",
}

--- Option -> environment variable read when the option is not given.
client.ENV = {
  base_url = "CDP_BASE_URL", client_id = "CDP_CLIENT_ID", client_secret = "CDP_CLIENT_SECRET",
  username = "CDP_USERNAME", password = "CDP_PASSWORD", scope = "CDP_SCOPE",
  ca_file = "CDP_CA_FILE", client_cert = "CDP_CLIENT_CERT", client_key = "CDP_CLIENT_KEY",
}

local ENV = client.ENV

local STRING_OPTIONS = {
  "base_url", "client_id", "client_secret", "username", "password", "scope",
  "ca_file", "client_cert", "client_key", "proxy", "user_agent",
}
local NUMBER_OPTIONS = { "timeout", "connect_timeout", "token_skew", "max_response_bytes", "retries", "backoff" }
local KNOWN = { headers = true }
for _, k in ipairs(STRING_OPTIONS) do KNOWN[k] = true end
for _, k in ipairs(NUMBER_OPTIONS) do KNOWN[k] = true end

local REQUIRED = { "base_url", "client_id", "client_secret", "username", "password" }

local LOOPBACK = { ["127.0.0.1"] = true, ["localhost"] = true, ["[::1]"] = true }

local Client = {}
Client.__index = Client

local function check_base_url(url)
  local scheme, host = url:match("^(%a[%w+.-]*)://([^/]+)")
  if not scheme then error("cdp.client: base_url must be an http(s) URL", 3) end
  scheme = scheme:lower()
  host = host:gsub("^.*@", ""):lower()
  local name = host:match("^(%[[^%]]+%])") or host:gsub(":%d+$", "")
  if scheme == "https" then return end
  if scheme == "http" and (LOOPBACK[name] or name:match("^127%.%d+%.%d+%.%d+$")) then return end
  if scheme == "http" then
    error("cdp.client: http:// is refused except to loopback; use https://", 3)
  end
  error("cdp.client: base_url must be https:// (got " .. scheme .. "://)", 3)
end

--- core.client's config for checked options `o` (base_url without a
-- trailing slash, headers as name -> value). cdp.ngx builds its token share
-- from the same config, so that both use one entry of the token cache.
function client.core_config(o)
  local lines = {}
  for name, value in pairs(o.headers or {}) do lines[#lines + 1] = name .. ": " .. value end
  table.sort(lines)
  return {
    token_url = o.base_url .. client.paths.token,
    client_id = o.client_id, client_secret = o.client_secret,
    username = o.username, password = o.password,
    scope = o.scope or client.DEFAULT_SCOPE,
    token_skew = o.token_skew, ca_file = o.ca_file,
    client_cert = o.client_cert, client_key = o.client_key, proxy = o.proxy,
    user_agent = o.user_agent or "cdp-lua/0.1",
    timeout = o.timeout, connect_timeout = o.connect_timeout,
    max_response_bytes = o.max_response_bytes,
    headers = lines,
  }
end

--- Make a client. Raises on wrong types and missing settings (misuse);
-- run-time failures come later, from the calls.
function client.new(opts)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then error("cdp.client: options table expected", 2) end
  for k in pairs(opts) do
    if not KNOWN[k] then error("cdp.client: unknown option " .. tostring(k), 2) end
  end
  local o = {}
  for _, k in ipairs(STRING_OPTIONS) do
    local v = opts[k]
    if v == nil and ENV[k] then
      v = os.getenv(ENV[k])
      if v == "" then v = nil end
    end
    if v ~= nil and type(v) ~= "string" then error("cdp.client: " .. k .. " must be a string", 2) end
    o[k] = v
  end
  for _, k in ipairs(NUMBER_OPTIONS) do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v < 0 or v ~= v) then
      error("cdp.client: " .. k .. " must be a non-negative number", 2)
    end
    o[k] = v
  end
  for _, k in ipairs(REQUIRED) do
    if not o[k] or o[k] == "" then
      error("cdp.client: " .. k .. " is required (option or " .. ENV[k] .. ")", 2)
    end
  end
  if (o.client_cert == nil) ~= (o.client_key == nil) then
    error("cdp.client: client_cert and client_key go together", 2)
  end
  check_base_url(o.base_url)
  local base = o.base_url:gsub("/+$", "")

  if opts.headers ~= nil then
    if type(opts.headers) ~= "table" then error("cdp.client: headers must be a table", 2) end
    for name, value in pairs(opts.headers) do
      if type(name) ~= "string" or not name:match("^[%w!#$%%&'*+.^_`|~-]+$") then
        error("cdp.client: header names must be tokens", 2)
      end
      if type(value) ~= "string" or value:find("[\r\n]") then
        error("cdp.client: header " .. name .. " must be a one-line string", 2)
      end
    end
  end
  o.base_url, o.headers = base, opts.headers

  local handle = core.client(client.core_config(o))
  return setmetatable({
    base_url = base,
    client_id = o.client_id,
    retries = o.retries or 3,
    backoff = o.backoff or 0.2,
    _core = handle,
  }, Client)
end

function Client:__tostring()
  return ("cdp.client(%s, client_id=%s)"):format(self.base_url, self.client_id)
end

--- Counters of this client's connection and of its shared token entry.
function Client:stats()
  return self._core:stats()
end

function Client:close()
  self._core:close()
end

-- ----------------------------------------------------------------------------
-- Responses -> data or error

-- Codes whose refusal is about the request's data, not the customer.
local VALIDATION_CODES = { [40002] = true, [45053] = true, [45005] = true }

local function decode(body)
  if type(body) ~= "string" or body == "" then return nil end
  local ok, value = pcall(json.decode, body)
  if ok and type(value) == "table" then return value end
  return nil
end

local function non_empty(v)
  if v == nil or v == cjson.null or v == "" then return nil end
  return v
end

-- cjson under Lua 5.4 decodes 45001 as the float 45001.0: codes are integers.
local to_integer = math.tointeger or function(v) return v end

local function number_or_nil(v)
  if type(v) == "string" then v = tonumber(v) end
  if type(v) ~= "number" then return nil end
  return to_integer(v) or v
end

-- The shared part: transport failures from the core.
local function failure_error(fail, what)
  local kind = fail.kind
  if not errors.kinds[kind] then kind = "transport" end
  local message = what .. ": " .. tostring(fail.message)
  if fail.phase == "token" then
    if kind == "auth" then
      message = "the token endpoint refused the credentials: " .. tostring(fail.message)
    else
      message = what .. ": token request failed: " .. tostring(fail.message)
    end
  end
  return errors.new{
    kind = kind, message = message, http_status = fail.http_status,
    name = fail.oauth_error and fail.oauth_error:upper() or nil,
    retryable = kind == "timeout" or (kind == "transport" and fail.reason ~= "internal")
      or (fail.phase == "token" and kind == "server"),  -- a grant has no side effects
    phase = fail.phase, reason = fail.reason,
  }
end

-- A Spring-style gateway body: {timestamp, status, error, path}.
local function gateway_error(status, body)
  local text = body and non_empty(body.error) or "HTTP " .. status
  local path = body and non_empty(body.path)
  local kind = status == 401 and "auth" or status >= 500 and "server" or "protocol"
  return errors.new{
    kind = kind, http_status = status, status_code = body and number_or_nil(body.status),
    message = text .. (path and (" (" .. path .. ")") or ""),
    retryable = status >= 500,
  }
end

-- An answer that is neither of the API's shapes (an HTML 502, a truncated body).
local function unexpected(status, what)
  if status >= 500 then
    return errors.new{ kind = "server", http_status = status,
      message = what .. ": the server answered HTTP " .. status .. " without a CDP body",
      retryable = true }
  end
  return errors.new{ kind = "protocol", http_status = status,
    message = what .. ": the answer (HTTP " .. status .. ") is not the CDP's JSON" }
end

local function kind_of(code, status_code)
  if VALIDATION_CODES[code] then return "validation" end
  if status_code and status_code >= 500 and code ~= 45013 then return "server" end
  return "business"
end

--- Lookup and get: camelCase bodies with HTTP 200 (NOTES.md).
local function lookup_result(res, what)
  local body = decode(res.body)
  if res.status == 200 and body and body.status == "success" and type(body.data) == "table" then
    return body.data, { http_status = res.status }
  end
  if res.status == 200 and body and body.errorCode ~= nil then
    local code = number_or_nil(body.errorCode)
    local status_code = number_or_nil(body.statusCode)
    local kind = code == 40001 and "validation" or kind_of(code, status_code)
    return nil, errors.new{
      kind = kind, code = code, http_status = res.status, status_code = status_code,
      message = type(body.message) == "string" and body.message or what .. " failed",
      retryable = code == 45006,
    }
  end
  if body and body.timestamp ~= nil and body.path ~= nil then return nil, gateway_error(res.status, body) end
  return nil, unexpected(res.status, what)
end

local function ecrn_in(message)
  if type(message) ~= "string" then return nil end
  return message:match("(%d%d%d%d%d%d%d%d%d%d+)")
end

--- Onboarding: snake_case bodies with real HTTP statuses.
local function onboard_result(res)
  local body = decode(res.body)
  if res.status == 200 and body and body.status == "success" and type(body.data) == "table" then
    return body.data, { http_status = res.status, request_id = non_empty(body.request_id) }
  end
  if body and body.error_code ~= nil then
    local code = number_or_nil(body.error_code)
    local status_code = number_or_nil(body.status_code)
    local message = type(body.message) == "string" and body.message:gsub("^%s+", "") or "onboarding failed"
    local kind = kind_of(code, status_code)
    local name
    if res.status >= 500 then
      -- 502 / 40001 "Backend Technical Problem": not the lookup's "invalid format".
      kind, name = "server", code == 40001 and "BACKEND_TECHNICAL_PROBLEM" or nil
    end
    local err = errors.new{
      kind = kind, code = code, name = name, http_status = res.status, status_code = status_code,
      message = message, request_id = non_empty(body.request_id),
      details = type(body.details) == "table" and body.details or nil,
      retryable = res.status >= 500,
    }
    if code == 45013 or code == 45051 then err.ecrn = ecrn_in(message) end
    return nil, err
  end
  if body and body.timestamp ~= nil and body.path ~= nil then return nil, gateway_error(res.status, body) end
  return nil, unexpected(res.status, "onboarding")
end

-- ----------------------------------------------------------------------------
-- Calls and retries

local RETRY_STATUS = { [502] = true, [503] = true, [504] = true }

local function pause(self, attempt)
  -- Exponential backoff with full jitter, capped at 5 s.
  local ceiling = math.min(5, self.backoff * 2 ^ (attempt - 1))
  self:_sleep(ceiling * (0.5 + core.jitter() / 2))
end

-- A pause of the calling code; inside a batch task, of that task only.
function Client._sleep(_, seconds)
  core.sleep(seconds)
end

--- Up to `size` calls of this client at once; `opts.queue`: more tasks
-- ready to go the moment one ends (see cdp.batch).
function Client:batch(size, opts)
  return require("cdp.batch").new(self, size, opts)
end

-- Nothing of the request left (DNS, connect, or the token call's own connect).
local function nothing_sent(fail)
  return fail.reason == "connect"
end

--- One idempotent call (lookup, get) with its retries.
function Client:_idempotent(method, url, parts, what)
  local attempt = 0
  while true do
    attempt = attempt + 1
    local res, fail = self._core:request(method, url, parts)
    local data, err
    if res then
      data, err = lookup_result(res, what)
      if data then return data, err end
      if not (RETRY_STATUS[res.status] and attempt <= self.retries) then return nil, err end
    else
      err = failure_error(fail, what)
      local again = nothing_sent(fail) or fail.kind == "timeout"
        or (fail.kind == "transport" and fail.reason == "transport")
      if fail.phase == "token" then again = err.retryable end
      if not (again and attempt <= self.retries) then return nil, err end
    end
    pause(self, attempt)
  end
end

local function check_id(id_type, id_number)
  local t = type(id_type)
  if t ~= "number" and t ~= "string" then error("lookup: id_type must be a number or string", 3) end
  if t == "number" and (id_type ~= math.floor(id_type) or id_type < 0) then
    error("lookup: id_type must be a whole number", 3)
  end
  t = type(id_number)
  if t ~= "number" and t ~= "string" then error("lookup: id_number must be a string", 3) end
end

-- An integer-valued number as its digits (lua-cjson would write 7.8419955458609e+14).
local function digits(v)
  if type(v) == "number" then
    if v == math.floor(v) and v >= 0 and v < 2 ^ 53 then return ("%.0f"):format(v) end
    return tostring(v)
  end
  return v
end

--- Look a customer up by ID: the lookup's data, or nil, err (45001: not found).
function Client:lookup(id_type, id_number)
  check_id(id_type, id_number)
  local body = json.encode({ idType = digits(id_type), idNumber = digits(id_number) })
  return self:_idempotent("POST", self.base_url .. client.paths.lookup, { body }, "lookup")
end

--- Make sure the credentials give a token, and say how long it lives:
-- `{expires_in = s, lifetime = s}` or nil, err. The token is never shown.
function Client:token_status()
  local status, fail = self._core:token_status()
  if not status then return nil, failure_error(fail, "token") end
  return status
end

--- Get a customer by ECRN.
function Client:get(ecrn)
  if type(ecrn) == "number" then ecrn = digits(ecrn) end
  if type(ecrn) ~= "string" or not ecrn:match("^%d+$") then
    error("get: ecrn must be a string of digits", 2)
  end
  return self:_idempotent("GET", self.base_url .. client.paths.get .. ecrn, nil, "get")
end

-- The customer module is written beside this one; it is required when first
-- needed so that the client works (lookup, get) without it.
local function customer_module()
  local ok, mod = pcall(require, "cdp.customer")
  if ok and type(mod) == "table" then return mod end
  return nil
end

-- The agreed entry point is cdp.customer(t) -> customer | nil, err.
local function customer_constructor()
  local cdp = package.loaded.cdp
  if type(cdp) == "table" and type(cdp.customer) == "function" then return cdp.customer end
  local mod = customer_module()
  if not mod then return nil end
  for _, name in ipairs({ "new", "build", "customer" }) do
    if type(mod[name]) == "function" then return mod[name] end
  end
  local mt = getmetatable(mod)
  if mt and mt.__call then return function(t) return mod(t) end end
  return nil
end

-- A built customer: cdp.customer's, or any object with a metatable, a
-- `parts` method and its normalized `data` (the extension point for bodies
-- built elsewhere). A plain table is built by cdp.customer.
local function is_built(v)
  if type(v) ~= "table" then return false end
  local mod = customer_module()
  if mod and type(mod.is) == "function" and mod.is(v) then return true end
  return getmetatable(v) ~= nil and type(v.parts) == "function" and type(v.data) == "table"
end

local function build(t)
  if is_built(t) then return t end
  if type(t) ~= "table" then error("onboard: a customer table expected", 3) end
  local make = customer_constructor()
  if not make then error("onboard: cdp.customer is not available to build a customer from a table", 3) end
  local built, err = make(t)
  if not built then return nil, err end
  return built
end

local function first_id(customer)
  if type(customer.first_id) == "function" then
    local ok, id_type, id_number = pcall(customer.first_id, customer)
    if ok and id_type ~= nil then return id_type, id_number end
  end
  local ids = customer.data and customer.data.id_details
  local id = type(ids) == "table" and ids[1]
  if type(id) ~= "table" then return nil end
  return id.id_type, id.id_number
end

-- The outcome of an onboarding is unknown: the body left and no CDP answer
-- came back. Whether the customer exists is asked, never assumed.
local function outcome_unknown(res, fail, err)
  if res then
    -- A gateway error, or an answer we cannot read (cut short, not JSON).
    return RETRY_STATUS[res.status] or (err.kind == "protocol" and err.code == nil) or false
  end
  if fail.phase ~= "request" then return false end
  -- An answer over the size cap was being received: the request was processed.
  return fail.request_sent and (fail.kind == "timeout" or fail.kind == "transport"
    or fail.reason == "too_large") or false
end

local function reconcile(self, customer, cause)
  local id_type, id_number = first_id(customer)
  local ecrn = customer.data and customer.data.ecrn
  if ecrn ~= nil and ecrn ~= cjson.null and ecrn ~= "" then
    -- An update: sending the same full payload again is harmless.
    cause.retryable = true
    cause.outcome_unknown = true
    cause.message = cause.message .. " (update outcome unknown; sending it again is safe)"
    return nil, cause
  end
  if id_type == nil then
    cause.outcome_unknown = true
    return nil, cause
  end
  local found, lerr = self:lookup(id_type, id_number)
  if found then
    found.reconciled = true
    return found, { reconciled = true, cause = cause }
  end
  if lerr and lerr.code == 45001 and cause.kind == "timeout" then
    -- We stopped waiting; the CDP may still be working on the request and
    -- create the customer after this lookup. Nothing proves it safe yet.
    cause.outcome_unknown = true
    cause.retryable = false
    cause.message = cause.message .. "; no customer with its first ID exists yet, but the CDP may "
      .. "still be processing the request: look it up again later before sending it again"
    return nil, cause
  end
  if lerr and lerr.code == 45001 then
    return nil, errors.new{
      kind = cause.kind, http_status = cause.http_status, code = cause.code,
      status_code = cause.status_code, request_id = cause.request_id,
      message = cause.message .. "; no customer with its first ID exists: safe to send again",
      retryable = true, outcome_unknown = false, reconciled = true,
    }
  end
  if lerr and (lerr.code == 45013 or lerr.code == 45051) then
    -- The customer exists and is held: report that, marked as reconciled.
    lerr.reconciled = true
    return nil, lerr
  end
  cause.outcome_unknown = true
  cause.retryable = false
  cause.message = cause.message .. "; the customer could not be looked up ("
    .. tostring(lerr and lerr.message) .. "): do not send again before a lookup"
  return nil, cause
end

-- Where the document `doc` sits in a customer's data, as validation names
-- fields ("id_details[1].id_front"); nil when it is not there.
local function field_of(t, doc, prefix)
  for k, v in pairs(t) do
    local here = type(k) == "number" and ("%s[%d]"):format(prefix, k) or (prefix == "" and k or prefix .. "." .. k)
    if v == doc then return here end
    if type(v) == "table" and getmetatable(v) == nil then
      local found = field_of(v, doc, here)
      if found then return found end
    end
  end
  return nil
end

-- A document of `built` that cannot be sent: nothing was.
local function document_error(built, doc, why)
  return errors.new{ kind = "validation", message = (field_of(built.data, doc, "") or "document") .. ": " .. why,
    nothing_sent = true }
end

--- Onboard (or, with `ecrn`, update) a customer: a plain table or one built
-- by cdp.customer. Never sent twice blindly: when the outcome is unknown the
-- customer is looked up by its first ID; a found customer is returned with
-- `reconciled = true`.
function Client:onboard(customer)
  local built, verr = build(customer)
  if not built then return nil, verr end
  -- Every document is checked before anything is sent. A file whose type is
  -- known and taken, or one opened only when sent, is not opened here: the C
  -- core opens it just before sending and refuses one gone, empty or (for
  -- the latter) of unknown type, with nothing sent.
  local parts = built:parts()
  for _, part in ipairs(parts) do
    if type(part) == "table" and type(part.check) == "function"
      and not (part.kind == "file" and document_types[part.content_type]) then
      local ok, why = part:check()
      if not ok then return nil, document_error(built, part, why) end
    end
  end
  local url = self.base_url .. client.paths.onboard
  local attempt = 0
  while true do
    attempt = attempt + 1
    local res, fail = self._core:request("POST", url, parts, true)
    if res then
      local data, err = onboard_result(res)
      if data then return data, err end
      if outcome_unknown(res, nil, err) then return reconcile(self, built, err) end
      return nil, err
    end
    if fail.phase == "body" then return nil, document_error(built, parts[fail.part], tostring(fail.message)) end
    local err = failure_error(fail, "onboarding")
    if outcome_unknown(nil, fail) then return reconcile(self, built, err) end
    -- Only a failure before any byte left may be tried again: a connect
    -- failure, or a token request that may be (nothing of the onboarding left).
    local again = nothing_sent(fail) or (fail.phase == "token" and err.retryable)
    if not (again and attempt <= self.retries) then
      if fail.phase == "request" and fail.request_sent then err.retryable = false end
      return nil, err
    end
    pause(self, attempt)
  end
end

client.Client = Client
-- The response mappings, for specs that feed them real sandbox answers.
client._results = { lookup = lookup_result, onboard = onboard_result }

return client
