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
  local parser = argparse("cdp-onboard", "Onboard customers on the CDP, and run a local sandbox of it.")
    :command_target("command")
  parser:help_max_width(100)
  local runners = {}
  for _, name in ipairs(cli.commands) do
    local mod = require("cdp.cli." .. name)
    mod.setup(parser)
    runners[name] = mod.run
  end
  return parser, runners
end

--- Run with `argv` (a Lua `arg` table); returns the process exit code.
function cli.main(argv)
  local parser, runners = cli.parser()
  local args_list = {}
  for i = 1, #argv do args_list[i] = argv[i] end
  local ok, args = parser:pparse(args_list)
  if not ok then
    io.stderr:write(parser:get_usage(), "\n\nError: ", tostring(args), "\n")
    return cli.EXIT.usage
  end
  return runners[args.command](args) or cli.EXIT.ok
end

return cli
