--- Stops the sandbox by itself: when the watched process is gone (a spec run
-- that crashed), after an idle time, or after a lifetime. Runs in worker 0
-- and sends SIGTERM to its own master, never to anything else.
local ffi = require "ffi"
local settings = require "cdp.sandbox.app.settings"

ffi.cdef [[
int kill(int pid, int sig);
int getppid(void);
]]

local watchdog = {}

local SIGTERM, EPERM = 15, 1
local state = ngx.shared.cdp_state

--- Record that a request arrived (for the idle limit).
function watchdog.touch()
  state:set("last_request", ngx.now())
end

local function alive(pid)
  if ffi.C.kill(pid, 0) == 0 then return true end
  return ffi.errno() == EPERM
end

local function reason()
  local pid = tonumber(settings.watch_pid)
  if pid and pid > 0 and not alive(pid) then return "watched process " .. pid .. " is gone" end
  local now = ngx.now()
  local idle = tonumber(settings.idle) or 0
  if idle > 0 and now - (state:get("last_request") or now) > idle then return "idle for " .. idle .. "s" end
  local lifetime = tonumber(settings.lifetime) or 0
  if lifetime > 0 and now - (settings.started_at or now) > lifetime then
    return "lifetime of " .. lifetime .. "s is over"
  end
  return nil
end

local function check(premature)
  if premature then return end
  local why = reason()
  if why then
    ngx.log(ngx.WARN, "cdp sandbox stopping: ", why)
    ffi.C.kill(ffi.C.getppid(), SIGTERM)
  end
end

function watchdog.start()
  if state:get("last_request") == nil then state:set("last_request", ngx.now()) end
  local ok, err = ngx.timer.every(1, check)
  if not ok then ngx.log(ngx.ERR, "watchdog timer: ", err) end
end

return watchdog
