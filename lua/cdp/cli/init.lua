--- cdp.cli: the command line of cdp-onboard. Each command lives in its own
-- module under cdp.cli.* with `setup(parser)` (declares the command and its
-- options with lua-argparse) and `run(args)` (returns the exit code).
local argparse = require "argparse"

local cli = {}

--- Exit codes (also in README).
cli.EXIT = require("cdp.cli.common").EXIT

-- Command modules, in the order --help lists them.
cli.commands = { "check", "render", "submit", "lookup", "get", "token", "sandbox" }

function cli.parser()
  local parser = argparse("cdp-onboard", "Check, render and submit customer records to the CDP's "
    .. "Partner Onboarding Service through a Lua mapping, and run a local sandbox of the CDP.")
    :command_target("command")
  parser:help_max_width(100)
  parser:epilog("Run 'cdp-onboard COMMAND --help' for a command's arguments and options.\n"
    .. "Exit codes: 0 done, 1 some records failed, 2 usage or configuration error (nothing sent), "
    .. "3 an auth or transport error stopped the run, 130 interrupted.")
  local runners = {}
  for _, name in ipairs(cli.commands) do
    local mod = require("cdp.cli." .. name)
    mod.setup(parser)
    runners[name] = mod.run
  end
  return parser, runners
end

-- Parse like parser:pparse, but also return the (sub)command whose
-- arguments were wrong, so that its usage is the one shown.
local function parse(parser, list)
  if type(parser._parse) ~= "function" then  -- argparse's internals changed: plain pparse
    local ok, result = parser:pparse(list)
    return ok, result, parser
  end
  local failed, message
  local ok, result = pcall(parser._parse, parser, list, function(p, err)
    failed, message = p, err
    error(err, 0)
  end)
  if ok then return true, result end
  if not message then error(result, 0) end
  return false, message, failed or parser
end

--- Run with `argv` (a Lua `arg` table); returns the process exit code.
function cli.main(argv)
  local parser, runners = cli.parser()
  local args_list = {}
  for i = 1, #argv do args_list[i] = argv[i] end
  local ok, args, failed = parse(parser, args_list)
  if not ok then
    local usage = failed:get_usage()
    local command = usage:match("^Usage: ([%w%-_ ]-) %[") or "cdp-onboard"
    io.stderr:write(usage, "\n\nError: ", tostring(args), "\nRun '", command, " --help' for more.\n")
    return cli.EXIT.usage
  end
  return runners[args.command](args) or cli.EXIT.ok
end

return cli
