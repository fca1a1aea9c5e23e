--- cdp.ngx: the CDP client inside OpenResty, without blocking nginx.
--
--   -- nginx.conf: thread_pool cdp threads=16;  lua_shared_dict cdp_tokens 1m;
--   local cdp_ngx = require "cdp.ngx"
--   local c = cdp_ngx.client{ base_url = ..., ... }   -- cdp.client's options (or CDP_* env,
--                                                     -- kept by nginx's `env` directives), plus
--                                                     -- pool = "cdp", dict = "cdp_tokens",
--                                                     -- queue_wait = 10 (s, see run)
--   local data, err = c:lookup(4, "784199554586091")   -- in rewrite, access, content phases
--   local data, err = c:get(ecrn)
--   local data, err = c:onboard(customer)              -- a plain table (cdp.file / cdp.bytes
--                                                      -- documents allowed) or a cdp.customer
--
-- The calls are cdp.client's, with the same results and errors. Each runs in
-- the thread pool (ngx.run_worker_thread), where libcurl may block; the
-- request's coroutine waits without holding up the worker. One token serves
-- every worker (cdp.ngx.tokens). The AML alert closure callback handler is
-- cdp_ngx.callback_handler (cdp.ngx.callback).
local callback = require "cdp.ngx.callback"
local core = require "cdp.core"
local customer = require "cdp.customer"
local errors = require "cdp.errors"
local options = require "cdp.ngx.options"
local plain = require "cdp.ngx.plain"
local tokens = require "cdp.ngx.tokens"

local M = {}

M.DEFAULTS = { pool = "cdp", dict = "cdp_tokens" }

M.callback_handler = callback.handler

local THREAD = "cdp.ngx.thread"
local warned = false

local Client = {}
Client.__index = Client

-- Each client's resolved options (credentials included) live here, not in
-- the client table, which may be printed or encoded: the calls hand them to
-- the worker threads.
local private = setmetatable({}, { __mode = "k" })

--- Make a client; raises on misuse, like cdp.client.
function M.client(opts)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then error("cdp.ngx: options table expected", 2) end
  local pool = opts.pool or M.DEFAULTS.pool
  local dict_name = opts.dict or M.DEFAULTS.dict
  if type(pool) ~= "string" or type(dict_name) ~= "string" then
    error("cdp.ngx: pool and dict must be names", 2)
  end
  local dict = ngx.shared[dict_name]
  if not dict then error("cdp.ngx: no lua_shared_dict " .. dict_name .. " in nginx.conf", 2) end
  local ok, o = pcall(options.resolve, opts)
  if not ok then error((tostring(o):gsub("^[^:]*:%d+: ", "")), 2) end
  local self = setmetatable({
    base_url = o.base_url,
    client_id = o.client_id,
    pool = pool,
    queue_wait = opts.queue_wait or 10,
    _id = options.fingerprint(o),
    _shared = tokens.new(dict, options.key(o), { skew = o.token_skew, lock_timeout = opts.lock_timeout,
                                                 wait = opts.wait }),
  }, Client)
  private[self] = o
  return self
end

function Client:__tostring()
  return ("cdp.ngx.client(%s, client_id=%s)"):format(self.base_url, self.client_id)
end

-- Run THREAD[func](...) in the pool. When every Lua VM of the worker threads
-- is taken (lua_worker_thread_vm_pool_size calls in flight) or the queue is
-- full (thread_pool's max_queue), wait without blocking and try again, up to
-- `queue_wait` seconds; then it is a run-time failure: false, err. Anything
-- else (no such pool, misuse caught in the thread) raises.
local function run(self, func, ...)
  local deadline, pause = nil, 0.002
  while true do
    -- luacheck: ignore 143 (run_worker_thread is newer than luacheck's ngx_lua)
    local ok, a, b, c = ngx.run_worker_thread(self.pool, THREAD, func, ...)
    if ok then return true, a, b, c end
    local why = tostring(a)
    if not (why:find("no available Lua vm", 1, true) or why:find("task_post failed", 1, true)) then
      error("cdp.ngx: worker thread (pool " .. self.pool .. "): " .. why, 0)
    end
    deadline = deadline or ngx.now() + self.queue_wait
    if ngx.now() >= deadline then
      return false, errors.new{ kind = "transport", retryable = true,
        message = "cdp.ngx: the worker threads stayed busy for " .. self.queue_wait .. " s (" .. why .. ")" }
    end
    ngx.sleep(pause)
    pause = math.min(pause * 2, 0.05)
  end
end

-- A failed shared-token fetch, in cdp.client's words.
local function token_error(f)
  local kind = errors.kinds[f.kind] and f.kind or "transport"
  local message = kind == "auth" and "the token endpoint refused the credentials: "
    or "token request failed: "
  return errors.new{
    kind = kind, message = message .. tostring(f.message), http_status = f.http_status,
    name = f.oauth_error and f.oauth_error:upper() or nil,
    retryable = kind == "timeout" or (kind == "transport" and f.reason ~= "internal"),
    phase = "token", reason = f.reason,
  }
end

function Client:_call(method, ...)
  local o = private[self]
  local seed
  if core.token_sharing then
    local entry, failure = self._shared:get(function(stale)
      local ok, token, expires_in, lifetime = run(self, "token", self._id, o, stale)
      if not ok then return nil, { kind = "transport", message = token.message } end  -- a full pool
      return token, expires_in, lifetime
    end)
    if not entry then return nil, token_error(failure) end
    seed = { token = entry.token, expires_in = entry.expires_at - ngx.now(), lifetime = entry.lifetime }
  elseif not warned then
    -- An older core: still correct, but each worker fetches its own token.
    ngx.log(ngx.WARN, "cdp.ngx: this cdp.core cannot share tokens between workers")
    warned = true
  end
  local ok, data, info, fresh = run(self, "call", self._id, o, seed, method, ...)
  if not ok then return nil, data end
  if fresh then self._shared:publish(fresh.token, fresh.expires_in, fresh.lifetime) end
  if data == nil then return nil, plain.error(info) end
  if type(info) == "table" and info.cause then info.cause = plain.error(info.cause) end
  return data, info
end

-- Misuse raises here, in the caller's coroutine, as cdp.client would.
local function check_id(id_type, id_number)
  local t = type(id_type)
  if (t ~= "number" and t ~= "string") or (t == "number" and (id_type % 1 ~= 0 or id_type < 0)) then
    error("lookup: id_type must be a whole number or a string", 3)
  end
  t = type(id_number)
  if t ~= "number" and t ~= "string" then error("lookup: id_number must be a string", 3) end
end

function Client:lookup(id_type, id_number)
  check_id(id_type, id_number)
  return self:_call("lookup", id_type, id_number)
end

function Client:get(ecrn)
  if type(ecrn) == "number" then ecrn = ("%.0f"):format(ecrn) end
  if type(ecrn) ~= "string" or not ecrn:match("^%d+$") then
    error("get: ecrn must be a string of digits", 2)
  end
  return self:_call("get", ecrn)
end

--- Onboard a plain customer table (documents as cdp.file / cdp.bytes) or a
-- customer built by cdp.customer (its data is sent and rebuilt in the thread).
function Client:onboard(c)
  if customer.is(c) then c = c.data end
  if type(c) ~= "table" then error("onboard: a customer table expected", 2) end
  return self:_call("onboard", plain.out(c))
end

--- The shared token's state, without the token: { expires_in, lifetime } or nil.
function Client:token_state()
  local entry = self._shared:read()
  if not entry then return nil end
  return { expires_in = entry.expires_at - ngx.now(), lifetime = entry.lifetime }
end

return M
