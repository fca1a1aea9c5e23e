--- cdp.batch: many calls of one client at once.
--
--   local b = c:batch(8)                 -- at most 8 tasks at a time
--   b:spawn(function(client, customer)   -- `client` behaves as `c`, inside this task
--     return client:onboard(customer)
--   end, customer)
--   for _, results in ipairs(b:wait(0.5)) do  -- the ended tasks' return values,
--     local data, err = results[1], results[2]  -- packed: { n = count, ... }
--   end
--   b:send()                             -- put spawned requests on the wire now
--   b:free(), b:running(), b:close()
--   local b = c:batch(8, { queue = 8 })  -- 8 in flight, 8 more ready to go
--   b:drop_queued()                      -- the queued tasks, dropped unsent
--   b:fsync(file)                        -- sync a file to disk while the transfers go on
--   b:fsync_state(), b:fsync_wait()      -- "none"/"running"/"ended"; its result
--   b:prefetch_token()                   -- fetch the token now, in a thread, while Lua goes on
--
-- Each task runs in a coroutine of its own. Its client calls (lookup, get,
-- onboard with its reconciliation and retries) are the client's own code; only
-- their transfers go through the C core's libcurl multi handle, so up to N run
-- at once on kept-alive connections with the client's one token, and a task's
-- backoff pauses only that task. Nothing runs between `wait` calls: the batch
-- makes progress only inside `wait`.
--
-- With a queue, up to `queue` more tasks may be spawned: each runs up to its
-- request, which waits in the C core, body built, and goes out the moment a
-- request in flight ends, before any Lua runs (no Lua work between one
-- request's end and the next one's start).
local core = require "cdp.core"

local batch = {}

local Batch = {}
Batch.__index = Batch

-- What a task yields to the scheduler.
local REQUEST, SLEEP = "cdp.batch.request", "cdp.batch.sleep"

local unpack = table.unpack or unpack  -- luacheck: ignore 143

local function pack(...)
  return { n = select("#", ...), ... }
end

-- The transport a task's client uses in place of core.client: each request
-- starts in the multi handle and the task waits for its end.
local Transport = {}
Transport.__index = Transport

function Transport:request(method, url, parts, send_once)
  local owner = self.owner
  if owner.current == nil or coroutine.running() ~= owner.current then
    error("cdp.batch: a task's client may only be used inside that task's own coroutine", 2)
  end
  local id = owner.multi:start(method, url, parts, send_once)
  return coroutine.yield(REQUEST, id)
end

function Transport:token_status()
  return self.owner.core:token_status()
end

function Transport:stats()
  return self.owner.core:stats()
end

local function task_sleep(_, seconds)
  coroutine.yield(SLEEP, seconds)
end

local function whole(n, low, high)
  return type(n) == "number" and n >= low and n <= high and n == math.floor(n)
end

--- A batch of at most `size` requests in flight at once over `client` (a
-- cdp.client); `opts.queue`: how many more tasks may wait, ready (default 0).
function batch.new(client, size, opts)
  if not whole(size, 1, 64) then error("batch: size must be a whole number from 1 to 64", 3) end
  local queue = opts and opts.queue or 0
  if not whole(queue, 0, 64) then error("batch: queue must be a whole number from 0 to 64", 3) end
  local self = setmetatable({
    client = client, core = client._core, size = size + queue, tasks = 0,
    waiting = {}, timers = {}, ended = {}, args = {},
  }, Batch)
  self.multi = core.batch(client._core, size, queue)
  local transport = setmetatable({ owner = self }, Transport)
  -- A task's view of the client: the client's methods and options, with the
  -- transport and the sleep of the batch.
  self.view = setmetatable({ _core = transport, _sleep = task_sleep }, { __index = client })
  return self
end

--- Tasks that may still be spawned before one must end (queued ones count).
function Batch:free()
  return self.size - self.tasks
end

--- Tasks spawned and not yet returned by `wait`.
function Batch:running()
  return self.tasks
end

