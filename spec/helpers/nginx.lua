--- Run a throwaway nginx (Debian's, with its Lua module) for the OpenResty
-- specs, from a config text, in a fresh temp dir, on 127.0.0.1.
--
--   local nginx = require "helpers.nginx"
--   local text = nginx.render("examples/openresty/nginx.conf", { workers = 1 })  -- {{root}}: the checkout
--   local srv = nginx.start{ conf = text, env = { CDP_BASE_URL = ..., ... }, port = nil }
--   -- {{port}} is filled with a free port (given, or tried until one is free);
--   -- a given port that is taken raises "port taken: ...".
--   srv.url, srv.port, srv.dir, srv.pid
--   srv:request{ method, path, json|body, headers }  -- helpers.http response
--   srv:parallel(paths)       -- GET them all at once (curl --parallel); a list of
--                             -- { status, body } in the order of `paths`
--   srv:access_lines()        -- logs/access.log as a list of lines (completion order)
--   srv:error_log()
--   srv:stop()                -- stops the master (by its PID) and removes the dir
--
-- Like the sandbox's, the server stops by itself when the spec process is
-- gone (cdp.sandbox's watchdog runs in worker 0) and after 15 minutes; the
-- environment (credentials) goes through a 0600 file, never a command line.
local fs = require "cdp.sandbox.fs"
local http = require "helpers.http"

local nginx = {}

math.randomseed(os.time() + (fs.self_pid() or 0))

local NGINX = "/usr/sbin/nginx"
local PREFIX = "/tmp/cdp-nginx-spec."

-- The tree nginx loads the SDK from: this checkout, or $CDP_NGX_ROOT (another
-- checkout or build with lua/, examples/ and build/luajit/).
nginx.ROOT = os.getenv("CDP_NGX_ROOT") or fs.capture("pwd")

--- The template at `path` with {{name}} replaced from `values` ({{root}}:
-- the checkout); {{port}} is left for start.
function nginx.render(path, values)
  local text = assert(fs.read(path), "cannot read " .. path)
  local v = { root = nginx.ROOT }
  for k, x in pairs(values or {}) do v[k] = tostring(x) end
  return (text:gsub("{{([%w_]+)}}", function(k)
    if k == "port" then return nil end
    return assert(v[k], "nginx.render: no value for {{" .. k .. "}}")
  end))
end

-- What every spec server gets on top of its config: workers as root when
-- run as root (they must read the temp dir), and the sandbox's watchdog.
local function spec_lines(text, watch_pid)
  local head = fs.capture("id -u") == "0" and "user root;\n" or ""
  local watchdog = ([[
  lua_shared_dict cdp_state 1m;
  init_worker_by_lua_block {
    local settings = require "cdp.sandbox.app.settings"
    settings.watch_pid, settings.lifetime, settings.started_at = %d, 900, ngx.now()
    if ngx.worker.id() == 0 then require("cdp.sandbox.app.watchdog").start() end
  }
]]):format(watch_pid)
  local out, n = text:gsub("\nhttp%s*{\n", "\nhttp {\n" .. watchdog, 1)
  assert(n == 1, "nginx.start: no http block")
  return head .. out
end

--- Remove the directories of spec servers whose spec process died.
function nginx.sweep()
  local p = io.popen("ls -d " .. PREFIX .. "* 2>/dev/null")
  for dir in p:lines() do
    local watched = tonumber(fs.read(dir .. "/watch_pid") or "")
    local pid = tonumber((fs.read(dir .. "/logs/nginx.pid") or ""):match("%d+"))
    if watched and not fs.alive(watched) and not (pid and fs.alive(pid)) then
      fs.run("rm -rf " .. fs.quote(dir))
    end
  end
  p:close()
end

local Server = {}
Server.__index = Server

local function master_pid(dir)
  local pid = tonumber((fs.read(dir .. "/logs/nginx.pid") or ""):match("%d+"))
  if pid and fs.alive(pid) and (fs.cmdline(pid) or ""):find(dir, 1, true) then return pid end
  return nil
end

--- A random port for a spec server: below the sandbox helper's (20000 to
-- 32000) and below Linux's ephemeral ports, which client sockets take.
function nginx.random_port()
  return math.random(10000, 19999)
end

--- Does anything listen on 127.0.0.1:port (or the wildcard address)?
function nginx.listened(port)
  return fs.capture("ss -Hltn " .. fs.quote("sport = :" .. port) .. " 2>/dev/null") ~= ""
end

local function try_start(dir, text, port)
  assert(fs.write(dir .. "/nginx.conf", (text:gsub("{{port}}", tostring(port)))))
  local out = fs.capture(("sh -c 'set -a; . %s; exec %s -p %s -c %s -e %s' 2>&1; echo \"rc=$?\""):format(
    fs.quote(dir .. "/env"), NGINX, fs.quote(dir .. "/"), fs.quote(dir .. "/nginx.conf"),
    fs.quote(dir .. "/logs/error.log")))
  if out:match("rc=0$") then return true end
  return nil, out, out:find("Address already in use", 1, true) ~= nil
end

--- Start nginx; raises when it does not come up.
function nginx.start(opts)
  nginx.sweep()
  local dir = fs.capture("mktemp -d " .. PREFIX .. "XXXXXX")
  assert(dir ~= "" and fs.run("mkdir -p " .. fs.quote(dir .. "/logs") .. " " .. fs.quote(dir .. "/tmp")))
  local me = fs.self_pid()
  assert(fs.write(dir .. "/watch_pid", tostring(me)))
  local env = {}
  for k, v in pairs(opts.env or {}) do env[#env + 1] = k .. "=" .. fs.quote(v) end
  assert(fs.write(dir .. "/env", table.concat(env, "\n") .. "\n", true))
  local text = spec_lines(opts.conf, me)
  local ok, out, taken, port
  for _ = 1, 8 do
    port = opts.port or nginx.random_port()
    -- The example listens with reuseport, which would share a port another
    -- nginx (another spec run's) listens on with reuseport: skip those.
    if not opts.port and nginx.listened(port) then
      ok, out, taken = nil, "port " .. port .. " is listened on", true
    else
      ok, out, taken = try_start(dir, text, port)
    end
    if ok or not taken or opts.port then break end
  end
  os.remove(dir .. "/env")
  if not ok then
    local log = fs.read(dir .. "/logs/error.log") or ""
    fs.run("rm -rf " .. fs.quote(dir))
    error((taken and "port taken: " or "") .. "nginx did not start: " .. tostring(out) .. "\n" .. log, 2)
  end
  local srv = setmetatable({ dir = dir, port = port, url = "http://127.0.0.1:" .. port }, Server)
  for _ = 1, 100 do
    srv.pid = master_pid(dir)
    if srv.pid and fs.capture("curl -s -o /dev/null -w '%{http_code}' --max-time 2 "
      .. fs.quote(srv.url .. "/") .. " 2>/dev/null") ~= "000" then
      return srv
    end
    fs.sleep(0.05)
  end
  srv:stop()
  error("nginx did not answer on " .. srv.url, 2)
end

function Server:request(opts)
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.url = self.url .. opts.path
  return http.request(o)
end

--- GET every path at once; results in the order of `paths`.
function Server:parallel(paths, max)
  local args = { "curl", "-s", "--parallel", "--parallel-immediate", "--parallel-max",
                 tostring(max or 50), "--max-time", "60", "-w", fs.quote("%{urlnum} %{http_code}\\n") }
  local outs = {}
  for i, path in ipairs(paths) do
    outs[i] = ("%s/par.%d"):format(self.dir, i)
    args[#args + 1] = "-o " .. fs.quote(outs[i]) .. " " .. fs.quote(self.url .. path)
  end
  local p = assert(io.popen(table.concat(args, " ") .. " 2>/dev/null"))
  local codes = {}
  for line in p:lines() do
    local n, code = line:match("^(%d+) (%d+)")
    if n then codes[tonumber(n) + 1] = tonumber(code) end
  end
  p:close()
  local results = {}
  for i, path in ipairs(outs) do
    results[i] = { status = codes[i] or 0, body = fs.read(path) or "" }
    os.remove(path)
  end
  return results
end

function Server:access_lines()
  local lines = {}
  for line in (fs.read(self.dir .. "/logs/access.log") or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

function Server:error_log()
  return fs.read(self.dir .. "/logs/error.log") or ""
end

function Server:stop()
  local pid = master_pid(self.dir)
  if pid then
    fs.run("kill -TERM " .. pid)
    for _ = 1, 100 do
      if not fs.alive(pid) then break end
      fs.sleep(0.05)
    end
    if fs.alive(pid) then fs.run("kill -KILL " .. pid) end
  end
  fs.run("rm -rf " .. fs.quote(self.dir))
end

return nginx
