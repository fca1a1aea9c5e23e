--- cdp.sandbox: start, stop and describe a local CDP sandbox (nginx with its
-- Lua module). Runs in plain Lua (the CLI, the spec helper); the server side
-- lives in cdp.sandbox.app and runs inside nginx.
local cjson = require "cjson.safe"
local fs = require "cdp.sandbox.fs"
local certs = require "cdp.sandbox.certs"
local conf = require "cdp.sandbox.conf"

local sandbox = {}

sandbox.DEFAULTS = {
  port = 8443,
  workers = 2,
  token_ttl = 300,          -- seconds an access token lives
  refresh_ttl = 1800,       -- seconds a refresh token lives (single use)
  max_body_mb = 128,        -- three 20 MiB images as base64 fit
  callback_attempts = 5,    -- deliveries tried per alert closure
  callback_backoff = 1,     -- seconds before the 2nd attempt, doubling after
  idle = 0,                 -- stop after this many seconds without a request (0: never)
  lifetime = 0,             -- stop this many seconds after start (0: never)
}

local NGINX = "/usr/sbin/nginx"

--- The directory holding this checkout's (or installed tree's) Lua modules:
-- nginx's lua_package_path points there, so it also works after `luarocks make`.
function sandbox.lua_root()
  -- Where require finds this module (bin/cdp-onboard may load it
  -- precompiled, whose debug information names where `make` found it).
  local source = package.searchpath("cdp.sandbox", package.path) or debug.getinfo(1, "S").source:gsub("^@", "")
  local root = source:gsub("/?cdp/sandbox/init%.lua$", "")
  if root == "" then root = "." end
  if root:sub(1, 1) ~= "/" then
    root = fs.capture("pwd") .. "/" .. root:gsub("^%./", "")
  end
  return (root:gsub("/%.$", ""))
end

--- Default sandbox directory, outside any checkout.
function sandbox.default_dir()
  local env = os.getenv("CDP_SANDBOX_DIR")
  if env and env ~= "" then return env end
  local base = os.getenv("XDG_RUNTIME_DIR")
  if not base or base == "" then base = "/tmp" end
  local user = os.getenv("USER") or os.getenv("LOGNAME") or fs.capture("id -un")
  return base .. "/cdp-sandbox-" .. user
end

local function read_json(path)
  local text = fs.read(path)
  return text and cjson.decode(text) or nil
end

--- The sandbox's credentials: made on first start, kept (mode 0600) in dir.
local function credentials(dir)
  local path = dir .. "/credentials.json"
  local creds = read_json(path)
  if creds then return creds end
  creds = {
    client_id = "cdp-sandbox-client",
    client_secret = fs.random_hex(16),
    username = "sandbox-partner",
    password = fs.random_hex(12),
    scope = "api://cdp-sandbox/customer",
  }
  assert(fs.write(path, assert(cjson.encode(creds)), true))
  return creds
end

local function pid_of(dir)
  local pid = tonumber((fs.read(dir .. "/nginx.pid") or ""):match("%d+"))
  -- Only a live nginx master started with this directory's config counts.
  if pid and fs.alive(pid) then
    local cmd = fs.cmdline(pid) or ""
    if cmd:find("nginx", 1, true) and cmd:find(dir, 1, true) then return pid end
  end
  return nil
end

local function base_url(settings)
  return (settings.http and "http" or "https") .. "://127.0.0.1:" .. string.format("%d", settings.port)
end

--- CDP_* settings for a client of the sandbox in `dir` (a table), or nil, err.
function sandbox.env(dir)
  dir = dir or sandbox.default_dir()
  local settings = read_json(dir .. "/settings.json")
  local creds = read_json(dir .. "/credentials.json")
  if not settings or not creds then return nil, "no sandbox in " .. dir .. " (start it first)" end
  return {
    CDP_BASE_URL = base_url(settings),
    CDP_CLIENT_ID = creds.client_id,
    CDP_CLIENT_SECRET = creds.client_secret,
    CDP_USERNAME = creds.username,
    CDP_PASSWORD = creds.password,
    CDP_SCOPE = creds.scope,
    CDP_CA_FILE = (not settings.http) and (dir .. "/ca.pem") or nil,
  }
end

sandbox.ENV_ORDER = { "CDP_BASE_URL", "CDP_CLIENT_ID", "CDP_CLIENT_SECRET", "CDP_USERNAME",
  "CDP_PASSWORD", "CDP_SCOPE", "CDP_CA_FILE" }

