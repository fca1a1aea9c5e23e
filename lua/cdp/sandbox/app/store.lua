--- Customers, kept in a shared dict so every worker sees them:
-- "c:<ecrn>" holds the customer as JSON, "id:<id_type>:<id_number>" its ECRN.
local json = require "cdp.sandbox.app.json"

local store = {}

local dict = ngx.shared.cdp_customers

function store.id_key(id_type, id_number)
  return tostring(id_type) .. ":" .. tostring(id_number)
end

function store.get(ecrn)
  if type(ecrn) ~= "string" then return nil end
  local text = dict:get("c:" .. ecrn)
  return text and json.decode(text) or nil
end

--- The customer holding any of `keys` (id_key strings), or nil.
function store.find(keys)
  for _, key in ipairs(keys) do
    local ecrn = dict:get("id:" .. key)
    if ecrn then
      local customer = store.get(ecrn)
      if customer then return customer, key end
    end
  end
  return nil
end

--- Save a customer and index it by each of its ids.
function store.put(customer)
  local ok, err = dict:set("c:" .. customer.ecrn, json.encode(customer))
  if not ok then return nil, err end
  for _, id in ipairs(customer.ids or {}) do
    dict:set("id:" .. store.id_key(id.id_type, id.id_number), customer.ecrn)
  end
  return true
end

--- A new, unused 16-digit ECRN (7841003 and nine random digits, as the CDP's look).
function store.new_ecrn()
  while true do
    local ecrn = string.format("7841003%09d", math.random(0, 999999999))
    if dict:add("c:" .. ecrn, "{}") then return ecrn end
  end
end

function store.reset()
  dict:flush_all()
  dict:flush_expired()
end

return store
