--- The customer calls: onboarding and update, lookup v2, get by ECRN.
local json = require "cdp.sandbox.app.json"
local respond = require "cdp.sandbox.app.respond"
local validate = require "cdp.sandbox.app.validate"
local store = require "cdp.sandbox.app.store"
local triggers = require "cdp.sandbox.app.triggers"
local counters = require "cdp.sandbox.app.counters"

local customers = {}

local function text(v)
  if json.absent(v) then return "" end
  return tostring(v)
end

-- Keep the payload for inspection, without the (large) base64 data: the
-- documents are kept as size and SHA-256 beside it.
local function strip_base64(t)
  if type(t) ~= "table" then return end
  for k, v in pairs(t) do
    if k == "base64_data" then t[k] = nil else strip_base64(v) end
  end
end

local function ids_of(payload)
  local ids, keys = {}, {}
  for _, id in ipairs(payload.id_details) do
    ids[#ids + 1] = { id_type = id.id_type, id_number = id.id_number,
                      date_of_expiry = not json.absent(id.date_of_expiry) and id.date_of_expiry or nil,
                      active_status = id.active_status ~= false,
                      default_status = id.default_status == true }
    keys[#keys + 1] = store.id_key(id.id_type, id.id_number)
  end
  return ids, keys
end

local function count_per_id(keys, what)
  for _, key in ipairs(keys) do counters.incr("customers", "by_id", key, what) end
end

-- Copy the payload's customer fields onto the stored customer.
local function apply(customer, payload, checked)
  customer.first_name = text(payload.first_name)
  customer.middle_name = text(payload.middle_name)
  customer.last_name = text(payload.last_name)
  customer.agent_location_id = text(payload.agent_location_id)
  customer.primary_mobile_number = text(payload.primary_mobile_number)
  customer.email_id = text(payload.email_id)
  customer.pep = payload.political_exposed_person == true
  customer.aml_category = customer.pep and 3 or 2
  customer.ids = ids_of(payload)
  customer.documents = checked.documents
  strip_base64(payload)
  customer.payload = payload
  customer.updated_at = ngx.now()
end

local function investigation(customer)
  return respond.onboarding_failure(406, 406, 45013,
    "Customer " .. customer.ecrn .. " Under Compliance Investigation")
end

local function blocked(customer)
  return respond.onboarding_failure(406, 406, 45051, "Customer " .. customer.ecrn .. " Cannot be Accepted")
end

-- The answer for an existing customer whose state refuses onboarding, or nil.
local function refusal(customer)
  if customer.alert == "open" then return investigation(customer) end
  if customer.customer_status == "BLOCKED" then return blocked(customer) end
  return nil
end

local function update(payload, checked, keys)
  local customer = store.get(payload.ecrn)
  if not customer or not customer.ecrn then
    return respond.onboarding_failure(404, 404, 45032, "Customer update failed")
  end
  local refused = refusal(customer)
  if refused then return refused end
  apply(customer, payload, checked)
  customer.updates = (customer.updates or 0) + 1
  assert(store.put(customer))
  counters.incr("customers", "updated")
  count_per_id(keys, "updated")
  return respond.onboarding_success(customer)
end

--- POST /caas-lcm/api/v1/CAAS/onBoarding/customer
function customers.onboard(ctx)
  local payload = json.decode(ctx.body)
  if type(payload) ~= "table" then
    return respond.invalid({ body = "Invalid JSON request body" })
  end
  local checked = validate.onboarding(payload)
  if next(checked.details) then return respond.invalid(checked.details) end
  if checked.master then
    -- As in the API document: HTTP 400, status_code 406, and a leading space.
    local label = checked.master.field == "nationality" and "Nationality"
      or checked.master.field:gsub("_", " "):gsub("^%l", string.upper)
    return respond.onboarding_failure(400, 406, 45053, " Invalid " .. label .. " " .. checked.master.value .. "!")
  end
  local _, keys = ids_of(payload)
  if not json.absent(payload.ecrn) and payload.ecrn ~= "" then return update(payload, checked, keys) end

  local trigger
  for _, id in ipairs(payload.id_details) do
    trigger = trigger or triggers.code(id.id_number, triggers.ONBOARDING)
  end
  if trigger == 40001 then
    return respond.onboarding_failure(502, 502, 40001, "Backend Technical Problem")
  end
  local existing = store.find(keys)
  if existing then
    -- Sent again without its ECRN: the CDP answers for the customer it has.
    counters.incr("customers", "duplicates")
    count_per_id(keys, "duplicates")
    return refusal(existing) or respond.onboarding_success(existing)
  end
  local customer = { ecrn = store.new_ecrn(), created_at = ngx.now(), updates = 0,
                     customer_status = "ACTIVE", aml_scan_status = "Accepted" }
  if trigger == 45013 then
    customer.customer_status, customer.aml_scan_status, customer.alert = "KYC_PENDING", "Under Investigation", "open"
  elseif trigger == 45051 then
    customer.customer_status, customer.aml_scan_status = "BLOCKED", "Rejected"
  end
  apply(customer, payload, checked)
  local ok, err = store.put(customer)
  if not ok then
    ngx.log(ngx.ERR, "store: ", err)
    return respond.onboarding_failure(502, 502, 40001, "Backend Technical Problem")
  end
  counters.incr("customers", "created")
  count_per_id(keys, "created")
  return refusal(customer) or respond.onboarding_success(customer)
end

local function lookup_data(customer, id)
  id = id or customer.ids[1] or {}
  local expiry = id.date_of_expiry
  local id_status = "Active"
  if id.active_status == false then
    id_status = "Inactive"
  elseif expiry and expiry < os.date("!%Y-%m-%d") then
    id_status = "Expired"
  end
  return {
    ecrn = customer.ecrn, first_name = customer.first_name, middle_name = customer.middle_name,
    last_name = customer.last_name, agent_location_id = customer.agent_location_id,
    primary_mobile_number = customer.primary_mobile_number, email_id = customer.email_id,
    customer_status = customer.customer_status, aml_scan_status = customer.aml_scan_status,
    id_status = id_status,
    id_date_of_expiry = expiry and (expiry .. "T00:00:00.000+00:00") or "",
  }
end

local function found(customer, id)
  if customer.alert == "open" then return respond.lookup_failure(45013) end
  if customer.customer_status == "BLOCKED" then return respond.lookup_failure(45051) end
  return respond.lookup_success(lookup_data(customer, id))
end

--- POST /caas/api/v2/customer/validate
function customers.lookup(ctx)
  local q = json.decode(ctx.body)
  if type(q) ~= "table" then return respond.lookup_failure(40001) end
  local id_type, id_number = q.idType, q.idNumber
  if type(id_type) == "number" then id_type = tostring(id_type) end
  if type(id_type) ~= "string" or not id_type:match("^%d+$") or #id_type > 3
    or type(id_number) ~= "string" or id_number == "" or #id_number > 30 then
    return respond.lookup_failure(40001)
  end
  id_type = tostring(tonumber(id_type))
  local customer = store.find({ store.id_key(id_type, id_number) })
  if customer then
    for _, id in ipairs(customer.ids) do
      if tostring(id.id_type) == id_type and id.id_number == id_number then return found(customer, id) end
    end
    return found(customer)
  end
  local code = triggers.code(id_number, triggers.LOOKUP)
  return respond.lookup_failure(code or 45001)
end

--- GET /caas/api/v2/customer/{ecrn}
function customers.get(ctx)
  local ecrn = ctx.ecrn
  if ecrn == triggers.NOT_SUBSCRIBED_ECRN then return respond.lookup_failure(45003) end
  local customer = store.get(ecrn)
  if not customer or not customer.ecrn then return respond.lookup_failure(45001) end
  local default
  for _, id in ipairs(customer.ids) do
    if id.default_status then default = default or id end
  end
  return found(customer, default)
end

--- Close a customer's AML alert (admin): "accept" or "reject".
function customers.close_alert(ecrn, decision)
  local customer = store.get(ecrn)
  if not customer or not customer.ecrn then return nil, 404, "no customer " .. tostring(ecrn) end
  if customer.alert ~= "open" then return nil, 409, "customer " .. ecrn .. " has no open AML alert" end
  if decision == "accept" then
    customer.aml_scan_status, customer.customer_status = "Accepted", "ACTIVE"
  elseif decision == "reject" then
    customer.aml_scan_status, customer.customer_status = "Rejected", "REJECTED"
  else
    return nil, 400, "decision must be accept or reject"
  end
  customer.alert = "closed"
  customer.updated_at = ngx.now()
  assert(store.put(customer))
  return customer
end

return customers
