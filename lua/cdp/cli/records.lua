--- The records of a mapping run, shared by check, render and submit: loads
-- the mapping and the input, and yields each record built into a customer.
local mapping = require "cdp.mapping"
local records = require "cdp.records"

local run = {}

--- Declare the MAPPING and INPUT arguments on a command.
function run.add_arguments(command)
  command:argument("mapping", "Mapping script (Lua): returns cdp.mapping{…} or a function(record).")
  command:argument("input", "Records: CSV with a header row (.csv) or JSON Lines (.jsonl).")
end

--- Load the mapping and open the input. Returns an iterator yielding
-- `number, item` with item = {record, customer, key, err, line}, or nil and a
-- usage message (exit 2: nothing has been done yet).
function run.open(args)
  local m, err = mapping.load(args.mapping)
  if not m then return nil, "mapping: " .. tostring(err) end
  local each, ierr = records.open(args.input)
  if not each then return nil, "input: " .. tostring(ierr) end
  return function()
    local number, rec, problem = each()
    if number == nil then return nil end
    if not rec then
      return number, { key = "record " .. number, line = problem.line, fatal = problem.fatal,
        err = { kind = "validation", message = "line " .. problem.line .. ": " .. problem.message,
                errors = { { path = "", message = "line " .. problem.line .. ": " .. problem.message } } } }
    end
    local c, berr = m:build(rec.fields)
    local ok, key = pcall(m.key, m, rec.fields, c)
    key = ok and key or nil
    return number, { record = rec, customer = c, err = berr, line = rec.line,
      key = key and tostring(key) or ("record " .. number) }
  end
end

return run