--- `export …` lines for `eval`.
function sandbox.env_lines(env)
  local lines = {}
  for _, k in ipairs(sandbox.ENV_ORDER) do
    if env[k] then lines[#lines + 1] = "export " .. k .. "=" .. fs.quote(env[k]) end
  end
  if not env.CDP_CA_FILE then lines[#lines + 1] = "unset CDP_CA_FILE" end
  return table.concat(lines, "\n") .. "\n"
end

--- Is it running? Returns a table: running, pid, base_url, dir.
function sandbox.status(dir)
  dir = dir or sandbox.default_dir()
  local settings = read_json(dir .. "/settings.json")
  local pid = pid_of(dir)
  return { running = pid ~= nil, pid = pid, dir = dir,
           base_url = settings and base_url(settings) or nil }
end

local function curl_status(url, ca)
  local cmd = "curl -s -o /dev/null -w '%{http_code}' --max-time 2 "
    .. (ca and ("--cacert " .. fs.quote(ca) .. " ") or "") .. fs.quote(url)
  return fs.capture(cmd)
end

local function log_tail(dir)
  local log = fs.read(dir .. "/error.log") or ""
  local lines = {}
  for line in log:gmatch("[^\n]+") do lines[#lines + 1] = line end
  return table.concat(lines, "\n", math.max(1, #lines - 5))
end

-- Whether a socket listens on `port` (TCP, IPv4 or IPv6, any address), from
-- the kernel's tables: with reuseport a second nginx would bind the same port
-- without an error and take half of the connections.
local function port_listened(port)
  local hex = (":%04X "):format(port)
  for _, table_path in ipairs({ "/proc/net/tcp", "/proc/net/tcp6" }) do
    local f = io.open(table_path, "r")
    if f then
      for line in f:lines() do
        -- "  sl  local_address rem_address   st ...": st 0A is LISTEN
        local loc, state = line:match("^%s*%d+:%s+(%x+:%x+)%s+%x+:%x+%s+(%x%x)")
        if loc and state == "0A" and (loc .. " "):sub(-6) == hex then
          f:close()
          return true
        end
      end
      f:close()
    end
  end
  return false
end

--- Start a sandbox; returns once it answers. `opts`: dir, port, http,
-- token_ttl, refresh_ttl, callback_url, callback_token, callback_attempts,
-- callback_backoff, callback_ca, workers, max_body_mb, watch_pid, idle, lifetime,
-- reuseport (connections spread over the workers: see cdp.sandbox.conf).
-- Returns info (dir, port, pid, base_url, ca_file, env) or nil, err, why
-- (why = "running" or "port" when the port is taken).
function sandbox.start(opts)
  opts = opts or {}
  local dir = opts.dir or sandbox.default_dir()
  local settings = {}
  for k, v in pairs(sandbox.DEFAULTS) do settings[k] = v end
  for k, v in pairs(opts) do settings[k] = v end
  settings.dir = dir
  settings.http = opts.http and true or false
  if settings.callback_ca and settings.callback_ca:sub(1, 1) ~= "/" then
    settings.callback_ca = fs.capture("pwd") .. "/" .. settings.callback_ca  -- nginx runs with -p DIR
  end
  if pid_of(dir) then return nil, "a sandbox is already running in " .. dir, "running" end
  if not fs.mkdir_private(dir) or not fs.run("mkdir -p " .. fs.quote(dir .. "/tmp")) then
    return nil, "cannot create " .. dir
  end
  local creds = credentials(dir)
  if not settings.http then
    local paths, err = certs.ensure(dir)
    if not paths then return nil, err end
    settings.cert, settings.key = paths.cert, paths.key
  end
  settings.started_at = os.time()
  assert(fs.write(dir .. "/settings.json", assert(cjson.encode(settings)), true))
  settings.lua_root = sandbox.lua_root()
  settings.euid = tonumber(fs.capture("id -u"))
  if settings.reuseport and port_listened(settings.port) then
    return nil, ("nginx did not start: port %d: Address already in use"):format(settings.port), "port"
  end
  assert(fs.write(dir .. "/nginx.conf", conf.render(settings)))
  os.remove(dir .. "/nginx.pid")
  local out = fs.capture(("%s -p %s -c %s -e %s 2>&1; echo \"rc=$?\""):format(NGINX,
    fs.quote(dir .. "/"), fs.quote(dir .. "/nginx.conf"), fs.quote(dir .. "/error.log")))
  if not out:match("rc=0$") then
    local why = out:find("Address already in use", 1, true) and "port" or nil
    return nil, "nginx did not start: " .. out:gsub("\n?rc=%d+$", "") .. "\n" .. log_tail(dir), why
  end
  local ca = (not settings.http) and (dir .. "/ca.pem") or nil
  local url = base_url(settings)
  for _ = 1, 100 do
    if curl_status(url .. "/__sandbox/health", ca) == "200" then
      local env = sandbox.env(dir)
      return { dir = dir, port = settings.port, pid = pid_of(dir), base_url = url,
               ca_file = ca, env = env, credentials = creds }
    end
    fs.sleep(0.1)
  end
  sandbox.stop(dir)
  return nil, "sandbox did not answer on " .. url .. "\n" .. log_tail(dir)
end

--- Stop the sandbox in `dir` (only the nginx master recorded there, by PID).
function sandbox.stop(dir)
  dir = dir or sandbox.default_dir()
  local pid = pid_of(dir)
  if not pid then return nil, "no sandbox running in " .. dir end
  fs.run("kill -TERM " .. pid)
  for _ = 1, 100 do
    if not fs.alive(pid) then return true end
    fs.sleep(0.05)
  end
  fs.run("kill -KILL " .. pid)
  return true
end

return sandbox
