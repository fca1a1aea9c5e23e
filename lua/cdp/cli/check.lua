--- cdp-onboard check MAPPING INPUT: map and validate every record; nothing is sent.
local common = require "cdp.cli.common"
local run = require "cdp.cli.records"

local check = {}

function check.setup(parser)
  local cmd = parser:command("check", "Map and validate every record (schema and the mapping's rules); "
    .. "sends nothing. Prints one line per problem (record number, key, field path or input line, "
    .. "message) and a summary.")
    :summary("Map and validate every record; sends nothing.")
  cmd:epilog("Exit codes: 0 every record valid, 1 some records invalid, 2 the mapping or the input "
    .. "cannot be used (a syntax error, an unreadable header, a column the mapping needs is missing).")
  run.add_arguments(cmd)
  cmd:flag("-q --quiet", "Print only problems and the summary, not warnings.")
end

function check.run(args)
  local each, err = run.open(args)
  if not each then return common.usage_error(err) end
  local total, invalid, warned = 0, 0, 0
  -- What submit would refuse or the CDP would merge: a key or an ID seen before.
  local keys, ids = {}, {}
  for number, item in each do
    total = total + 1
    local repeats = keys[item.key]
    keys[item.key] = keys[item.key] or number
    if repeats then
      invalid = invalid + 1
      io.stdout:write(run.where(number, item, ""), ": key ", item.key, " repeats record ", repeats,
        " (submit onboards a key once)\n")
    elseif item.err then
      invalid = invalid + 1
      run.write_problems(io.stdout, number, item)
    else
      local warnings = {}
      for _, w in ipairs(item.customer.warnings) do warnings[#warnings + 1] = w end
      for i, id in ipairs(item.customer.data.id_details) do
        local id_key = tostring(id.id_type) .. ":" .. tostring(id.id_number)
        local seen = ids[id_key]
        if seen then
          warnings[#warnings + 1] = { path = ("id_details[%d].id_number"):format(i),
            message = ("the same ID as record %d (%s): the CDP answers for the customer it already has")
              :format(seen.number, seen.key) }
        else
          ids[id_key] = { number = number, key = item.key }
        end
      end
      if #warnings > 0 then
        warned = warned + 1
        if not args.quiet then
          for _, w in ipairs(warnings) do
            io.stdout:write(run.where(number, item, w.path), ": warning: ", w.message, "\n")
          end
        end
      end
    end
  end
  io.stdout:write(("%d record%s: %d valid (%d with warnings), %d invalid\n")
    :format(total, total == 1 and "" or "s", total - invalid, warned, invalid))
  return invalid > 0 and common.EXIT.failed or common.EXIT.ok
end

return check
