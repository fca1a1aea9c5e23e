--- The records of a mapping run, shared by check, render and submit: loads
-- the mapping and the input, and yields each record built into a customer.
local mapping = require "cdp.mapping"
local records = require "cdp.records"

local run = {}

--- Declare the MAPPING and INPUT arguments on a command.
function run.add_arguments(command)
  command:argument("mapping", "Mapping script (Lua) returning cdp.mapping{…} or a function(record).")
  command:argument("input", "Records: CSV with a header row (.csv) or JSON Lines (.jsonl, .ndjson).")
end

-- A record that could not be read: named by its number, or by its key when
-- the cells that were valid give one.
local function unreadable(m, number, problem)
  local key
  if problem.fields then
    local ok, k = pcall(m.key, m, problem.fields)
    key = ok and k or nil
  end
  return { key = key and tostring(key) or ("record " .. number), line = problem.line, fatal = problem.fatal,
    err = { kind = "validation", message = "line " .. problem.line .. ": " .. problem.message,
            errors = { { path = "", message = problem.message } } } }
end

-- Map and validate one record; a mapping that raises (in a way that gets
-- past cdp.mapping's own guards) fails that record only.
local function build(m, rec, number)
  local ok, c, berr = pcall(m.build, m, rec.fields)
  if not ok then
    local message = "mapping raised an error: " .. tostring(c)
    c, berr = nil, { kind = "validation", message = message, errors = { { path = "", message = message } } }
  end
  local kok, key = pcall(m.key, m, rec.fields, c)
  key = kok and key or nil
  return { record = rec, customer = c, err = berr, line = rec.line,
    key = key and tostring(key) or ("record " .. number) }
end

--- Load the mapping and open the input. Returns an iterator yielding
-- `number, item` with item = {record, customer, key, err, line}, or nil and a
-- usage message (exit 2: nothing has been done yet). A header row that
-- cannot be read is such a usage error: no record could be.
-- `opts.only`: build only that record (the others are yielded unbuilt, as
-- {skipped = true, line}), for render --record N. `opts.open_files_when_sent`:
-- m.file's documents are opened only to be sent, not by validation (submit).
function run.open(args, opts)
  local only = opts and opts.only
  local m, err = mapping.load(args.mapping)
  if not m then return nil, "mapping: " .. tostring(err) end
  m._open_files_when_sent = opts and opts.open_files_when_sent or nil
  local each, ierr = records.open(args.input)
  if not each then return nil, "input: " .. tostring(ierr) end
  local number, rec, problem = each()
  if number == 0 and problem then
    return nil, ("input: %s: line %d: %s"):format(args.input, problem.line, problem.message)
  end
  if number == nil and records.format(args.input) == "csv" then
    local f = io.open(args.input, "rb")
    local empty = f and f:read(1) == nil
    if f then f:close() end
    if empty then return nil, ("input: %s is empty (a CSV needs a header row)"):format(args.input) end
  end
  local first = number and (rec and build(m, rec, number) or unreadable(m, number, problem))
  -- Every row of a CSV has the header's columns: a column the mapping needs
  -- and the header lacks fails every record, so it stops here.
  if first and rec and first.err and records.format(args.input) == "csv" then
    for _, e in ipairs(first.err.errors or {}) do
      local column = e.message:match('^no column (".*") in the record$')
      if column then
        return nil, ("mapping: %s (for %s) is not a column of %s"):format(column, e.path, args.input)
      end
    end
  end
  return function()
    if first then
      local item = first
      first = nil
      return number, item
    end
    local n, r, p = each()
    if n == nil then return nil end
    if only and n ~= only then return n, { skipped = true, line = r and r.line or p.line } end
    if not r then return n, unreadable(m, n, p) end
    return n, build(m, r, n)
  end
end

--- Where a problem is, for a report line: "record 9 (C-1009), nationality".
-- A problem with the whole record names its input line instead of a field
-- ("record 37 (C-1037), line 38"); a record without a key (unreadable, or
-- its key cell empty) goes by its number alone ("record 2, line 3").
function run.where(number, item, path)
  local who = ("record %d"):format(number)
  if item.key and item.key ~= who then who = who .. " (" .. item.key .. ")" end
  local at = (path and path ~= "") and path or ("line " .. tostring(item.line))
  return who .. ", " .. at
end

--- Write one line per problem of a failed record: "WHERE: message".
function run.write_problems(out, number, item)
  for _, e in ipairs(item.err.errors or { { path = "", message = item.err.message } }) do
    out:write(run.where(number, item, e.path), ": ", e.message, "\n")
  end
end

return run
