--- Counters kept in a shared dict so that every worker adds to the same ones.
-- Keys are paths joined with "|"; `snapshot` turns them into nested tables.
local json = require "cdp.sandbox.app.json"

local counters = {}

local dict = ngx.shared.cdp_counters
local state = ngx.shared.cdp_state

function counters.incr(...)
  dict:incr(table.concat({ ... }, "|"), 1, 0)
end

--- Append an entry to the callback delivery log.
function counters.log_callback(entry)
  local n = state:incr("cblog_seq", 1, 0)
  state:set("cblog:" .. n, json.encode(entry))
end

local function skeleton()
  return {
    connections = 0,
    tls_resumed = 0,
    tokens = { granted = { password = 0, refresh_token = 0 },
               refused = { password = 0, refresh_token = 0, other = 0 } },
    calls = {},
    responses = {},
    unauthorized = { total = 0, missing = 0, unknown = 0, expired = 0, revoked = 0 },
    customers = { created = 0, updated = 0, duplicates = 0, by_id = {} },
    faults = { fired = {} },
    callbacks = { attempts = 0, delivered = 0, failed = 0, log = {} },
  }
end

--- Every counter as one table (the shape is documented in spec/helpers/sandbox.lua).
function counters.snapshot()
  local out = skeleton()
  for _, key in ipairs(dict:get_keys(0)) do
    local value = dict:get(key)
    if value then
      local node, parts = out, {}
      for part in key:gmatch("[^|]+") do parts[#parts + 1] = part end
      for i = 1, #parts - 1 do
        node[parts[i]] = node[parts[i]] or {}
        node = node[parts[i]]
      end
      node[parts[#parts]] = value
    end
  end
  for i = 1, state:get("cblog_seq") or 0 do
    local entry = state:get("cblog:" .. i)
    if entry then out.callbacks.log[#out.callbacks.log + 1] = json.decode(entry) end
  end
  out.callbacks.log = json.array(out.callbacks.log)
  return out
end

function counters.reset()
  dict:flush_all()
  dict:flush_expired()
  for i = 1, state:get("cblog_seq") or 0 do state:delete("cblog:" .. i) end
  state:delete("cblog_seq")
end

return counters
