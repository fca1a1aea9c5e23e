--- cdp.ngx.thread: what runs in nginx's worker threads (ngx.run_worker_thread),
-- where blocking is allowed. Each thread's Lua VM is reused from call to
-- call, so its clients and token shares are kept here by options; the C
-- token cache behind them is one per nginx worker process.
-- Nothing here calls back into Lua from C, and nothing yields.
local client = require "cdp.client"
local core = require "cdp.core"
local options = require "cdp.ngx.options"
local plain = require "cdp.ngx.plain"

local thread = {}

local unpack = table.unpack or unpack

local clients, shares = {}, {}

local function client_for(id, o)
  local c = clients[id]
  if not c then
    c = client.new(o)
    clients[id] = c
  end
  return c
end

local function share_for(id, o)
  local s = shares[id]
  if not s then
    s = core.token_share(options.core_config(o))
    shares[id] = s
  end
  return s
end

--- A token for the shared dict: a new grant when `stale` (the token being
-- replaced) is still this process's current one. Returns token, expires_in,
-- lifetime, or nil and a plain failure.
function thread.token(id, o, stale)
  return share_for(id, o):fetch(stale)
end

local CALLS = { lookup = true, get = true, onboard = true }

--- One client call. `seed`: the shared token ({ token, expires_in, lifetime })
-- to install first. Returns the call's two results as plain data, and the
-- process's current token when it is not the seed (a new one fetched after
-- a 401, to be shared).
function thread.call(id, o, seed, method, ...)
  if not CALLS[method] then error("cdp.ngx: unknown call " .. tostring(method)) end
  local share = core.token_sharing and share_for(id, o)
  if share and seed and seed.expires_in > 0 then share:seed(seed.token, seed.expires_in, seed.lifetime) end
  local c = client_for(id, o)
  local args = { n = select("#", ...), ... }
  for i = 1, args.n do args[i] = plain.into(args[i]) end
  local data, info = c[method](c, unpack(args, 1, args.n))
  local fresh
  local token, expires_in, lifetime
  if share then token, expires_in, lifetime = share:peek() end
  if token and token ~= (seed and seed.token) then
    fresh = { token = token, expires_in = expires_in, lifetime = lifetime }
  end
  return plain.result(data), plain.result(info), fresh
end

return thread
