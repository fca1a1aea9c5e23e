--- cdp.mapping: partner records to customers, in a few readable lines.
--
--   local cdp = require "cdp"
--   local m = cdp.mapping
--   return cdp.mapping {
--     first_name    = m.name("Full Name", "first"),
--     last_name     = m.name("Full Name", "last"),
--     date_of_birth = m.date("Date of Birth", "%d/%m/%Y"),
--     nationality   = "Nationality",                       -- a column, as it is
--     primary_mobile_number = m.phone("Mobile", "AE"),
--     channel       = m.const("WEB"),
--     id_details    = { { id_type = 4, id_number = "Emirates ID",
--                         id_front = m.file("images/%s", "Front Image") } },
--     rules = { function(customer, record) … end },
--     key   = "Customer ID",                                -- names the record in reports
--   }
--
-- A field's value is: a column name (string); a function `(record, ctx) ->
-- value | nil, message` (the helpers below make such functions); a number or
-- boolean constant (m.const for text constants); a table of the same for a
-- nested object, or a list of them for an array. Empty cells leave a field
-- out; an item or object with nothing but constants is left out.
-- A mapping script returns such a mapping, or a plain function
-- `(record) -> customer table | nil, message`.
--
-- Nested fields are mapped where they sit in the payload: `id_details` and
-- `address_list` are lists of tables of the same kind of values (one table per
-- ID or address the record holds; a second passport column set is a second
-- table), `customer_classification` is one table. Problems are reported at
-- the same paths as validation's (`id_details[1].date_of_expiry`), all at once.
--
-- Helpers: m.date(column, "%d/%m/%Y" | "%d %b %Y" | …) (never guessed, %y
-- refused), m.country(column), m.phone(column, default_country) (cdp.phone's
-- small calling-code table), m.name(column, "first" | "middle" | "last"),
-- m.file(pattern, column…) (relative to the script's folder; a cell may not
-- climb out of it; one conversion per column, or the mapping fails as it
-- loads), m.const(value), m.column(name).
local core = require "cdp.core"
local customer = require "cdp.customer"
local document = require "cdp.document"
local errors = require "cdp.errors"
local iso = require "cdp.iso"
local json = require "cdp.json"
local phone = require "cdp.phone"
local schema = require "cdp.schema"
local validate = require "cdp.validate"

local quote = validate.quote

local mapping = {}

local Mapping = {}
Mapping.__index = Mapping

local META = { rules = true, key = true }

local NULL = json.null

-- Functions made by mapping.const: their values alone do not keep an
-- otherwise empty item or object (a passport entry with no number).
local CONSTANTS = setmetatable({}, { __mode = "k" })

local function is_constant(spec)
  local t = type(spec)
  return t == "number" or t == "boolean" or document.is(spec) or (t == "function" and CONSTANTS[spec] == true)
end

local byte, find, match = string.byte, string.find, string.match
local new_table = core.new_table

-- A cell's text without surrounding spaces, or nil when it is empty or
-- blank. Most cells have no spaces: the readers of cells below test the
-- first and last bytes first, which spares them this call and its pattern
-- (they run for every field of every record).
local function trimmed(v)
  v = match(v, "^%s*(.-)%s*$")
  if v == "" then return nil end
  return v
end

local function no_column_message(column)
  return ("no column %s in the record"):format(quote(column))
end

local function cell(record, column)
  local v = record[column]
  if type(v) == "string" then
    local first, last = byte(v, 1), byte(v, -1)
    if first and first > 32 and last > 32 then return v end
    return trimmed(v)
  end
  if v == nil then return nil, no_column_message(column), true end
  return v
end

-- A cell that helpers read as text (names, dates, countries, phones, file
-- names, keys): numbers as their digits (JSON Lines under Lua 5.4 gives
-- 1001.0 for 1001), a JSON null as an empty cell; an object or a list is an
-- error, never "table: 0x…".
local function text_value(v, column)
  local t = type(v)
  if t == "string" then
    local first, last = byte(v, 1), byte(v, -1)
    if first and first > 32 and last > 32 then return v end
    v = trimmed(v)
    if v == nil then return nil, nil, nil end  -- blank: nil, no message, not missing
    return v
  end
  if v == nil then return nil, no_column_message(column), true end
  if t == "number" then
    if v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then return ("%.0f"):format(v) end
    return tostring(v)
  elseif t == "boolean" then
    return tostring(v)
  elseif v == NULL then
    return nil
  end
  local what = t == "table" and (next(v) == nil and "an empty object or list"
    or v[1] ~= nil and "a list" or "an object") or ("a " .. t)
  return nil, ("column %s: %s where text is expected"):format(quote(column), what)
end

-- The same, of the record's cell in `column`.
local function text_cell(record, column)
  return text_value(record[column], column)
end

local function join(path, name)
  if path == "" then return name end
  return path .. "." .. name
end

local function add_error(ctx, path, message)
  local errors_so_far = ctx.errors
  errors_so_far[#errors_so_far + 1] = { path = path, message = message }
end

-- How a spec value maps: a column name, a function, a list, an object, or
-- a constant (number, boolean, document).
local function kind_of(value)
  local kind = type(value)
  if kind == "table" then
    return document.is(value) and "constant" or value[1] ~= nil and "list" or "object"
  elseif kind ~= "string" and kind ~= "function" then
    return "constant"
  end
  return kind
end

-- A mapping is compiled once, on its first record, into readers: one
-- function(record, ctx) -> value | nil, problem per spec value, which knows
-- its kind. The object or list around it reports a problem at the path it
-- made up front ("id_details[1].issued_on"). Mapping a record is then one
-- call per field, with no kind to look at and no path to build. A mapping's
-- tables do not change once made.
--
-- A function of the partner's is called under pcall: what it raises is a
-- problem of its field. The helpers below raise only on odd input (a record
-- whose __index raises, a file pattern that does not format): a mapping of
-- nothing but helpers is read with one pcall for the whole record, and read
-- again with each helper under its own pcall when one raised.
local compile

local function column_reader(column)
  return function(record, ctx)
    local v = record[column]  -- cell(record, column), one call fewer
    if type(v) == "string" then
      local first, last = byte(v, 1), byte(v, -1)
      if first and first > 32 and last > 32 then return v end
      return trimmed(v)
    end
    if v == nil then
      ctx.missing_column = true
      return nil, no_column_message(column)
    end
    if type(v) == "table" then ctx.borrowed = true end  -- the record's own (JSON Lines)
    return v
  end
end

-- A function of the mapping (a helper's or the partner's), under pcall:
-- what it raises or its nil, message is a problem at the field's path.
local function function_reader(fn)
  return function(record, ctx)
    local ok, v, err = pcall(fn, record, ctx)
    if not ok then return nil, "mapping raised an error: " .. tostring(v) end
    if v == nil and err then return nil, tostring(err) end
    return v
  end
end

-- Checking (Mapping:build's readers, for a mapping of helpers and
-- constants): each value of a kept object is run through the fast check of
-- its schema field, the check validate.check would run first on the
-- customer, with the same result; a value that fails it (or a problem, a
-- warning) sets ctx.unchecked, and the customer is then checked the usual
-- way. A reader that checks what it makes says so (compile's second
-- result). An object or array field whose value another reader gives (a
-- column, a constant) is never checked here: normalizing would change a
-- table that is not the reader's own. Checking is all or nothing: one such
-- field anywhere and the mapping's customers are all checked the usual way
-- (the readers compiled before it with checking on are then not used).
local function checks_itself(field)
  return field.type == "object" or field.type == "array"
end

-- The list's items, those that map (an item of nothing but constants is
-- left out); a list is there even when no item is.
local function list_reader(spec, field, path, careful, checking)
  local item_schema = field and field.items
  -- The customer's arrays hold objects: a list is checked when each of its
  -- items' readers checks what it makes.
  local checks = checking and field ~= nil and field.type == "array" and item_schema ~= nil
  local items, paths = {}, {}
  for i, item in ipairs(spec) do
    paths[i] = ("%s[%d]"):format(path, i)
    local checked
    items[i], checked = compile(item, item_schema, paths[i], careful, checks)
    if not checked then checks = false end
  end
  local count = #items
  local min_items = checks and field.min_items or 0
  return function(record, ctx)
    local out, n = new_table(count, 0), 0
    for i = 1, count do
      local v, problem = items[i](record, ctx)
      if v ~= nil then
        n = n + 1
        out[n] = v
      elseif problem then
        add_error(ctx, paths[i], problem)
      end
    end
    if n < min_items then ctx.unchecked = true end
    return out
  end, checks
end

-- An object's fields in schema order (then by name), so problems come in
-- field order; nil when nothing but constants mapped. The customer itself
-- (path "") leaves out the mapping's rules and key.
local function object_reader(spec, object_schema, path, careful, checking)
  local names = {}
  for name in pairs(spec) do
    if not (path == "" and META[name]) then names[#names + 1] = name end
  end
  local by_name = object_schema and object_schema.by_name or {}
  table.sort(names, function(a, b)
    local fa, fb = by_name[a], by_name[b]
    local ia, ib = fa and fa.index or math.huge, fb and fb.index or math.huge
    if ia ~= ib then return ia < ib end
    return tostring(a) < tostring(b)
  end)
  -- (An object of the API's flat document shape has keys the schema lacks:
  -- base64_data, content_type. It is never checked here.)
  local checks = checking and object_schema ~= nil and object_schema.type == "object"
  -- checkers[i]: field i's check as its value is read. A document's check
  -- reads its file: it runs only once the object is known to be kept, as
  -- validation would see it (documents[j]: {index, check} of one).
  local readers, paths, counts, checkers, required, documents = {}, {}, {}, {}, {}, {}
  for i, name in ipairs(names) do
    local value, field = spec[name], by_name[name]
    paths[i] = join(path, tostring(name))
    local checked
    readers[i], checked = compile(value, field, paths[i], careful, checks)
    counts[i] = not is_constant(value)  -- a value that keeps the object
    if checks and not checked then
      if field == nil or checks_itself(field) then checks = false
      elseif field.type == "document" then documents[#documents + 1] = { i, validate.leaf_checker(field) }
      else checkers[i] = validate.leaf_checker(field) end
    end
    required[i] = field ~= nil and field.required == true
  end
  local count = #names
  -- Checking: every required field of the schema must be among those mapped.
  -- Not checking: nothing of the above.
  local required_names = {}
  if checks then
    for _, field in ipairs(object_schema.fields) do
      if field.required then required_names[#required_names + 1] = field.name end
    end
  else
    checkers, required, documents = {}, {}, {}
  end
  return function(record, ctx)
    local out, any = new_table(0, count), false
    for i = 1, count do
      local v, problem = readers[i](record, ctx)
      if v ~= nil then
        if v == NULL then
          if required[i] then ctx.unchecked = true end
        else
          local check = checkers[i]
          if check then
            local checked = check(v)
            if checked == nil then ctx.unchecked = true else v = checked end
          end
        end
        out[names[i]] = v
        if counts[i] then any = true end
      elseif problem then
        add_error(ctx, paths[i], problem)
      end
    end
    if not any then return nil end
    for j = 1, #documents do
      local index, check = documents[j][1], documents[j][2]
      local v = out[names[index]]
      if v ~= nil and v ~= NULL and check(v) == nil then ctx.unchecked = true end
    end
    for i = 1, #required_names do
      if out[required_names[i]] == nil then ctx.unchecked = true break end
    end
    return out
  end, checks
end

-- Functions made by the helpers below (mapping.date, mapping.name…).
local HELPERS = setmetatable({}, { __mode = "k" })

local function helper(fn)
  HELPERS[fn] = true
  return fn
end

-- `field` is the value's schema field (nil for a field the schema lacks);
-- `careful`: every function under its own pcall, helpers too.
function compile(value, field, path, careful, checking)
  local kind = kind_of(value)
  if kind == "string" then return column_reader(value), false end
  if kind == "function" then
    -- mapping.const's functions return their value and cannot raise.
    if CONSTANTS[value] or (HELPERS[value] and not careful) then return value, false end
    return function_reader(value), false
  end
  if kind == "list" then return list_reader(value, field, path, careful, checking) end
  if kind == "object" then return object_reader(value, field, path, careful, checking) end
  return function() return value end, false  -- number, boolean, document: a constant
end

-- True when `test` holds for a function the spec value holds (where compile
-- reads: the customer's rules and key are not mapped).
local function any_function(value, test, is_customer)
  local kind = is_customer and "object" or kind_of(value)  -- the customer is read as an object
  if kind == "function" then return test(value) end
  if kind == "list" then
    for _, item in ipairs(value) do
      if any_function(item, test) then return true end
    end
  elseif kind == "object" then
    for name, v in pairs(value) do
      if not (is_customer and META[name]) and any_function(v, test) then return true end
    end
  end
  return false
end

-- A function that is neither a helper's nor mapping.const's: the partner's own.
local function is_own_function(fn)
  return not (CONSTANTS[fn] or HELPERS[fn])
end

-- mapping.const of a table: the same table would go into every customer.
local function gives_shared_table(fn)
  if not CONSTANTS[fn] then return false end
  local v = fn()
  return type(v) == "table" and not document.is(v)
end

--- Make a mapping from a table of field specs (see the top of this file).
function mapping.new(spec)
  if type(spec) ~= "table" then error("cdp.mapping: a table of fields expected", 2) end
  if spec.rules ~= nil and type(spec.rules) ~= "table" then error("cdp.mapping: rules must be a list", 2) end
  return setmetatable({ spec = spec, rules = spec.rules or {}, key_spec = spec.key, base_dir = "." }, Mapping)
end

--- A mapping from a plain function `(record) -> customer table | nil, message`.
function mapping.from_function(fn)
  local m = mapping.new({})
  m.fn = fn
  return m
end

function mapping.is(v)
  return getmetatable(v) == Mapping
end

-- Mapping:map's results, whether the customer's tables are all ones the
-- readers made for it (validation may then normalize them in place), and
-- whether the readers checked every value as they made it (`checking`:
-- Mapping:build's readers, see checks_itself).
local function read(self, record, checking)
  local ctx = { errors = {}, base_dir = self.base_dir, open_files_when_sent = self._open_files_when_sent }
  if self.fn then
    local ok, t, err = pcall(self.fn, record, ctx)
    if not ok then return nil, { { path = "", message = "mapping raised an error: " .. tostring(t) } } end
    if type(t) ~= "table" then
      return nil, { { path = "", message = tostring(err or "mapping returned no customer") } }
    end
    return t
  end
  local readers = self.reader
  if not readers then
    local helpers_only = not any_function(self.spec, is_own_function, true)
    -- Helpers only: one pcall for the record (read_careful if it raised).
    readers = { read = object_reader(self.spec, schema.customer, "", not helpers_only), protect = helpers_only,
      -- Helpers and constants only: every table of a customer is one the
      -- readers made for it, but for a column's own table (JSON Lines).
      owned = helpers_only and not any_function(self.spec, gives_shared_table, true) }
    if readers.owned then
      local read_checked, checks = object_reader(self.spec, schema.customer, "", false, true)
      readers.read_checked = checks and read_checked or nil
    end
    self.reader = readers
  end
  local t
  -- (Only a mapping of helpers and constants has checking readers, and it
  -- is read under protect.)
  local read_checked = checking and readers.read_checked or nil
  if readers.protect then
    local ok, out = pcall(read_checked or readers.read, record, ctx)
    if ok then
      t = out
    else
      read_checked = nil
      -- A helper raised: the record again, each helper under its own pcall,
      -- so that what it raised is a problem of its field.
      local read_careful = readers.read_careful or object_reader(self.spec, schema.customer, "", true)
      readers.read_careful = read_careful
      ctx = { errors = {}, base_dir = self.base_dir, open_files_when_sent = self._open_files_when_sent }
      t = read_careful(record, ctx)
    end
  else
    read_checked = nil
    t = readers.read(record, ctx)
  end
  -- nil: nothing but constants mapped (the readers checked nothing)
  if t == nil then t, read_checked = {}, nil end
  if #ctx.errors > 0 then return nil, ctx.errors, t end
  -- A table of the record's own (ctx.borrowed) at an object or array field
  -- leaves the readers unchecking; at any other field it is checked as any
  -- value is (a cdp.file of the record's passes a document's check, as it
  -- does in validation; any other table fails).
  return t, nil, nil, readers.owned and not ctx.borrowed, read_checked ~= nil and not ctx.unchecked
end

--- The customer table for `record` (a table of column -> value), or nil and
-- the list of problems ({path, message}).
function Mapping:map(record)
  local t, problems, partial = read(self, record)
  return t, problems, partial
end

-- The schema's problems with what could be mapped, except at the paths the
-- mapping already reported (a field whose cell was bad is also "required").
local function schema_problems(partial, mapped_problems, today)
  local _, err = customer.new(partial, { today = today })
  local out = {}
  if not err then return out end
  local reported = {}
  for _, p in ipairs(mapped_problems) do reported[p.path] = true end
  for _, p in ipairs(err.errors) do
    if not reported[p.path] then out[#out + 1] = p end
  end
  return out
end

--- Map and validate `record`: a customer, or nil and a validation error
-- whose `errors` hold the mapping's and the schema's problems.
function Mapping:build(record, opts)
  opts = opts or {}
  -- Rules that are not all functions make customer.new raise: before
  -- anything is checked, as ever.
  local rules_callable = true
  for _, rule in ipairs(self.rules) do
    if type(rule) ~= "function" then rules_callable = false break end
  end
  local t, problems, partial, owned, checked = read(self, record, rules_callable)
  if not t then
    -- Every problem at once: the schema's too, for the fields that mapped.
    local first = problems[1]
    local message = ("mapping failed: %s%s"):format(first.path ~= "" and first.path .. ": " or "", first.message)
    if partial then
      for _, p in ipairs(schema_problems(partial, problems, opts.today)) do problems[#problems + 1] = p end
    end
    if #problems > 1 then message = message .. (" (and %d more)"):format(#problems - 1) end
    return nil, errors.new { kind = "validation", errors = problems, message = message }
  end
  local customer_opts = { rules = self.rules, record = record, today = opts.today, owned = owned }
  if checked then return customer._checked(t, customer_opts) end
  return customer.new(t, customer_opts)
end

--- A name for `record` in reports and the journal: the `key` column or
-- function of the mapping, else the first ID as "type:number", else nil.
function Mapping:key(record, built)
  local k = self.key_spec
  if type(k) == "string" then return text_cell(record, k) end
  if type(k) == "function" then
    local ok, key = pcall(k, record)  -- a key function that raises must not stop a batch
    if not ok then return nil, "key function raised an error: " .. tostring(key) end
    return key
  end
  if built then
    local id_type, id_number = built:first_id()
    return tostring(id_type) .. ":" .. tostring(id_number)
  end
  return nil
end

--- Load a mapping script. Returns the mapping, or nil and a message (a
-- syntax error, an error while it runs, or something else returned).
function mapping.load(path)
  if type(path) ~= "string" then error("mapping.load: path must be a string", 2) end
  local chunk, err = loadfile(path)
  if not chunk then return nil, err end
  local ok, result = pcall(chunk)
  if not ok then return nil, path .. ": " .. tostring(result) end
  local m
  if mapping.is(result) then m = result
  elseif type(result) == "function" then m = mapping.from_function(result)
  else return nil, path .. ": a mapping script must return cdp.mapping{…} or a function(record)" end
  m.base_dir = path:match("^(.*)/[^/]*$") or "."
  return m
end

-- Helpers: each returns a function(record, ctx) -> value | nil, message.

--- A text constant (plain strings are column names).
function mapping.const(value)
  local fn = function() return value end
  CONSTANTS[fn] = true
  return fn
end

--- The column as it is (the same as writing its name).
function mapping.column(name)
  return helper(function(record, ctx)
    local v, err = cell(record, name)
    if type(v) == "table" and ctx then ctx.borrowed = true end  -- the record's own (JSON Lines)
    return v, err
  end)
end

local function date_pattern(format)
  local fields, pattern = {}, {}
  local i = 1
  while i <= #format do
    local c = format:sub(i, i)
    if c == "%" then
      local spec = format:sub(i + 1, i + 1)
      if spec == "d" or spec == "m" then pattern[#pattern + 1] = "(%d%d?)"
      elseif spec == "Y" then pattern[#pattern + 1] = "(%d%d%d%d)"
      elseif spec == "b" then pattern[#pattern + 1] = "(%a%a%a)"
      else
        -- %y is refused on purpose: "01/02/03" has no one reading.
        error(("cdp.mapping.date: %%%s is not supported (use %%d, %%m or %%b, %%Y)"):format(spec), 3)
      end
      fields[#fields + 1] = spec == "b" and "m" or spec
      i = i + 2
    else
      pattern[#pattern + 1] = c:gsub("%p", "%%%0")
      i = i + 1
    end
  end
  table.sort(fields)
  if table.concat(fields) ~= "Ydm" then
    error("cdp.mapping.date: the format needs %d, %m (or %b) and %Y once each", 3)
  end
  local order = {}
  for spec in format:gmatch("%%(%a)") do order[#order + 1] = spec end
  return "^" .. table.concat(pattern) .. "$", order
end

-- English month abbreviations for %b ("14 MAR 1986", as machine-readable
-- zones print them), as the date's two digits: in any case ("Mar", "MAR",
-- "mar"…), each spelling listed so that no lower() is needed.
local MONTHS = {}
for number, name in ipairs({ "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec" }) do
  local digits = ("%02d"):format(number)
  for spelling = 0, 7 do  -- each letter in lower or upper case: 8 spellings
    local letters = {}
    for i = 1, 3 do
      local letter = name:sub(i, i)
      letters[i] = math.floor(spelling / 2 ^ (i - 1)) % 2 == 1 and letter:upper() or letter
    end
    MONTHS[table.concat(letters)] = digits
  end
end

-- A day or a month of one digit as two ("3" -> "03"); two digits stay.
local TWO_DIGITS = {}
for digit = 0, 9 do TWO_DIGITS[tostring(digit)] = "0" .. digit end

-- The number of a day's or a month's two digits ("03" -> 3).
local NUMBER_OF = {}
for n = 0, 99 do NUMBER_OF[("%02d"):format(n)] = n end

local DAYS_IN_MONTH = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

local function is_space_byte(b)
  return b == 32 or (b >= 9 and b <= 13)
end

--- A date column in `format` (e.g. "%d/%m/%Y", "%d %b %Y") as YYYY-MM-DD.
-- Only the named format is taken: "03/04/1990" is never guessed.
function mapping.date(column, format)
  local pattern, order = date_pattern(format)
  -- Which capture holds the year, the month and the day.
  local at = {}
  for i, spec in ipairs(order) do at[spec == "b" and "m" or spec] = i end
  local month_by_name = format:find("%b", 1, true) ~= nil
  local y_at, m_at, d_at = at.Y, at.m, at.d
  -- The pattern is anchored at both ends: a text it matches has no spaces
  -- around it (so needs no trimming) unless the format itself starts or ends
  -- with one.
  local untrimmed_match_is_exact = not is_space_byte(byte(format, 1)) and not is_space_byte(byte(format, -1))

  -- The date of the captures, or nil when it is no day of the calendar
  -- (validate.date's test, on the parts the date is joined from: a wrong
  -- date is not joined, and a right one not parsed again).
  local function iso_date_of(c1, c2, c3)
    local year = y_at == 1 and c1 or y_at == 2 and c2 or c3
    local month = m_at == 1 and c1 or m_at == 2 and c2 or c3
    local day = d_at == 1 and c1 or d_at == 2 and c2 or c3
    if month_by_name then month = MONTHS[month] else month = TWO_DIGITS[month] or month end
    if not month then return nil end
    day = TWO_DIGITS[day] or day
    local m, d = NUMBER_OF[month], NUMBER_OF[day]
    if m < 1 or m > 12 or d < 1 then return nil end
    if d > DAYS_IN_MONTH[m] then
      if m ~= 2 or d ~= 29 then return nil end
      local y = tonumber(year)
      if not ((y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0) then return nil end
    end
    return year .. "-" .. month .. "-" .. day
  end

  return helper(function(record)
    local raw = record[column]
    if untrimmed_match_is_exact and type(raw) == "string" then
      local c1, c2, c3 = match(raw, pattern)
      local iso_date = c1 and iso_date_of(c1, c2, c3)
      if iso_date then return iso_date end
    end
    local v, err = text_value(raw, column)
    if v == nil then return nil, err end
    local c1, c2, c3 = match(v, pattern)
    local iso_date = c1 and iso_date_of(c1, c2, c3)
    if iso_date then return iso_date end
    return nil, ("column %s: %s is not a date in the form %s"):format(quote(column), quote(v), format)
  end)
end

--- A country column (name, alpha-2 or alpha-3) as alpha-2.
function mapping.country(column)
  -- The code of each cell text met so far, as it is in the file (trimmed or
  -- not): a file names few countries, and this spares trimming and looking
  -- up the same "United Arab Emirates" in every record. Country names only
  -- (no answer is kept for a text that is no country), and at most 256.
  local code_of, kept = {}, 0
  return helper(function(record)
    local raw = record[column]
    local code = code_of[raw]
    if code then return code end
    local v, err = text_value(raw, column)
    if v == nil then return nil, err end
    code = iso.country(v)  -- v is text: tostring(v) is v
    if not code then return nil, ("column %s: %s is not a country"):format(quote(column), quote(v)) end
    if type(raw) == "string" then
      if kept == 256 then code_of, kept = {}, 0 end
      code_of[raw], kept = code, kept + 1
    end
    return code
  end)
end

--- A phone column as E.164; local numbers take `default_country`'s code.
function mapping.phone(column, default_country)
  return helper(function(record)
    local raw = record[column]
    -- Spaces around a number go with its separators: a number found in the
    -- cell as it is is the trimmed cell's number too (not so a problem,
    -- which quotes the trimmed cell).
    if type(raw) == "string" then
      local n = phone.e164(raw, default_country)
      if n then return n end
    end
    local v, err = text_value(raw, column)
    if v == nil then return nil, err end
    local n, perr = phone.e164(v, default_country)
    if not n then return nil, ("column %s: %s"):format(quote(column), perr) end
    return n
  end)
end

--- One part of a full-name column: "first" (first word), "last" (last word)
-- or "middle" (the words between). A one-word name has no last name.
function mapping.name(column, part)
  if part ~= "first" and part ~= "middle" and part ~= "last" then
    error("cdp.mapping.name: part must be first, middle or last", 2)
  end
  return helper(function(record, ctx)
    -- first, middle and last read the same column: split it once per record
    -- (kept for this record only: a ctx passed on with another record
    -- starts afresh).
    local cache
    if ctx then
      if ctx.words_of ~= record then ctx.words_of, ctx.words = record, {} end
      cache = ctx.words
    end
    local words = cache and cache[column]
    if not words then
      local raw = record[column]
      -- Most names have two or three words: one match rather than a loop,
      -- on the cell as it is (an empty third capture means two words, and
      -- spaces after them; spaces before them fail the match).
      local w1, w2, w3
      if type(raw) == "string" then w1, w2, w3 = match(raw, "^(%S+)%s+(%S+)%s*(%S*)$") end
      if w3 == "" then
        words = { w1, w2 }
      elseif w1 then
        words = { w1, w2, w3 }
      else
        local v, err = text_value(raw, column)
        if v == nil then return nil, err end
        words = {}
        for w in v:gmatch("%S+") do words[#words + 1] = w end
      end
      if cache then cache[column] = words end
    end
    if part == "first" then return words[1] end
    if #words < 2 then
      if part == "last" then return nil, ("column %s: a one-word name has no last name"):format(quote(column)) end
      return nil
    end
    if part == "last" then return words[#words] end
    if #words == 2 then return nil end
    return table.concat(words, " ", 2, #words - 1)
  end)
end

-- A record's cell names a file inside the images folder, nothing more: a
-- record is input from elsewhere, and "../../home/x/.ssh/id_rsa" in it would
-- otherwise be read and sent to the CDP.
local function safe_path_part(column, v)
  -- Without "/" a name can climb out only by being "..".
  local plain = not v:find("/", 1, true) and v ~= ".."
  if v:find("\0", 1, true) or (not plain and (v:sub(1, 1) == "/" or ("/" .. v .. "/"):find("/%.%./"))) then
    return nil, ("column %s: %s is not a file name inside the mapping's folder"):format(quote(column), quote(v))
  end
  return v
end

-- m.file's document: under `cdp-onboard submit` (the mapping's
-- `_open_files_when_sent`) its file is opened only to be sent, once.
local function file_document(ctx, path)
  if ctx and ctx.open_files_when_sent then return document._opened_when_sent(path) end
  return document.file(path)
end

--- A document whose path is `pattern` filled with the columns' values
-- (string.format), relative to the mapping script's folder. An empty cell
-- leaves the document out; a value that is an absolute path or climbs out
-- with ".." is an error.
function mapping.file(pattern, ...)
  local columns = { ... }
  local unpack = table.unpack or unpack
  local count = #columns
  -- A pattern that cannot take its columns is the mapping's mistake: it
  -- fails the mapping as it loads, not every record as it is mapped.
  if type(pattern) ~= "string" then error("cdp.mapping.file: the pattern must be a string", 2) end
  local conversions = select(2, (pattern:gsub("%%%%", "")):gsub("%%", ""))
  if conversions ~= count then
    error(("cdp.mapping.file: %s has %d %s for %d %s"):format(quote(pattern), conversions,
      conversions == 1 and "conversion" or "conversions", count, count == 1 and "column" or "columns"), 2)
  end
  local zeros = {}
  for i = 1, count do zeros[i] = "0" end
  local formats, why = pcall(string.format, pattern, unpack(zeros))
  if not formats then error(("cdp.mapping.file: %s: %s"):format(quote(pattern), tostring(why)), 2) end
  -- The usual pattern, "images/%s": the text before and after its one %s
  -- (and no other %), so that a path is joined rather than formatted.
  local before, after = match(pattern, "^([^%%]*)%%s([^%%]*)$")
  if count ~= 1 then before = nil end
  -- A cell's part never starts with "/": the path starts as `before` does.
  local relative = byte(before or "", 1) ~= 47  -- 47: "/"
  return helper(function(record, ctx)
    if before then
      local column = columns[1]
      local v, err = text_value(record[column], column)
      if v == nil then return nil, err end
      -- A plain name (no "/", not "..", no NUL) is inside the folder.
      if find(v, "/", 1, true) or v == ".." or find(v, "\0", 1, true) then
        v, err = safe_path_part(column, v)
        if not v then return nil, err end
      end
      local base_dir = ctx and ctx.base_dir
      if base_dir and base_dir ~= "." and relative then
        return file_document(ctx, base_dir .. "/" .. before .. v .. after)
      end
      return file_document(ctx, before .. v .. after)
    end
    local path
    if count == 1 then
      local column = columns[1]
      local v, err = text_cell(record, column)
      if v == nil then return nil, err end
      v, err = safe_path_part(column, v)
      if not v then return nil, err end
      path = pattern:format(v)
    else
      local values = {}
      for i = 1, count do
        local column = columns[i]
        local v, err = text_cell(record, column)
        if v == nil then return nil, err end
        values[i], err = safe_path_part(column, v)
        if not values[i] then return nil, err end
      end
      path = pattern:format(unpack(values))
    end
    local base_dir = ctx and ctx.base_dir
    if base_dir and base_dir ~= "." and byte(path, 1) ~= 47 then path = base_dir .. "/" .. path end  -- 47: "/"
    return file_document(ctx, path)
  end)
end

return setmetatable(mapping, { __call = function(_, spec) return mapping.new(spec) end })
