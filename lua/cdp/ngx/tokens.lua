--- cdp.ngx.tokens: one CDP token for every worker of an nginx, kept in a
-- lua_shared_dict. When it is missing or close to expiry, one worker (the one
-- that wins `add` on a lock key, which expires by itself should that worker
-- die) fetches a new one in a worker thread and publishes it; the others
-- keep using the current token meanwhile, or wait for the new one without
-- blocking (ngx.sleep). Near expiry, the worker that fetched the token gets
-- the first chance to replace it: its C cache holds the refresh token, so
-- the replacement is a refresh grant rather than a new password grant.
-- Each worker installs the shared token into its own C cache with every
-- call, so the C cache goes on serving its threads.
--
-- The dict holds only the access token, its expiry, lifetime and the pid of
-- the worker that fetched it: refresh tokens and credentials stay in that
-- worker's C cache.
local cjson = require "cjson.safe"

local tokens = {}

local Shared = {}
Shared.__index = Shared

--- `dict`: the shared dict; `key`: the name of the credentials' token (a
-- hash, cdp.ngx.options.key); `opts`: skew (the client's token_skew, 30),
-- lock_timeout (s, 30), wait (s a caller waits for another worker, 30).
function tokens.new(dict, key, opts)
  return setmetatable({
    dict = dict,
    key = "cdp:token:" .. key,
    lock_key = "cdp:lock:" .. key,
    fail_key = "cdp:fail:" .. key,
    skew = opts.skew or 30,
    lock_timeout = opts.lock_timeout or 30,
    wait = opts.wait or 30,
  }, Shared)
end

-- The C cache refreshes a token this long before its expiry by itself. The
-- shared token is replaced earlier: from 2 margins before expiry by the
-- worker that fetched it, from 1.5 margins by any worker.
local function c_margin(self, lifetime)
  return math.min(self.skew, lifetime / 4)
end

-- Should this worker replace `entry` now?
function Shared:due(entry, now)
  local left, m = entry.expires_at - now, c_margin(self, entry.lifetime)
  if left <= 1.5 * m then return true end
  return left <= 2 * m and entry.owner == ngx.worker.pid()
end

--- The shared entry { token, expires_at (ngx.now() time), lifetime, owner
-- (the fetching worker's pid) } or nil.
function Shared:read()
  local v = self.dict:get(self.key)
  if type(v) ~= "string" then return nil end
  local expires_at, lifetime, owner, token = v:match("^(%S+) (%S+) (%d+) (.+)$")
  if not token then return nil end
  return { token = token, expires_at = tonumber(expires_at), lifetime = tonumber(lifetime),
           owner = tonumber(owner) }
end

--- Share a token unless the dict holds one that lives longer. Returns the
-- entry in use, or nil when the token came without an expiry.
function Shared:publish(token, expires_in, lifetime)
  if type(token) ~= "string" or type(expires_in) ~= "number" or expires_in <= 0 then return nil end
  local entry = { token = token, expires_at = ngx.now() + expires_in,
                  lifetime = (lifetime and lifetime > 0) and lifetime or expires_in, owner = ngx.worker.pid() }
  local current = self:read()
  if current and current.expires_at >= entry.expires_at then return current end
  self.dict:set(self.key, ("%.3f %.3f %d %s"):format(entry.expires_at, entry.lifetime, entry.owner, token),
                expires_in)
  return entry
end

-- A failed fetch is kept for a second, so that waiting workers report it
-- instead of each trying again at once. Only the kind and the token
-- endpoint's own message are kept.
local function note_failure(self, failure)
  local kept = { kind = failure.kind, phase = "token", message = failure.message,
                 http_status = failure.http_status, oauth_error = failure.oauth_error,
                 reason = failure.reason }
  self.dict:set(self.fail_key, cjson.encode(kept), 1)
end

--- A valid shared token entry, or nil and a failure ({ kind, message, ... }).
-- `fetch(stale)` runs the fetch in a worker thread and returns token,
-- expires_in, lifetime or nil, failure.
function Shared:get(fetch)
  local deadline = ngx.now() + self.wait
  while true do
    local now = ngx.now()
    local entry = self:read()
    if entry and not self:due(entry, now) then return entry end
    if self.dict:add(self.lock_key, true, self.lock_timeout) then
      -- Another worker may have published and unlocked since the read above.
      local again = self:read()
      if again and not self:due(again, ngx.now()) then
        self.dict:delete(self.lock_key)
        return again
      end
      entry = again or entry
      local ok, token, expires_in, lifetime = pcall(fetch, entry and entry.token)
      -- Publish before unlocking: a worker that sees neither lock nor token
      -- would fetch again.
      local published
      if ok and token then
        self.dict:delete(self.fail_key)
        published = self:publish(token, expires_in, lifetime)
      elseif ok and not (entry and ngx.now() < entry.expires_at) then
        note_failure(self, expires_in)
      end
      self.dict:delete(self.lock_key)
      if not ok then error(token, 0) end
      if token then return published or { token = token, expires_at = now, lifetime = 0 } end
      if entry and ngx.now() < entry.expires_at then return entry end
      return nil, expires_in
    end
    -- Another worker is fetching: the current token serves until the C
    -- cache would refresh it by itself (a grant of its own); then wait.
    if entry and now < entry.expires_at - c_margin(self, entry.lifetime) then return entry end
    local failed = self.dict:get(self.fail_key)
    if failed then return nil, cjson.decode(failed) end
    if now >= deadline then
      return nil, { kind = "timeout", phase = "token",
                    message = "no token after waiting " .. self.wait .. " s for another worker's fetch" }
    end
    ngx.sleep(0.005)
  end
end

return tokens
