--- The sandbox's settings, read once in nginx's master (init_by_lua) from the
-- files `cdp.sandbox` wrote into its directory; workers inherit the table.
local json = require "cdp.sandbox.app.json"

local settings = {}

local function read_json(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return assert(json.decode(text), "bad JSON in " .. path)
end

--- Fill this table from `dir`/settings.json and `dir`/credentials.json.
function settings.load(dir)
  for k, v in pairs(read_json(dir .. "/settings.json")) do settings[k] = v end
  settings.credentials = read_json(dir .. "/credentials.json")
  if settings.callback_url == "" then settings.callback_url = nil end
end

return settings
