--- Shared pieces of the CLI's commands: client settings, output, exit codes.
local cjson = require "cjson.safe"
local config = require "cdp.config"

local common = {}

common.EXIT = { ok = 0, failed = 1, usage = 2, stopped = 3, interrupted = 130 }

--- Exit code for an error object: the record's own fault (1) or one that
-- stops a run (3).
function common.exit_for(err)
  if err.kind == "validation" or err.kind == "business" then return common.EXIT.failed end
  return common.EXIT.stopped
end

--- Declare --config on a command that talks to the CDP. Secrets are never
-- options: they come from CDP_* variables or the config file.
function common.add_client_options(command)
  command:option("--config", "File of CDP_* settings, NAME=value lines (mode 600); "
    .. "its settings win over the environment's.")
    :argname("FILE")
  command:option("--timeout", "Seconds one call may take (default 60).")
    :argname("SECONDS"):convert(function(v)
      local n = tonumber(v)
      if not n or n <= 0 then return nil, "--timeout takes a number of seconds above 0" end
      return n
    end)
  command:epilog("Credentials come from CDP_BASE_URL, CDP_CLIENT_ID, CDP_CLIENT_SECRET, CDP_USERNAME, "
    .. "CDP_PASSWORD, CDP_SCOPE, CDP_CA_FILE (or --config FILE). "
    .. "Against the sandbox: eval \"$(cdp-onboard sandbox env)\".")
end

--- A client from --config and the environment, or nil and a message.
function common.client(args)
  local options = {}
  if args.config then
    local loaded, err = config.load(args.config)
    if not loaded then return nil, err end
    options = loaded
  end
  options.timeout = args.timeout
  local cdp = require "cdp"
  local ok, client_or_err, err = pcall(cdp.client, options)
  if not ok then return nil, tostring(client_or_err) end
  if not client_or_err then return nil, tostring(err) end
  return client_or_err
end

--- Print a value as one line of JSON on stdout.
function common.print_json(value)
  io.stdout:write(assert(cjson.encode(value)), "\n")
end

--- Print an error on stderr and return its exit code.
function common.fail(err)
  io.stderr:write(tostring(err), "\n")
  return common.exit_for(err)
end

--- Print a usage or configuration problem and return exit code 2.
function common.usage_error(message)
  io.stderr:write("cdp-onboard: ", message, "\n")
  return common.EXIT.usage
end

return common
