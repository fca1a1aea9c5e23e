--- cdp.records: partner records from CSV (with a header row) or JSON Lines,
-- read as a stream so a backlog of any size stays in constant memory.
--
--   for number, rec, problem in records.each("customers.csv") do
--     -- rec:     { fields = {["Full Name"] = …}, number = 7, line = 9 }
--     -- problem: { number = 7, line = 9, message = "…", fatal = true|nil,
--     --            fields = {…} (the valid cells of a row with an invalid one) }
--   end
--
-- `number` counts records from 1 (0 for a problem with the header row).
--
-- CSV follows RFC 4180: quoted fields with embedded commas, quotes ("") and
-- newlines, CRLF or LF line ends, an optional UTF-8 byte-order mark. Every
-- field must be valid UTF-8. A malformed record is reported and skipped; an
-- unterminated quote at end of file is fatal (nothing after it can be trusted).
-- A problem with the header row is a fatal problem numbered 0: no record
-- can be read.
local cjson = require "cjson.safe"

local records = {}

-- One UTF-8 sequence at a time; no `utf8` library on LuaJIT.
local function valid_utf8(s)
  if not s:find("[\128-\255]") then return true end
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    local len, min
    if c < 0x80 then len = 1
    elseif c >= 0xC2 and c <= 0xDF then len, min = 2, 0x80
    elseif c >= 0xE0 and c <= 0xEF then len, min = 3, 0x800
    elseif c >= 0xF0 and c <= 0xF4 then len, min = 4, 0x10000
    else return false, i end
    if len > 1 then
      if i + len - 1 > n then return false, i end
      local cp = c % (2 ^ (7 - len))
      for k = 1, len - 1 do
        local b = s:byte(i + k)
        if b < 0x80 or b > 0xBF then return false, i end
        cp = cp * 64 + (b - 0x80)
      end
      if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return false, i end
    end
    i = i + len
  end
  return true
end
records.valid_utf8 = valid_utf8

local function strip_bom(line)
  if line:sub(1, 3) == "\239\187\191" then return line:sub(4) end
  return line
end

