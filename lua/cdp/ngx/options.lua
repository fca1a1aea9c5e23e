--- cdp.ngx.options: a client's options as plain data, for both sides of the
-- thread boundary. nginx's event loop resolves them once (environment
-- included: nginx keeps only the variables named by `env` directives); the
-- worker threads build their client and token share from the result.
local client = require "cdp.client"
local core = require "cdp.core"

local options = {}

--- Options of cdp.ngx itself, not passed on to cdp.client.
options.OWN = { pool = true, dict = true, lock_timeout = true, wait = true, queue_wait = true }

--- A plain copy of `opts` without cdp.ngx's own keys, with the environment
-- filled in. Raises on what cdp.client would refuse (a client is made and
-- closed here: that is cheap and never touches the network).
function options.resolve(opts)
  local o = {}
  for k, v in pairs(opts) do
    if not options.OWN[k] then o[k] = v end
  end
  if type(o.headers) == "table" then
    local copy = {}
    for k, v in pairs(o.headers) do copy[k] = v end
    o.headers = copy
  end
  for k, name in pairs(client.ENV) do
    if o[k] == nil then
      local v = os.getenv(name)
      if v ~= nil and v ~= "" then o[k] = v end
    end
  end
  local probe = client.new(o)
  probe:close()
  o.base_url = probe.base_url
  return o
end

--- core.client's config for resolved options: the token share must use the
-- very cache entry the client uses, so it is cdp.client's own.
options.core_config = client.core_config

--- A name for the token of these options: a SHA-256 over endpoint, client,
-- user, scope and credentials (different credentials never share a token),
-- without the credentials themselves.
function options.key(o)
  local c = options.core_config(o)
  return core.sha256(table.concat({ c.token_url, c.client_id, c.username, c.scope,
    c.client_secret, c.password }, "\0"))
end

--- A name for the whole set of options (timeouts, headers, TLS files too):
-- worker threads keep one client per name.
function options.fingerprint(o)
  local lines = {}
  for k, v in pairs(o) do
    if k ~= "headers" then lines[#lines + 1] = k .. "=" .. tostring(v) end
  end
  for _, h in ipairs(options.core_config(o).headers) do lines[#lines + 1] = "header " .. h end
  table.sort(lines)
  return core.sha256(table.concat(lines, "\0"))
end

return options
