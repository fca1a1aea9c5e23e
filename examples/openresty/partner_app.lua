--- The handlers of examples/openresty/nginx.conf: a partner's onboarding
-- front door on OpenResty. A record is mapped with examples/ekyc-mapping.lua,
-- onboarded through cdp.ngx (off the event loop), and the CDP's AML alert
-- closure callback updates what the partner knows about the customer (here
-- a shared dict stands in for the partner's database).
local cdp = require "cdp"
local cdp_ngx = require "cdp.ngx"
local cjson = require "cjson.safe"

local app = {}

local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local mapping = assert(cdp.mapping.load(HERE .. "/../ekyc-mapping.lua"))

local customers = ngx.shared.partner_customers

-- One client per worker, made at first use; settings from CDP_* (env directives).
local client
local function cdp_client()
  client = client or cdp_ngx.client()
  return client
end

local function reply(status, t)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(t))
end

-- The public fields of a cdp error (never secrets: the SDK keeps them out).
local function error_json(err)
  local out = {}
  for _, k in ipairs({ "kind", "message", "code", "name", "http_status", "status_code",
                       "request_id", "ecrn", "details", "errors", "retryable", "outcome_unknown" }) do
    out[k] = err[k]
  end
  return out
end

local STATUS_OF = { validation = 422, business = 409, timeout = 504 }

local function remember(ecrn, customer_status, aml_scan_status)
  local known = cjson.decode(customers:get(ecrn) or "{}") or {}
  known.ecrn, known.customer_status, known.aml_scan_status = ecrn, customer_status, aml_scan_status
  known.updates = known.updates or 0
  customers:set(ecrn, cjson.encode(known))
end

function app.onboard()
  if ngx.req.get_method() ~= "POST" then
    return reply(405, { error = { kind = "validation", message = "POST a partner record" } })
  end
  ngx.req.read_body()
  local record = cjson.decode(ngx.req.get_body_data() or "")
  if type(record) ~= "table" then
    return reply(400, { error = { kind = "validation", message = "the body must be a JSON object" } })
  end
  local customer, err = mapping:build(record)
  if not customer then return reply(422, { error = error_json(err) }) end
  local data
  data, err = cdp_client():onboard(customer)
  if data then
    remember(data.ecrn, data.customer_status, data.aml_scan_status)
    return reply(200, { ecrn = data.ecrn, customer_status = data.customer_status,
                        aml_scan_status = data.aml_scan_status, reconciled = data.reconciled })
  end
  -- 45013: created, with an AML alert open; the callback will tell the outcome.
  if err.code == 45013 and err.ecrn then remember(err.ecrn, "KYC_PENDING", "Under Investigation") end
  return reply(STATUS_OF[err.kind] or 502, { error = error_json(err) })
end

function app.lookup()
  local args = ngx.req.get_uri_args()
  local id_type, id_number = tonumber(args.id_type), args.id_number
  if not id_type or type(id_number) ~= "string" then
    return reply(400, { error = { kind = "validation", message = "id_type and id_number expected" } })
  end
  local data, err = cdp_client():lookup(id_type, id_number)
  if data then return reply(200, data) end
  return reply(err.code == 45001 and 404 or STATUS_OF[err.kind] or 502, { error = error_json(err) })
end

-- The partner's function: update the customer, or say it is unknown.
local function on_event(event)
  local raw = customers:get(event.ecrn)
  if not raw then return nil, "not_found" end
  local known = cjson.decode(raw)
  known.customer_status, known.aml_scan_status = event.customer_status, event.aml_scan_status
  known.updates = (known.updates or 0) + 1
  customers:set(event.ecrn, cjson.encode(known))
  return true
end

local handle_callback
function app.callback()
  local token = os.getenv("CDP_CALLBACK_TOKEN")
  handle_callback = handle_callback or cdp_ngx.callback_handler{
    token = token ~= "" and token or nil,  -- none: every callback is refused
    on_event = on_event,
    max_body = 16384,
  }
  return handle_callback()
end

function app.customer(ecrn)
  local known = customers:get(ecrn)
  if not known then return reply(404, { error = { kind = "business", message = "unknown customer" } }) end
  ngx.status = 200
  ngx.header["Content-Type"] = "application/json"
  ngx.say(known)
end

return app
