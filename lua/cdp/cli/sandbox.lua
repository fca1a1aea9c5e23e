--- cdp-onboard sandbox start|stop|status|env: a local CDP on nginx.
local common = require "cdp.cli.common"

local cmd_sandbox = {}

local function dir_option(cmd)
  cmd:option("--dir", "Sandbox directory (runtime files, certificates, credentials). "
    .. "Default: $CDP_SANDBOX_DIR or ${XDG_RUNTIME_DIR:-/tmp}/cdp-sandbox-$USER."):argname("DIR")
end

local function number(name)
  return function(s)
    local n = tonumber(s)
    if not n or n < 0 then return nil, name .. " must be a non-negative number" end
    return n
  end
end

function cmd_sandbox.setup(parser)
  local cmd = parser:command("sandbox", "Run a local sandbox of the CDP (nginx with its Lua module).")
  cmd:command_target("sandbox_command")
  local start = cmd:command("start", "Start the sandbox; returns once it serves on 127.0.0.1.")
  dir_option(start)
  start:option("--port", "TCP port.", "8443"):argname("PORT"):convert(number("--port"))
  start:flag("--http", "Serve plain HTTP instead of HTTPS.")
  start:option("--token-ttl", "Access token lifetime, seconds.", "300")
    :argname("SECONDS"):convert(number("--token-ttl"))
  start:option("--refresh-ttl", "Refresh token lifetime, seconds.", "1800")
    :argname("SECONDS"):convert(number("--refresh-ttl"))
  start:option("--callback-url", "Partner URL for AML alert closure callbacks (http or https)."):argname("URL")
  start:option("--callback-token", "Bearer token sent with callbacks (or $CDP_SANDBOX_CALLBACK_TOKEN).")
    :argname("T")
  start:option("--callback-ca", "CA file to verify an https callback URL (default: the system's CAs)."):argname("FILE")
  start:option("--callback-attempts", "Deliveries tried per callback.", "5")
    :argname("N"):convert(number("--callback-attempts"))
  start:option("--workers", "nginx worker processes.", "2"):argname("N"):convert(number("--workers"))
  start:option("--max-body-mb", "Largest request body, MiB.", "128"):argname("MIB"):convert(number("--max-body-mb"))
  start:option("--watch-pid", "Stop when this process is gone."):argname("PID"):convert(number("--watch-pid"))
  start:option("--idle", "Stop after this many seconds without a request (0: never).", "0")
    :argname("SECONDS"):convert(number("--idle"))
  start:option("--lifetime", "Stop this many seconds after start (0: never).", "0")
    :argname("SECONDS"):convert(number("--lifetime"))
  dir_option(cmd:command("stop", "Stop the sandbox (the nginx it started, by PID)."))
  dir_option(cmd:command("status", "Tell whether the sandbox runs (exit 0) or not (exit 1)."))
  dir_option(cmd:command("env", "Print export lines for the sandbox: eval \"$(cdp-onboard sandbox env)\"."))
end

local run = {}

function run.start(args, control)
  local info, err, why = control.start{
    dir = args.dir, port = math.floor(args.port), http = args.http or false,
    token_ttl = args.token_ttl, refresh_ttl = args.refresh_ttl,
    callback_url = args.callback_url,
    callback_token = args.callback_token or os.getenv("CDP_SANDBOX_CALLBACK_TOKEN"),
    callback_ca = args.callback_ca, callback_attempts = args.callback_attempts,
    workers = math.max(1, math.floor(args.workers)),
    max_body_mb = args.max_body_mb, watch_pid = args.watch_pid, idle = args.idle, lifetime = args.lifetime,
  }
  if not info and why == "running" then
    -- Starting a running sandbox is not an error (make demo twice works),
    -- but its settings stay those it was started with.
    local st = control.status(args.dir)
    io.stdout:write(("sandbox already running at %s (pid %d, dir %s); stop it to change its settings\n")
      :format(st.base_url, st.pid, st.dir))
    return common.EXIT.ok
  end
  if not info then
    io.stderr:write("cdp-onboard sandbox: ", err, "\n")
    return common.EXIT.failed
  end
  io.stdout:write(("sandbox serving at %s (pid %d, dir %s)\n"):format(info.base_url, info.pid or 0, info.dir))
  io.stdout:write(("use it: eval \"$(cdp-onboard sandbox env%s)\"\n"):format(
    args.dir and (" --dir " .. args.dir) or ""))
  return common.EXIT.ok
end

function run.stop(args, control)
  local ok, err = control.stop(args.dir)
  if not ok then
    io.stderr:write("cdp-onboard sandbox: ", err, "\n")
    return common.EXIT.failed
  end
  io.stdout:write("sandbox stopped\n")
  return common.EXIT.ok
end

function run.status(args, control)
  local st = control.status(args.dir)
  if st.running then
    io.stdout:write(("running at %s (pid %d, dir %s)\n"):format(st.base_url, st.pid, st.dir))
    return common.EXIT.ok
  end
  io.stdout:write(("not running (dir %s)\n"):format(st.dir))
  return common.EXIT.failed
end

function run.env(args, control)
  local env, err = control.env(args.dir)
  if not env then
    io.stderr:write("cdp-onboard sandbox: ", err, "\n")
    return common.EXIT.failed
  end
  io.stdout:write(control.env_lines(env))
  return common.EXIT.ok
end

function cmd_sandbox.run(args)
  local control = require "cdp.sandbox"
  for _, name in ipairs({ "start", "stop", "status", "env" }) do
    if args[name] then return run[name](args, control) end
  end
  return common.EXIT.usage
end

return cmd_sandbox
