--- cdp.config: client settings from a config file, for the CLI's --config.
-- The file holds the same names as the environment (`sandbox env` output can
-- be saved as one):
--
--   # comments and blank lines are fine; `export ` and quotes are optional
--   CDP_BASE_URL=https://cdp.example.com
--   export CDP_CLIENT_SECRET='…'
--
-- It holds secrets, so it is refused when anyone but its owner may read it.
-- Errors name the file, the line and the key, never a value.
local lfs = require "lfs"

local config = {}

--- Client option for each variable (the client reads the same variables
-- from the environment for any option not given).
config.VARIABLES = {
  CDP_BASE_URL = "base_url",
  CDP_CLIENT_ID = "client_id",
  CDP_CLIENT_SECRET = "client_secret",
  CDP_USERNAME = "username",
  CDP_PASSWORD = "password",
  CDP_SCOPE = "scope",
  CDP_CA_FILE = "ca_file",
  CDP_CLIENT_CERT = "client_cert",
  CDP_CLIENT_KEY = "client_key",
}

local function unquote(value)
  local q = value:sub(1, 1)
  if (q == "'" or q == '"') and #value >= 2 and value:sub(-1) == q then
    return value:sub(2, -2), true
  end
  return value, false
end

--- Read `path`: returns a table of client options, or nil and a message.
function config.load(path)
  if type(path) ~= "string" then error("config.load: path must be a string", 2) end
  local perms, err = lfs.attributes(path, "permissions")
  if not perms then return nil, path .. ": " .. tostring(err) end
  if perms:sub(4) ~= "------" then
    return nil, ("%s: readable by other users (%s); it holds secrets: chmod 600 %s"):format(path, perms, path)
  end
  local file, open_err = io.open(path, "r")
  if not file then return nil, open_err end
  local options, line_no = {}, 0
  for line in file:lines() do
    line_no = line_no + 1
    line = line:gsub("\r$", "")
    if line:find("%S") and not line:find("^%s*#") then
      local key, value = line:match("^%s*export%s+([%w_]+)=(.-)%s*$")
      if not key then key, value = line:match("^%s*([%w_]+)=(.-)%s*$") end
      if not key then
        file:close()
        return nil, ("%s:%d: expected NAME=value"):format(path, line_no)
      end
      local option = config.VARIABLES[key]
      if not option then
        file:close()
        return nil, ("%s:%d: unknown setting %s"):format(path, line_no, key)
      end
      local unquoted = unquote(value)
      if unquoted ~= "" then options[option] = unquoted end
    end
  end
  file:close()
  return options
end

return config
