--- cdp-onboard render MAPPING INPUT [--record N]: the JSON that would be sent.
local common = require "cdp.cli.common"
local run = require "cdp.cli.records"

local render = {}

function render.setup(parser)
  local cmd = parser:command("render", "Print the JSON that would be sent for each valid record, one line "
    .. "each, documents as {content_type, size, sha256} instead of their bytes; problems go to stderr.")
    :summary("Print the JSON that would be sent, one line per record; sends nothing.")
  cmd:epilog("Exit codes: 0 every record rendered, 1 some records invalid, 2 the mapping or the input "
    .. "cannot be used, or no record N.")
  run.add_arguments(cmd)
  cmd:option("--record", "Only record N (counting from 1, as check numbers them).")
    :argname("N"):convert(function(v)
      local n = tonumber(v)
      if not n or n < 1 or n ~= math.floor(n) then return nil, "--record takes a record number (1, 2, …)" end
      return n
    end)
end

function render.run(args)
  local each, err = run.open(args, { only = args.record })
  if not each then return common.usage_error(err) end
  local failed, found = 0, false
  for number, item in each do
    if not args.record or number == args.record then
      found = true
      if item.err then
        failed = failed + 1
        run.write_problems(io.stderr, number, item)
      else
        io.stdout:write(item.customer:render(), "\n")
      end
      if args.record then break end  -- the rest of the input is not read
    end
  end
  if args.record and not found then
    return common.usage_error(("no record %d in %s"):format(args.record, args.input))
  end
  return failed > 0 and common.EXIT.failed or common.EXIT.ok
end

return render
