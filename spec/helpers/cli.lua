--- Run bin/cdp-onboard from specs, as a child process under the spec's own
-- Lua (CDP_LUA), with only the CDP_* variables given (none inherited).
--
--   local cli = require "helpers.cli"
--   local code, output = cli.run(sb.env, "check MAPPING INPUT")  -- stdout and stderr
--   os.execute(cli.command(sb.env, "submit ...") .. " &")        -- for background runs
--   cli.report_rows(path)                                        -- a report's rows (fields)
local files = require "helpers.files"
local records = require "cdp.records"

local cli = {}

cli.LUA = os.getenv("CDP_LUA") or "lua5.4"

local CDP_VARIABLES = { "CDP_BASE_URL", "CDP_CLIENT_ID", "CDP_CLIENT_SECRET", "CDP_USERNAME",
  "CDP_PASSWORD", "CDP_SCOPE", "CDP_CA_FILE", "CDP_CLIENT_CERT", "CDP_CLIENT_KEY" }

--- The shell command that runs the CLI with `args` and the variables of `env`.
function cli.command(env, args)
  local parts = {}
  for _, name in ipairs(CDP_VARIABLES) do parts[#parts + 1] = "-u " .. name end
  local set = {}
  for k, v in pairs(env or {}) do set[#set + 1] = k .. "=" .. files.quote(v) end
  table.sort(set)
  return ("env %s %s %s bin/cdp-onboard %s"):format(table.concat(parts, " "), table.concat(set, " "),
    cli.LUA, args)
end

--- The exit code from os.execute's results, under Lua 5.4 and 5.1.
function cli.exit_code(ok, how, code)
  if type(ok) == "number" then return math.floor(ok / 256) end  -- Lua 5.1's os.execute
  return (how == "exit" or how == nil) and code or 128 + code
end

--- Run the CLI; returns its exit code and its output (stdout and stderr).
function cli.run(env, args)
  local out = files.tmpname(".out")
  local code = cli.exit_code(os.execute(cli.command(env, args) .. " >" .. out .. " 2>&1"))
  local text = files.read(out) or ""
  os.remove(out)
  return code, text
end

--- The rows of a report file (.csv or .jsonl), as field tables.
function cli.report_rows(path)
  local rows = {}
  for _, rec in records.each(path) do rows[#rows + 1] = rec.fields end
  return rows
end

return cli
