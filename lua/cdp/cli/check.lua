--- cdp-onboard check MAPPING INPUT: map and validate every record; nothing is sent.
local common = require "cdp.cli.common"
local run = require "cdp.cli.records"

local check = {}

function check.setup(parser)
  local cmd = parser:command("check", "Map and validate every record (schema and rules); sends nothing. "
    .. "Exit 1 if any record fails.")
  run.add_arguments(cmd)
  cmd:flag("-q --quiet", "Print only problems and the summary, not warnings.")
end

function check.run(args)
  local each, err = run.open(args)
  if not each then return common.usage_error(err) end
  local total, invalid, warned = 0, 0, 0
  for number, item in each do
    total = total + 1
    if item.err then
      invalid = invalid + 1
      run.write_problems(io.stdout, number, item)
    elseif #item.customer.warnings > 0 then
      warned = warned + 1
      if not args.quiet then
        for _, w in ipairs(item.customer.warnings) do
          io.stdout:write(run.where(number, item, w.path), ": warning: ", w.message, "\n")
        end
      end
    end
  end
  io.stdout:write(("%d record%s: %d valid (%d with warnings), %d invalid\n")
    :format(total, total == 1 and "" or "s", total - invalid, warned, invalid))
  return invalid > 0 and common.EXIT.failed or common.EXIT.ok
end

return check