-- Resume `co` with the given values; file it by what it yields next.
function Batch:_step(co, ...)
  self.current = co
  local r = pack(coroutine.resume(co, ...))
  self.current = nil
  if not r[1] then
    self.tasks = self.tasks - 1
    self.args[co] = nil
    local message = r[2]
    if type(message) == "string" then message = debug.traceback(co, message) end
    error(message, 0)
  end
  if coroutine.status(co) == "dead" then
    self.tasks = self.tasks - 1
    self.args[co] = nil
    self.ended[#self.ended + 1] = pack(unpack(r, 2, r.n))
  elseif r[2] == REQUEST then
    self.waiting[r[3]] = co
  elseif r[2] == SLEEP then
    self.timers[#self.timers + 1] = { at = core.monotonic() + (tonumber(r[3]) or 0), co = co }
  else
    self.tasks = self.tasks - 1
    self.args[co] = nil
    error("cdp.batch: a task yielded by itself; tasks must not yield", 0)
  end
end

--- Start `fn(client, ...)` as a task; raises when `size` tasks are running.
function Batch:spawn(fn, ...)
  if type(fn) ~= "function" then error("batch:spawn: a function expected", 2) end
  if self.multi == nil then error("batch:spawn: the batch is closed", 2) end
  if self.tasks >= self.size then
    error(("batch:spawn: %d tasks are running; wait for one to end first"):format(self.size), 2)
  end
  self.tasks = self.tasks + 1
  local co = coroutine.create(fn)
  self.args[co] = pack(...)
  self:_step(co, self.view, ...)
end

--- Drop the tasks whose request is queued, not yet sent (nothing of it
-- left): they never resume. Returns the arguments each was spawned with
-- (packed), so that the caller can say what was not done.
function Batch:drop_queued()
  if self.multi == nil then error("batch:drop_queued: the batch is closed", 2) end
  local dropped = {}
  for _, id in ipairs(self.multi:drop_queued()) do
    local co = self.waiting[id]
    self.waiting[id] = nil
    self.tasks = self.tasks - 1
    dropped[#dropped + 1] = self.args[co]
    self.args[co] = nil
  end
  return dropped
end

--- Put the requests of the tasks spawned so far on the wire now, without
-- waiting (otherwise they go at the next `wait`): work done before then runs
-- while they travel.
function Batch:send()
  if self.multi == nil then error("batch:send: the batch is closed", 2) end
  self.multi:send()
end

-- Resume the tasks whose pause is over; returns the next wake-up time or nil.
function Batch:_wake(now)
  local due, later, next_at = {}, {}, nil
  for _, t in ipairs(self.timers) do
    if t.at <= now then
      due[#due + 1] = t
    else
      later[#later + 1] = t
      if not next_at or t.at < next_at then next_at = t.at end
    end
  end
  self.timers = later
  for _, t in ipairs(due) do self:_step(t.co) end
  return next_at
end

--- Run the tasks until at least one ends, `timeout` seconds pass (default:
-- until one ends) or a running fsync ends. Returns the ended tasks' packed
-- return values, in the order they ended (possibly none).
function Batch:wait(timeout)
  if self.multi == nil then error("batch:wait: the batch is closed", 2) end
  local deadline = core.monotonic() + (timeout or math.huge)
  -- At least one pass: wait(0) collects what has ended without blocking.
  while #self.ended == 0 and self.tasks > 0 do
    local now = core.monotonic()
    local next_at = self:_wake(now)
    if #self.ended > 0 then break end
    local budget = math.max(0, math.min(deadline, next_at or math.huge, now + 1) - now)
    if self.multi:active() == 0 then
      core.sleep(budget)  -- every task is pausing
    else
      for _, e in ipairs(self.multi:wait(budget)) do
        local co = self.waiting[e[1]]
        self.waiting[e[1]] = nil
        self:_step(co, e[2] or nil, e[3])
      end
    end
    if core.monotonic() >= deadline or self.multi:fsync_state() == "ended" then break end
  end
  local ended = self.ended
  self.ended = {}
  return ended
end

--- Flush `file` (a Lua file) and sync it to disk in a thread of its own,
-- while the transfers go on; `wait` returns when it has ended. One at a
-- time. Returns true, or nil and a message (the flush failed).
function Batch:fsync(file)
  if self.multi == nil then error("batch:fsync: the batch is closed", 2) end
  return self.multi:fsync(file)
end

--- "none", "running" or "ended" (its result not yet taken by fsync_wait).
function Batch:fsync_state()
  if self.multi == nil then return "none" end
  return self.multi:fsync_state()
end

--- The fsync's result once it has ended (blocks until then): true, or nil
-- and a message.
function Batch:fsync_wait()
  if self.multi == nil then error("batch:fsync_wait: the batch is closed", 2) end
  return self.multi:fsync_wait()
end

--- Fetch the client's token in a thread of the C core while Lua goes on
-- (reading and checking the first records), so that the first requests
-- find it ready. A failure is not reported here: a request that waited for
-- the fetch ends with its failure, one after a refused password with that
-- refusal (the batch does not ask again), one after another failure fetches
-- again. Before the first request only, once a batch. `close` waits for the
-- fetch. Returns true, false (too late, or asked already), or nil and a
-- message (no thread).
function Batch:prefetch_token()
  if self.multi == nil then error("batch:prefetch_token: the batch is closed", 2) end
  return self.multi:prefetch_token()
end

--- Drop whatever is in flight and free the multi handle.
function Batch:close()
  if self.multi then self.multi:close() end
  self.multi, self.waiting, self.timers, self.tasks, self.args = nil, {}, {}, 0, {}
end

batch.Batch = Batch
return batch
