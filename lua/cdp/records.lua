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
local core = require "cdp.core"

local records = {}

local byte, find, sub, concat = string.byte, string.find, string.sub, table.concat
local csv_split, utf8_valid = core.csv_split, core.utf8_valid

-- One UTF-8 sequence at a time: true, or false and the byte where a sequence
-- fails. The C core's check (core.utf8_valid, many times faster) accepts what
-- this accepts, as Lua 5.4's utf8.len does: no surrogates, overlong forms or
-- code points above U+10FFFF.
local function utf8_scan(s)
  local i, n = 1, #s
  while i <= n do
    local c = byte(s, i)
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
        local b = byte(s, i + k)
        if b < 0x80 or b > 0xBF then return false, i end
        cp = cp * 64 + (b - 0x80)
      end
      if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return false, i end
    end
    i = i + len
  end
  return true
end

local function valid_utf8(s)
  if utf8_valid(s) then return true end
  return utf8_scan(s)
end
records.valid_utf8 = valid_utf8
records._utf8_scan = utf8_scan  -- the spec's reference for core.utf8_valid

local function strip_bom(line)
  if sub(line, 1, 3) == "\239\187\191" then return sub(line, 4) end
  return line
end

local QUOTE, COMMA = 34, 44
local STRAY_QUOTE = "stray quote in field %d (quote the whole field and double inner quotes)"
local AFTER_QUOTE = "text after closing quote in field %d"

-- Parse one CSV record starting with `line`, pulling more lines while a quoted
-- field is open. Returns the fields and their count, or nil and a message;
-- `more` reports whether the input ended inside a quote. The fields are a
-- list, or with `names` a map (`fields`, when given): field i under names[i]
-- (under i past the names).
local function parse_csv_record(line, next_line, names, fields)
  local n, pos = 0, 1
  fields = fields or {}
  local quote = find(line, '"', 1, true)  -- the first quote at or after pos
  while true do
    -- pos is where field n + 1 starts
    if quote ~= pos then
      local comma = find(line, ",", pos, true)
      if quote and (not comma or quote < comma) then
        return nil, STRAY_QUOTE:format(n + 1)
      end
      n = n + 1
      if not comma then
        fields[names and names[n] or n] = sub(line, pos)
        return fields, n
      end
      fields[names and names[n] or n] = sub(line, pos, comma - 1)
      pos = comma + 1
    else
      pos = pos + 1
      local buf, nb, value = nil, 0, nil
      repeat
        local q = find(line, '"', pos, true)
        if not q then
          -- The quote runs on past the end of the line.
          buf = buf or {}
          buf[nb + 1], buf[nb + 2], nb = sub(line, pos), "\n", nb + 2
          local more = next_line()
          if not more then return nil, ("unterminated quote in field %d"):format(n + 1), true end
          line, pos = more, 1
        elseif byte(line, q + 1) == QUOTE then
          buf = buf or {}
          buf[nb + 1], nb = sub(line, pos, q), nb + 1
          pos = q + 2
        else
          value = sub(line, pos, q - 1)
          if buf then
            buf[nb + 1] = value
            value = concat(buf, "", 1, nb + 1)
          end
          pos = q + 1
        end
      until value
      n = n + 1
      fields[names and names[n] or n] = value
      local b = byte(line, pos)
      if b == nil then return fields, n end
      if b ~= COMMA then return nil, AFTER_QUOTE:format(n) end
      pos = pos + 1
      quote = find(line, '"', pos, true)
    end
  end
end

-- A function that makes a record's map of fields with room for every name of
-- the header (growing a table one key at a time rehashes it at each power of
-- two): a table constructor, in code generated with the names written by %q.
-- Each name starts as false (LuaJIT leaves nil ones out of the table's size);
-- a record with as many fields as names sets them all.
local function fields_maker(names)
  local keys = {}
  for i, name in ipairs(names) do keys[i] = ("[%q] = false"):format(name) end
  local chunk = #names <= 1000
    and load("return function() return { " .. concat(keys, ", ") .. " } end", "=(fields)", "t", {})
  return chunk and chunk() or function() return {} end
end

local function csv_each(file)
  local line_no = 0
  local function next_line()
    local l = file:read("l")
    if l == nil then return nil end
    line_no = line_no + 1
    if byte(l, -1) == 13 then l = sub(l, 1, -2) end
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
  local columns = header and #header
  local new_fields = not problem and fields_maker(header)

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
    -- The line's fields, split by the C core; a quoted field that runs on
    -- past the line (a newline inside it) is read here, in Lua.
    local fields, count, utf8_ok = csv_split(line, header, new_fields())
    local fatal
    if fields == false then
      fields, count, fatal = parse_csv_record(line, next_line, header, new_fields())
      utf8_ok = false  -- each field is checked below
    elseif fields == nil then
      count = (count == "stray quote" and STRAY_QUOTE or AFTER_QUOTE):format(utf8_ok)
    end
    if not fields then
      local err = count
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
    if count ~= columns then
      return nil, { number = number, line = start,
        message = ("%d field%s where the header has %d"):format(count, count == 1 and "" or "s", columns) }
    end
    -- A record of one line is valid UTF-8 when its line is (the quotes and
    -- commas taken out are ASCII); otherwise each field says where it fails.
    if utf8_ok then
      return { fields = fields, number = number, line = start }
    end
    local bad
    for i = 1, columns do
      local name = header[i]
      local ok, at = valid_utf8(fields[name])
      if not ok then
        fields[name] = nil
        bad = bad or ("column %q is not valid UTF-8 (byte %d)"):format(name, at)
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

-- The Lua reader of one CSV line (no line after it), for the spec that holds
-- the C core's splitter to it: fields, count | nil, message, ran_on_past_the_line.
function records._lua_csv_line(line, names)
  return parse_csv_record(line, function() return nil end, names, {})
end

--- Like open, but raises on an unopenable file: for `for … in records.each(p)`.
function records.each(path, format)
  local it, err = records.open(path, format)
  if not it then error(err, 2) end
  return it
end

return records