-- Parse one CSV record starting with `line`, pulling more lines while a quoted
-- field is open. Returns the list of fields, or nil and a message; `more`
-- reports whether the input ended inside a quote.
local function parse_csv_record(line, next_line)
  local fields, field, pos = {}, {}, 1
  local in_quotes, after_quote = false, false
  while true do
    local len = #line
    while pos <= len do
      local ch = line:sub(pos, pos)
      if in_quotes then
        local q = line:find('"', pos, true)
        if not q then
          field[#field + 1] = line:sub(pos)
          pos = len + 1
        else
          field[#field + 1] = line:sub(pos, q - 1)
          if line:sub(q + 1, q + 1) == '"' then
            field[#field + 1] = '"'
            pos = q + 2
          else
            in_quotes, after_quote = false, true
            pos = q + 1
          end
        end
      elseif ch == "," then
        fields[#fields + 1] = table.concat(field)
        field, after_quote = {}, false
        pos = pos + 1
      elseif ch == '"' then
        if #field > 0 or after_quote then
          return nil, ("stray quote in field %d (quote the whole field and double inner quotes)"):format(#fields + 1)
        end
        in_quotes = true
        pos = pos + 1
      else
        if after_quote then
          return nil, ("text after closing quote in field %d"):format(#fields + 1)
        end
        local stop = line:find('[,"]', pos) or len + 1
        field[#field + 1] = line:sub(pos, stop - 1)
        pos = stop
      end
    end
    if not in_quotes then break end
    local more = next_line()
    if not more then return nil, ("unterminated quote in field %d"):format(#fields + 1), true end
    field[#field + 1] = "\n"
    line, pos = more, 1
  end
  fields[#fields + 1] = table.concat(field)
  return fields
end

local function csv_each(file)
  local line_no = 0
  local function next_line()
    local l = file:read("l")
    if l == nil then return nil end
    line_no = line_no + 1
    if l:sub(-1) == "\r" then l = l:sub(1, -2) end
    return l
  end

  local first = next_line()
  if first == nil then
    return function() return nil end
  end
  first = strip_bom(first)
  local header, herr = parse_csv_record(first, next_line)
  local function header_problem()
    if first:find("\r", 1, true) then
      return "header row: lines end with CR alone (old Mac format); save the file with LF or CRLF line ends"
    end
    if not header then
      return "header row: " .. herr .. (line_no > 1 and (" (lines 1 to %d read as the header)"):format(line_no) or "")
    end
    local sep = #header == 1 and header[1]:match("[;\t|]")
    if sep then
      return ("header row: one column, holding %s: this reader takes comma-separated values")
        :format(sep == "\t" and "tabs" or ('"' .. sep .. '"'))
    end
    local seen = {}
    for i, name in ipairs(header) do
      name = name:match("^%s*(.-)%s*$")
      header[i] = name
      local utf8_ok, at = valid_utf8(name)
      local problem = (not utf8_ok and ("header column %d is not valid UTF-8 (byte %d)"):format(i, at))
        or (name == "" and ("header column %d is empty"):format(i))
        or (seen[name] and "header column repeated: " .. name)
      if problem then return problem end
      seen[name] = true
    end
  end
  local problem = header_problem()
  local header_error = problem and { number = 0, line = 1, message = problem, fatal = true }

  local number, done = 0, false
  return function()
    if done then return nil end
    if header_error then done = true; return nil, header_error end
    local line
    repeat
      line = next_line()
      if line == nil then done = true; return nil end
    until line ~= ""
    number = number + 1
    local start = line_no
    local values, err, fatal = parse_csv_record(line, next_line)
    if not values then
      if fatal then
        done = true
        -- Everything after the quote was read as one field: say what was lost.
        err = err .. (start < line_no
          and (", which runs to the end of the file (lines %d to %d skipped)"):format(start, line_no)
          or " on the last line")
      end
      if not fatal and start < line_no then
        -- A quote opened on an earlier line closed on this one: likely a quote missing.
        err = err .. (" (lines %d to %d read as one record)"):format(start, line_no)
      end
      return nil, { number = number, line = start, message = err, fatal = fatal }
    end
    if #values ~= #header then
      return nil, { number = number, line = start,
        message = ("%d field%s where the header has %d"):format(#values, #values == 1 and "" or "s", #header) }
    end
    local fields, bad = {}, nil
    for i, name in ipairs(header) do
      local ok, at = valid_utf8(values[i])
      if ok then
        fields[name] = values[i]
      elseif not bad then
        bad = ("column %q is not valid UTF-8 (byte %d)"):format(name, at)
      end
    end
    if bad then
      -- The valid cells go with the problem, so that a report can name the record by its key.
      return nil, { number = number, line = start, message = bad, fields = fields }
    end
    return { fields = fields, number = number, line = start }
  end
end

local function jsonl_each(file)
  local number, line_no, done = 0, 0, false
  return function()
    if done then return nil end
    local line
    repeat
      line = file:read("l")
      if line == nil then done = true; return nil end
      line_no = line_no + 1
      if line_no == 1 then line = strip_bom(line) end
    until line:find("%S")
    number = number + 1
    local ok, at = valid_utf8(line)
    if not ok then
      return nil, { number = number, line = line_no, message = ("not valid UTF-8 (byte %d)"):format(at) }
    end
    local value, err = cjson.decode(line)
    if type(value) ~= "table" or value[1] ~= nil then
      return nil, { number = number, line = line_no,
        message = value == nil and ("invalid JSON: " .. tostring(err)) or "a line must be a JSON object" }
    end
    return { fields = value, number = number, line = line_no }
  end
end

--- The format of `path` by its extension: "csv" or "jsonl", or nil.
function records.format(path)
  local ext = path:match("%.([%w]+)$")
  ext = ext and ext:lower()
  if ext == "csv" then return "csv" end
  if ext == "jsonl" or ext == "ndjson" then return "jsonl" end
  return nil
end

--- Iterate the records of `path`: yields `number, record` or `number, nil, problem`.
-- Returns nil, message when the file cannot be opened or its format is unknown.
function records.open(path, format)
  if type(path) ~= "string" then error("records.open: path must be a string", 2) end
  format = format or records.format(path)
  if format ~= "csv" and format ~= "jsonl" then
    return nil, path .. ": unknown input format (use .csv or .jsonl)"
  end
  local file, err = io.open(path, "rb")
  if not file then return nil, err end
  local _, rerr = file:read(0)  -- a directory opens, then fails every read
  if rerr then
    file:close()
    return nil, path .. ": " .. tostring(rerr)
  end
  local each = (format == "csv" and csv_each or jsonl_each)(file)
  local closed = false
  local function iterator()
    if closed then return nil end
    local rec, problem = each()
    if rec == nil and problem == nil then
      closed = true
      file:close()
      return nil
    end
    return (rec or problem).number, rec, problem
  end
  return iterator
end

--- Like open, but raises on an unopenable file: for `for … in records.each(p)`.
function records.each(path, format)
  local it, err = records.open(path, format)
  if not it then error(err, 2) end
  return it
end

return records
