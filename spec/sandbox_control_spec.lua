-- `cdp-onboard sandbox start|status|env|stop`, its directory, and the ways a
-- sandbox stops by itself.
local fs = require "cdp.sandbox.fs"
local control = require "cdp.sandbox"
local http = require "helpers.http"

local LUA = os.getenv("CDP_LUA") or "lua5.4"

local function cli(args)
  local p = assert(io.popen("bin/cdp-onboard " .. args .. " 2>&1; echo \"rc=$?\""))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return rc, (out:gsub("rc=%d+%s*$", ""))
end

local function mode_of(path)
  return fs.capture("stat -c %a " .. fs.quote(path))
end

-- Below Linux's ephemeral range (32768-60999), so no client socket holds it.
math.randomseed(os.time() + fs.self_pid())
local function free_port()
  return math.random(20000, 32000)
end

-- Poll until `check()` is true (a deadline, not a timing assert).
local function eventually(check)
  for _ = 1, 100 do
    if check() then return true end
    fs.sleep(0.1)
  end
  return check()
end

describe("cdp-onboard sandbox", function()
  local dir

  before_each(function()
    dir = fs.capture("mktemp -d /tmp/cdp-sandbox-cli.XXXXXX")
  end)

  after_each(function()
    control.stop(dir)
    fs.run("rm -rf " .. fs.quote(dir))
  end)

  -- Start through the CLI on a free port (another sandbox may have taken it: retry).
  local function start_cli(options)
    local rc, out, port
    for _ = 1, 5 do
      port = free_port()
      rc, out = cli(("sandbox start --dir %s --port %d %s"):format(dir, port, options))
      if not out:find("Address already in use", 1, true) then break end
    end
    return rc, out, port
  end

  it("starts over HTTPS, tells its status, prints env lines, and stops", function()
    local rc, out, port = start_cli("--workers 1 --watch-pid " .. fs.self_pid())
    assert.equal(0, rc, out)
    assert.truthy(out:find("https://127.0.0.1:" .. port, 1, true))

    rc, out = cli("sandbox status --dir " .. dir)
    assert.equal(0, rc)
    assert.truthy(out:find("running at https://127.0.0.1:" .. port, 1, true))

    rc, out = cli("sandbox env --dir " .. dir)
    assert.equal(0, rc)
    local env = {}
    for k, v in out:gmatch("export (CDP_[%u_]+)='([^']*)'") do env[k] = v end
    assert.equal("https://127.0.0.1:" .. port, env.CDP_BASE_URL)
    assert.equal(dir .. "/ca.pem", env.CDP_CA_FILE)
    for _, k in ipairs({ "CDP_CLIENT_ID", "CDP_CLIENT_SECRET", "CDP_USERNAME", "CDP_PASSWORD", "CDP_SCOPE" }) do
      assert.truthy(env[k] and env[k] ~= "", k)
    end

    -- the printed settings work: a password grant with them over HTTPS
    local res = http.request{ method = "POST", cacert = env.CDP_CA_FILE,
      url = env.CDP_BASE_URL .. "/auth/realms/cdp/protocol/openid-connect/token",
      form = { grant_type = "password", client_id = env.CDP_CLIENT_ID, client_secret = env.CDP_CLIENT_SECRET,
               username = env.CDP_USERNAME, password = env.CDP_PASSWORD, scope = env.CDP_SCOPE } }
    assert.equal(200, res.status)

    -- secrets and keys are private; everything lives in DIR
    assert.equal("700", mode_of(dir))
    assert.equal("600", mode_of(dir .. "/credentials.json"))
    assert.equal("600", mode_of(dir .. "/settings.json"))
    assert.equal("600", mode_of(dir .. "/server.key"))
    assert.truthy(fs.exists(dir .. "/nginx.conf"))
    assert.truthy(fs.exists(dir .. "/nginx.pid"))

    -- a second start in the same directory leaves the running one alone
    local pid = control.status(dir).pid
    rc, out = cli(("sandbox start --dir %s --port %d"):format(dir, port + 1))
    assert.equal(0, rc)
    assert.truthy(out:find("already running at https://127.0.0.1:" .. port, 1, true))
    assert.equal(pid, control.status(dir).pid)

    rc = cli("sandbox stop --dir " .. dir)
    assert.equal(0, rc)
    rc, out = cli("sandbox status --dir " .. dir)
    assert.equal(1, rc)
    assert.truthy(out:find("not running", 1, true))
    assert.equal(1, (cli("sandbox stop --dir " .. dir)))
  end)

  it("keeps its credentials and CA across restarts, and serves plain HTTP with --http", function()
    local first, _, port = start_cli("--workers 1 --watch-pid " .. fs.self_pid())
    assert.equal(0, first)
    local creds = fs.read(dir .. "/credentials.json")
    local ca = fs.read(dir .. "/ca.pem")
    assert.equal(0, (cli("sandbox stop --dir " .. dir)))
    local rc, out = cli(("sandbox start --dir %s --port %d --http --workers 1 --watch-pid %d")
      :format(dir, port, fs.self_pid()))
    assert.equal(0, rc, out)
    assert.equal(creds, fs.read(dir .. "/credentials.json"))
    assert.equal(ca, fs.read(dir .. "/ca.pem"))
    local _, env = cli("sandbox env --dir " .. dir)
    assert.truthy(env:find("export CDP_BASE_URL='http://127.0.0.1:" .. port .. "'", 1, true))
    assert.truthy(env:find("unset CDP_CA_FILE", 1, true))
    local res = http.request{ url = "http://127.0.0.1:" .. port .. "/__sandbox/health" }
    assert.equal(200, res.status)
  end)

  it("fails with nginx's reason when the port is taken", function()
    local first, _, port = start_cli("--workers 1 --watch-pid " .. fs.self_pid())
    assert.equal(0, first)
    local other = fs.capture("mktemp -d /tmp/cdp-sandbox-cli.XXXXXX")
    finally(function() control.stop(other) fs.run("rm -rf " .. fs.quote(other)) end)
    local rc, out = cli(("sandbox start --dir %s --port %d --http"):format(other, port))
    assert.equal(1, rc)
    assert.truthy(out:find("Address already in use", 1, true))
    assert.is_false(control.status(other).running)
  end)

  it("listens with reuseport only when asked, serves, and refuses a second sandbox on its port", function()
    local render = require("cdp.sandbox.conf").render
    local base = { dir = dir, port = 18000, workers = 2, max_body_mb = 1, cert = "c", key = "k", lua_root = "." }
    local function listen(extra)
      local s = {}
      for k, v in pairs(base) do s[k] = v end
      for k, v in pairs(extra) do s[k] = v end
      return render(s):match("\n%s*(listen [^\n]*)")
    end
    assert.equal("listen 127.0.0.1:18000 ssl;", listen({}))
    assert.equal("listen 127.0.0.1:18000 ssl reuseport;", listen({ reuseport = true }))
    assert.equal("listen 127.0.0.1:18000 ssl;", listen({ reuseport = true, workers = 1 }))
    local info, err
    for _ = 1, 5 do
      info, err = control.start{ dir = dir, port = free_port(), workers = 2, reuseport = true,
        watch_pid = fs.self_pid(), lifetime = 60 }
      if info or not tostring(err):find("Address already in use", 1, true) then break end
    end
    assert.truthy(info, err)
    assert.truthy(fs.read(dir .. "/nginx.conf"):find(" ssl reuseport;", 1, true))
    local res = http.request{ url = info.base_url .. "/__sandbox/health", cacert = info.ca_file }
    assert.equal(200, res.status)
    -- A second one on the same port would bind it too, and take half of the
    -- connections: it is refused as a taken port is.
    local other = fs.capture("mktemp -d /tmp/cdp-sandbox-cli.XXXXXX")
    finally(function() control.stop(other) fs.run("rm -rf " .. fs.quote(other)) end)
    local second, why
    second, err, why = control.start{ dir = other, port = info.port, workers = 2, reuseport = true,
      watch_pid = fs.self_pid(), lifetime = 60 }
    assert.is_nil(second)
    assert.equal("port", why)
    assert.truthy(tostring(err):find("Address already in use", 1, true))
    assert.is_false(control.status(other).running)
  end)

  it("stops by itself when the watched process is gone", function()
    local port = free_port()
    -- a short-lived process starts a sandbox watching itself, then exits
    local script = ("local s = require 'cdp.sandbox'; local fs = require 'cdp.sandbox.fs'; "
      .. "assert(s.start{ dir = %q, port = %d, http = true, workers = 1, watch_pid = fs.self_pid() })")
      :format(dir, port)
    assert.is_true(fs.run(LUA .. " -e " .. fs.quote(script)))
    local pid = tonumber(fs.read(dir .. "/nginx.pid"):match("%d+"))
    assert.truthy(pid)
    assert.is_true(eventually(function() return not fs.alive(pid) end))
    assert.is_false(control.status(dir).running)
  end)

  it("stops by itself after its lifetime", function()
    assert.equal(0, (start_cli("--http --workers 1 --lifetime 1")))
    local pid = tonumber(fs.read(dir .. "/nginx.pid"):match("%d+"))
    assert.is_true(eventually(function() return not fs.alive(pid) end))
  end)

  it("stops by itself after an idle time", function()
    assert.equal(0, (start_cli("--http --workers 1 --idle 2")))
    local pid = tonumber(fs.read(dir .. "/nginx.pid"):match("%d+"))
    assert.is_true(eventually(function() return not fs.alive(pid) end))
    assert.truthy(fs.read(dir .. "/error.log"):find("idle for 2s", 1, true))
  end)

  it("finds its Lua modules from where cdp.sandbox was loaded", function()
    local root = control.lua_root()
    assert.truthy(fs.exists(root .. "/cdp/sandbox/app/init.lua"))
    assert.equal("/", root:sub(1, 1))
  end)

  it("defaults to a directory outside the checkout", function()
    local default = control.default_dir()
    assert.is_nil(default:find(fs.capture("pwd"), 1, true))
  end)
end)
