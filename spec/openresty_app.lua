--- nginx-side handlers for spec/openresty_client_spec.lua: cdp.ngx's client
-- used directly, each answer a JSON report of what the call gave.
local cdp = require "cdp"
local cdp_ngx = require "cdp.ngx"
local errors = require "cdp.errors"
local cjson = require "cjson.safe"

local app = {}

local ROOT = os.getenv("CDP_SPEC_ROOT")

local function reply(t)
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(t))
end

local client
local function cdp_client()
  client = client or cdp_ngx.client()
  return client
end

-- The example's first e-KYC record mapped to a customer table (file documents).
local function customer_table(emirates_id)
  local f = assert(io.open(ROOT .. "/examples/ekyc-export.jsonl"))
  local record = cjson.decode(f:read("*l"))
  f:close()
  record["Emirates ID"] = emirates_id
  local mapping = assert(cdp.mapping.load(ROOT .. "/examples/ekyc-mapping.lua"))
  return assert(mapping:map(record))
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

local function report_error(err)
  return { is_error = errors.is(err), text = tostring(err), kind = err.kind, code = err.code,
           reconciled = err.reconciled }
end

function app.lookup_unknown()
  local data, err = cdp_client():lookup(4, "784199000000777")
  reply({ data = data, err = err and report_error(err) })
end

-- `n` lookups one after the other (a thread VM keeps its client).
function app.lookups()
  local n = tonumber(ngx.var.arg_n)
  local found = 0
  for i = 1, n do
    local _, err = cdp_client():lookup(4, ("7841990%08d"):format(i))
    if err and err.code == 45001 then found = found + 1 end
  end
  reply({ answered = found })
end

function app.onboard()
  local how = ngx.var.arg_how
  local t = customer_table(ngx.var.arg_id)
  if how == "bytes" then
    t.id_details[1].id_front = cdp.bytes(read(ROOT .. "/examples/images/id-back.jpg"), "image/jpeg")
  end
  t.preferred_name = cdp.null  -- an explicit JSON null crosses too
  local value = t
  if how == "built" then value = assert(cdp.customer(t)) end
  local data, info = cdp_client():onboard(value)
  if not data then return reply({ err = report_error(info) }) end
  reply({ ecrn = data.ecrn, reconciled = data.reconciled == true,
          cause = type(info) == "table" and info.cause and report_error(info.cause) or nil })
end

function app.misuse()
  local out = {}
  local function try(name, fn)
    local ok, err = pcall(fn)
    out[name] = ok and "no error" or tostring(err)
  end
  try("get", function() cdp_client():get("abc") end)
  try("dict", function() cdp_ngx.client{ dict = "no_such_dict" } end)
  try("pool", function() cdp_ngx.client{ pool = "no_such_pool" }:lookup(4, "784199000000001") end)
  try("option", function() cdp_ngx.client{ colour = "red" } end)
  try("onboard", function() cdp_client():onboard("not a table") end)
  reply(out)
end

-- Which secrets show in the strings reachable from the client table (and its
-- tostring), and what the token dict holds (the token itself is read from it).
function app.secrets()
  local c = cdp_client()
  local dict = ngx.shared.cdp_tokens
  local entries, token = {}, nil
  for _, key in ipairs(dict:get_keys(0)) do
    local value = dict:get(key)
    local fields = {}
    for f in tostring(value):gmatch("%S+") do fields[#fields + 1] = f end
    if key:find("^cdp:token:") then token = fields[#fields] end
    entries[#entries + 1] = { key = key, fields = #fields }
  end
  local secrets = { client_secret = os.getenv("CDP_CLIENT_SECRET"), password = os.getenv("CDP_PASSWORD"),
                    token = token }
  local seen, found = {}, {}
  local function check(v)
    if type(v) == "string" then
      for name, secret in pairs(secrets) do
        if v:find(secret, 1, true) then found[#found + 1] = name end
      end
    end
    if type(v) ~= "table" or seen[v] then return end
    seen[v] = true
    for k, x in pairs(v) do check(k) check(x) end
    local mt = getmetatable(v)
    if type(mt) == "table" then check(mt) end
  end
  check(tostring(c))
  check(c)
  reply({ found = found, entries = entries, has_token = token ~= nil and #token > 20,
          token_state = c:token_state() })
end

-- Callback handlers: one with a shared secret whose on_event yields, one
-- with no authentication configured. Calls that reach on_event are counted.
local calls = ngx.shared.cdp_callbacks
local function on_event(event)
  ngx.sleep(0.001)  -- on_event may yield
  calls:incr("calls:" .. event.ecrn, 1, 0)
  return true
end
local with_secret, without_auth
function app.callback_secret()
  with_secret = with_secret or cdp_ngx.callback_handler{ secret = "spec-secret-value", on_event = on_event }
  return with_secret()
end
function app.callback_none()
  without_auth = without_auth or cdp_ngx.callback_handler{ on_event = on_event }
  return without_auth()
end
function app.callback_calls()
  reply({ calls = calls:get("calls:" .. ngx.var.arg_ecrn) or 0 })
end

return app
