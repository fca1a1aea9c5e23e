--- cdp.validate: checks a customer table against cdp.schema and returns a
-- normalized copy, with every problem at once, each at its path
-- (`id_details[2].date_of_expiry`, 1-based).
--
-- Coercions lose nothing: a number where text is wanted becomes its exact
-- digits (a Lua 5.4 integer always; a float only below 2^53, above which it
-- may already have been rounded); "true"/"false"/"1"/"0" become booleans;
-- digit strings become integers; text is trimmed; country names and alpha-3
-- codes become alpha-2; phone numbers lose spaces and dashes. Anything
-- ambiguous is an error. Values quoted in messages are cut at 40 bytes, so a
-- misplaced blob never floods a report.
local document = require "cdp.document"
local iso = require "cdp.iso"
local json = require "cdp.json"
local records = require "cdp.records"

local validate = {}

local Context = {}
Context.__index = Context

-- A field's path is built only when a problem is reported or a nested
-- value is entered: most fields are fine and need none.
local function join(path, name)
  if path == "" then return name end
  return path .. "." .. name
end

local function path_of(parent, name)
  if name == nil then return parent end
  return join(parent, name)
end

-- The paths of nested values (`id_details`, `id_details[1]`), which every
-- customer enters, built once: parent path -> name or index -> path. Only
-- names of the schema and indexes up to 64 come here, and at most 4096
-- paths are kept, so the cache stays small whatever the input.
local PATHS, path_count = {}, 0

local function cached(parent, key, make)
  local by_parent = PATHS[parent]
  if by_parent == nil then
    if path_count >= 4096 then return make(parent, key) end
    by_parent = {}
    PATHS[parent] = by_parent
  end
  local path = by_parent[key]
  if path == nil then
    path = make(parent, key)
    if path_count < 4096 then
      by_parent[key], path_count = path, path_count + 1
    end
  end
  return path
end

local function child_path(parent, name)
  if name == nil then return parent end
  return cached(parent, name, join)
end

local function index_path(path, i)
  return ("%s[%d]"):format(path, i)
end

local function item_path(path, i)
  if i > 64 then return index_path(path, i) end
  return cached(path, i, index_path)
end

function Context:error(parent, message, name)
  self.errors[#self.errors + 1] = { path = path_of(parent, name), message = message }
end

function Context:warn(parent, message, name)
  self.warnings[#self.warnings + 1] = { path = path_of(parent, name), message = message }
end

-- Levenshtein distance, for "did you mean" on unknown field names.
local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

local function suggestion(name, spec)
  if #name > 64 then return nil end  -- no field is that long; spare the O(n*m) distance
  local best, best_d
  for _, f in ipairs(spec.fields) do
    local d = distance(name, f.name)
    if d <= math.max(1, math.floor(#f.name / 3)) and (not best_d or d < best_d) then
      best, best_d = f.name, d
    end
  end
  return best
end

local function describe(v)
  if document.is(v) then return "a document" end
  if v == json.null then return "null" end
  local t = type(v)
  if t == "table" then return (v[1] ~= nil or next(v) == nil) and "a list" or "an object" end
  if t == "string" then return "text" end
  return "a " .. t
end

-- Characters, not bytes (the text is valid UTF-8 by then).
local function length(s)
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

-- A value for a message: quoted, control characters shown as "?", cut at
-- 40 bytes (on a character boundary) so a misplaced blob never floods a
-- report. Not %q: Lua 5.4 and LuaJIT escape control characters differently.
local function quote(s)
  if #s > 40 then s = s:sub(1, 40):gsub("[\192-\255][\128-\191]*$", "") .. "..." end
  return '"' .. s:gsub("%c", "?") .. '"'
end

-- A number for a message, written the same under both ABIs (NaN is "-nan"
-- or "nan" depending on the C library).
local function number_text(n)
  if n ~= n then return "NaN" end
  if n == math.huge or n == -math.huge then return n > 0 and "infinity" or "-infinity" end
  return json.number(n)
end

-- The exact decimal digits of a whole number, or nil and why not. A float
-- of 2^53 or more may already be rounded (LuaJIT reads 784199554586091123 as
-- 784199554586091136), so it is refused rather than sent wrong.
local function exact_digits(n)
  if math.type and math.type(n) == "integer" then return ("%d"):format(n) end
  if n ~= n or n == math.huge or n == -math.huge then
    return nil, "expected text, got the number " .. number_text(n)
  end
  if n ~= math.floor(n) then
    return nil, "a number with a fraction where text is expected; give it as text"
  end
  if math.abs(n) >= 2 ^ 53 then
    return nil, "a number too large to be exact (2^53 or more) where text is expected; give it as text"
  end
  return ("%.0f"):format(n)
end

--- A value quoted for a message, the same under both ABIs (see above).
validate.quote = quote

local DAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

local byte, find = string.byte, string.find

-- Year, month and day of a real calendar date written YYYY-MM-DD in the
-- string s, or nil. Its bytes only ("0" is 48): no pattern, one C call; this
-- runs for every date of every customer.
local function date_parts(s)
  if #s ~= 10 then return nil end
  local y1, y2, y3, y4, dash1, m1, m2, dash2, d1, d2 = byte(s, 1, 10)
  if dash1 ~= 45 or dash2 ~= 45
    or y1 < 48 or y1 > 57 or y2 < 48 or y2 > 57 or y3 < 48 or y3 > 57 or y4 < 48 or y4 > 57
    or m1 < 48 or m1 > 57 or m2 < 48 or m2 > 57 or d1 < 48 or d1 > 57 or d2 < 48 or d2 > 57 then
    return nil
  end
  local y = y1 * 1000 + y2 * 100 + y3 * 10 + y4 - 53328
  local m, d = m1 * 10 + m2 - 528, d1 * 10 + d2 - 528
  if m < 1 or m > 12 or d < 1 then return nil end
  local leap = (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
  local max = (m == 2 and leap) and 29 or DAYS[m]
  if d > max then return nil end
  return y, m, d
end

--- Year, month and day of a real calendar date written YYYY-MM-DD, or nil.
function validate.date(s)
  if type(s) ~= "string" then
    -- what string.find does with it: nil for a number, an error otherwise
    find(s, "^%d%d%d%d%-%d%d%-%d%d$")
    return nil
  end
  return date_parts(s)
end

local E164 = "^%+[1-9]%d%d%d%d%d%d+$"  -- + and 7 to 15 digits (length checked apart)
local EMAIL = "^[^@%s]+@[^@%s]+%.[^@%s%.]+$"

local function clean_phone(s)
  return (s:gsub("[%s%-%.%(%)]", ""))
end

local FORMATS = {}

function FORMATS.country(ctx, path, s, name)
  local code = iso.country(s)
  if not code then return ctx:error(path, ("not an ISO 3166 country: %s"):format(quote(s)), name) end
  return code
end

function FORMATS.currency(ctx, path, s, name)
  local up = s:upper()
  if not iso.is_currency(up) then return ctx:error(path, ("not an ISO 4217 currency: %s"):format(quote(s)), name) end
  return up
end

function FORMATS.date(ctx, path, s, name)
  if not date_parts(s) then
    return ctx:error(path, ("not a real date in YYYY-MM-DD form: %s"):format(quote(s)), name)
  end
  return s
end

function FORMATS.e164(ctx, path, s, name)
  if #s <= 16 and s:find(E164) then return s end  -- already clean: the usual case
  local n = clean_phone(s)
  if not n:match(E164) or #n > 16 then
    return ctx:error(path, ("not an E.164 number (+, country code, 7 to 15 digits): %s"):format(quote(s)), name)
  end
  return n
end

function FORMATS.phone(ctx, path, s, name)
  if #s <= 16 and s:find(E164) then return s end
  local n = clean_phone(s)
  if n:sub(1, 1) == "+" then return FORMATS.e164(ctx, path, s, name) end
  if not n:match("^%d+$") or #n < 5 or #n > 15 then
    return ctx:error(path, ("not a phone number: %s"):format(quote(s)), name)
  end
  -- The CDP takes local numbers here from partners (NOTES.md), but E.164 is what it documents.
  ctx:warn(path, "local number without a country code; E.164 (+…) expected", name)
  return n
end

function FORMATS.email(ctx, path, s, name)
  if not find(s, EMAIL) then
    return ctx:error(path, ("not an email address: %s"):format(quote(s)), name)
  end
  return s
end

function FORMATS.numeric(ctx, path, s, name)
  if not s:match("^%d+$") then return ctx:error(path, "must be digits only", name) end
  return s
end

local TYPES = {}
local NULL = json.null
local math_type = math.type

-- An enumeration's values by their exact and lower-case spellings ("male"
-- is "Male"), kept on the schema's field after the first use.
local function enum_spellings(field)
  local spellings = {}
  for _, allowed in ipairs(field.enum) do
    spellings[allowed], spellings[allowed:lower()] = allowed, allowed
  end
  field.enum_spellings = spellings
  return spellings
end

-- Text a field took without a problem or a warning, and what it became
-- ("  ae " -> "AE"), kept on the schema's field: a country or an enum's
-- value comes again and again. Only those fields: nothing personal (a name,
-- an ID number, an e-mail) outlives its customer in this table. Only short
-- text, up to 256 values a field; after that the kept ones still answer.
-- The check of a text depends on nothing but the text and the field, so a
-- kept answer is the one it would give.
local MEMO_MAX, MEMO_LEN = 256, 40

function TYPES.string(ctx, path, v, field, name)
  local t = type(v)
  local memo = field.memo
  if memo ~= nil and t == "string" then
    local known = memo[v]
    if known ~= nil then return known end
  end
  local raw = v
  if t == "number" then
    local digits, why = exact_digits(v)
    if not digits then return ctx:error(path, why, name) end
    v = digits
  elseif t ~= "string" then
    return ctx:error(path, "expected text, got " .. describe(v), name)
  end
  -- Fast path: printable ASCII without spaces at either end needs no more
  -- (one anchored class, and the last byte apart: cheaper than one pattern
  -- that backtracks to check it).
  if byte(v, -1) == 32 or not find(v, "^[!-~][ -~]*$") then
    if not records.valid_utf8(v) then return ctx:error(path, "not valid UTF-8", name) end
    v = v:match("^%s*(.-)%s*$")
  end
  if v == "" then
    if field.required then return ctx:error(path, "is required (empty)", name) end
    return v  -- the CDP takes "" for optional fields (NOTES.md)
  end
  if field.enum then
    local spellings = field.enum_spellings or enum_spellings(field)
    local canonical = spellings[v] or spellings[v:lower()]
    if not canonical then
      return ctx:error(path, ("must be one of %s: %s"):format(table.concat(field.enum, ", "), quote(v)), name)
    end
    v = canonical
  end
  if field.format then
    v = FORMATS[field.format](ctx, path, v, name)
    if v == nil then return nil end
  end
  if field.max and #v > field.max and length(v) > field.max then
    return ctx:error(path, ("longer than %d characters (%d)"):format(field.max, length(v)), name)
  end
  if t == "string" and #raw <= MEMO_LEN and (field.enum or field.format == "country") then
    if memo == nil then
      memo = {}
      field.memo, field.memo_size = memo, 0
    end
    local size = field.memo_size
    if size < MEMO_MAX then
      memo[raw], field.memo_size = v, size + 1
    end
  end
  return v
end

function TYPES.integer(ctx, path, v, _, name)
  if math_type and math_type(v) == "integer" then
    if v > -2 ^ 53 and v < 2 ^ 53 then return v end
  elseif type(v) == "string" then
    local s = v:match("^%s*(.-)%s*$")
    if s == "" then
      ctx:warn(path, "empty value for a number; left out", name)
      return nil
    end
    if not s:match("^[+-]?%d+$") or #s > 16 then
      return ctx:error(path, ("expected a whole number, got %s"):format(quote(s)), name)
    end
    v = tonumber(s)
  elseif type(v) ~= "number" then
    return ctx:error(path, "expected a whole number, got " .. describe(v), name)
  end
  if v ~= math.floor(v) or math.abs(v) >= 2 ^ 53 then
    return ctx:error(path, "expected a whole number, got " .. number_text(v), name)
  end
  return math.tointeger and math.tointeger(v) or v
end

function TYPES.digits(ctx, path, v, field, name)
  if type(v) == "number" then
    if v < 0 then return ctx:error(path, "expected digits, got " .. number_text(v), name) end
    return TYPES.integer(ctx, path, v, field, name)
  end
  if type(v) ~= "string" then return ctx:error(path, "expected digits, got " .. describe(v), name) end
  local s = v:match("^%s*(.-)%s*$")
  if s ~= "" and not s:match("^%d+$") then
    return ctx:error(path, ("expected digits, got %s"):format(quote(s)), name)
  end
  if field.max and #s > field.max then
    return ctx:error(path, ("longer than %d characters (%d)"):format(field.max, #s), name)
  end
  return s  -- a digit string stays a string: the CDP takes both (NOTES.md)
end

local BOOLEANS = { ["true"] = true, ["false"] = false, ["1"] = true, ["0"] = false }

function TYPES.boolean(ctx, path, v, _, name)
  if type(v) == "boolean" then return v end
  if type(v) == "number" and (v == 0 or v == 1) then return v == 1 end
  if type(v) == "string" then
    local b = BOOLEANS[v:match("^%s*(.-)%s*$"):lower()]
    if b ~= nil then return b end
    return ctx:error(path, ("expected true or false, got %s"):format(quote(v)), name)
  end
  return ctx:error(path, "expected true or false, got " .. describe(v), name)
end

local CONTENT_TYPES = document.content_types

function TYPES.document(ctx, parent, v, _, name)
  if document.is(v) then
    local ok, why = v:check()
    if not ok then return ctx:error(parent, why, name) end
    return v
  end
  local path = path_of(parent, name)
  if type(v) == "table" and v.base64_data ~= nil then
    -- The API's own shape, already encoded by the partner.
    local b64, ct = v.base64_data, v.content_type
    for k in pairs(v) do
      if k ~= "base64_data" and k ~= "content_type" then
        ctx:error(join(path, tostring(k)), "unknown field of a document (base64_data, content_type)")
      end
    end
    if type(b64) ~= "string" or b64 == "" or #b64 % 4 ~= 0 or not b64:match("^[%w+/]+=?=?$") then
      return ctx:error(join(path, "base64_data"), "not base64")
    end
    if not CONTENT_TYPES[ct] then
      return ctx:error(join(path, "content_type"), "must be image/jpeg, image/png or application/pdf")
    end
    return { base64_data = b64, content_type = ct }
  end
  return ctx:error(path, "expected a document (cdp.file, cdp.bytes or {base64_data, content_type}), got "
    .. describe(v))
end

-- Free keys to text (the onboarding error's `details`: field -> message).
function TYPES.map(ctx, parent, v, _, name)
  local path = path_of(parent, name)
  if type(v) ~= "table" or document.is(v) or v[1] ~= nil then
    return ctx:error(path, "expected an object, got " .. describe(v))
  end
  for k, x in pairs(v) do
    if type(k) ~= "string" or type(x) ~= "string" then
      return ctx:error(path, "expected names with text values")
    end
  end
  return v
end

local check_value

function TYPES.array(ctx, parent, v, field, name)
  if type(v) ~= "table" or document.is(v) then
    return ctx:error(parent, "expected a list, got " .. describe(v), name)
  end
  local path = child_path(parent, name)
  local n = #v
  for k in pairs(v) do
    if type(k) ~= "number" or k < 1 or k > n or k ~= math.floor(k) then
      return ctx:error(path, "expected a list, got " .. describe(v))
    end
  end
  if field.min_items and n < field.min_items then
    return ctx:error(path, ("needs at least %d item%s"):format(field.min_items, field.min_items > 1 and "s" or ""))
  end
  local out = {}
  for i = 1, n do
    out[i] = check_value(ctx, item_path(path, i), v[i], field.items)
  end
  return out
end

-- Quick checks, one a field: the value as the field's full check (TYPES)
-- would give it without a problem or a warning, or nil when the full check
-- must look (to trim, to respell, to report). They take the usual case, a
-- value already as it goes out, with less work and no path. Made on a
-- field's first use and kept on it (false: its type has none).
local QUICK = {}

-- Printable ASCII with no space at either end needs no trimming and no UTF-8
-- check (a single character is not taken here: it goes the long way).
local CLEAN_TEXT = "^[!-~][ -~]*[!-~]$"

local function clean_e164(s)
  return #s <= 16 and find(s, E164)
end

-- Text each format takes exactly as it is: each is clean text too. Phone
-- numbers only in E.164 (a local one warns). Countries and enumerations are
-- answered from what their full check kept (see MEMO_MAX).
local TAKEN_AS_IS = {
  date = date_parts,
  e164 = clean_e164,
  phone = clean_e164,
  email = function(s) return find(s, CLEAN_TEXT) and find(s, EMAIL) end,
  numeric = function(s) return find(s, "^%d+$") end,
}

function QUICK.string(field)
  local max, format = field.max or math.huge, field.format
  if field.enum or format == "country" then
    return function(v)
      local memo = field.memo
      if memo ~= nil then return memo[v] end
    end
  end
  if format == nil then  -- the most common: text taken as it is when clean
    return function(v)
      if type(v) == "string" and #v <= max and find(v, CLEAN_TEXT) then return v end
    end
  end
  local taken = TAKEN_AS_IS[format]
  if taken == nil then return false end
  return function(v)
    if type(v) == "string" and #v <= max and taken(v) then return v end
  end
end

function QUICK.integer()
  if not math_type then return false end  -- LuaJIT: no integers, the full check
  return function(v)
    if math_type(v) == "integer" and v > -2 ^ 53 and v < 2 ^ 53 then return v end
  end
end

local function quick_boolean(v)
  if v == true or v == false then return v end
  return BOOLEANS[v]  -- "true", "0"… as they are
end

function QUICK.boolean()
  return quick_boolean
end

local function quick_check(field)
  local make = QUICK[field.type]
  local quick = make and make(field) or false
  field.quick = quick
  return quick
end

local function required_count(spec)
  local n, fields = 0, spec.fields
  for i = 1, #fields do
    if fields[i].required then n = n + 1 end
  end
  spec.required_count = n
  return n
end

local object_in_order

function TYPES.object(ctx, parent, v, spec, name)
  local metatable = getmetatable(v)  -- a document has one; a plain table none
  if type(v) ~= "table" or (metatable ~= nil and document.is(v)) or (v[1] ~= nil) then
    return ctx:error(parent, "expected an object, got " .. describe(v), name)
  end
  local path = child_path(parent, name)
  if spec.flat_document and v.base64_data ~= nil then
    -- {base64_data, content_type, document_id}: the API's shape of an additional
    -- doc. Other keys come along, so that a stray one is reported, not dropped.
    local nested = {}
    for k, x in pairs(v) do
      if k ~= "base64_data" and k ~= "content_type" then nested[k] = x end
    end
    nested[spec.flat_document] = { base64_data = v.base64_data, content_type = v.content_type }
    v = nested
    metatable = nil
  end
  if metatable == nil then
    -- The usual case, a plain table without problems: only its own keys are
    -- visited (a customer has far fewer than the schema). Any problem, a
    -- warning too, and the object is done again field by field in schema
    -- order, so that what is reported and its order stay those of
    -- object_in_order; a metatable (whose __index could supply fields that
    -- pairs does not see) goes there directly.
    local errors, warnings = ctx.errors, ctx.warnings
    local ne, nw = #errors, #warnings
    local out, by_name, required, ok = {}, spec.by_name, 0, true
    for k, value in pairs(v) do
      local field = by_name[k]
      if field == nil then ok = false break end
      if value == NULL then
        if field.required then ok = false break end
        out[k] = NULL
      else
        if field.required then required = required + 1 end
        local quick, checked = field.quick, nil
        if quick == nil then quick = quick_check(field) end
        if quick then checked = quick(value) end
        if checked == nil then checked = TYPES[field.type](ctx, path, value, field, k) end
        out[k] = checked
      end
    end
    if ok and #errors == ne and #warnings == nw and required == (spec.required_count or required_count(spec)) then
      return out
    end
    for i = #errors, ne + 1, -1 do errors[i] = nil end
    for i = #warnings, nw + 1, -1 do warnings[i] = nil end
  end
  return object_in_order(ctx, path, v, spec)
end

-- Every field of the spec in schema order: unknown keys first, then each
-- field, present or not. This order is that of the errors and warnings.
function object_in_order(ctx, path, v, spec)
  local out, by_name, fields = {}, spec.by_name, spec.fields
  for k in pairs(v) do
    if not by_name[k] then
      local near = type(k) == "string" and suggestion(k, spec)
      ctx:error(path, near and ("unknown field; did you mean %s?"):format(near) or "unknown field", tostring(k))
    end
  end
  for i = 1, #fields do
    local field = fields[i]
    local field_name = field.name
    local value = v[field_name]
    if value == nil or value == NULL then
      if field.required then
        ctx:error(path, value == nil and "is required" or "is required (null given)", field_name)
      elseif value == NULL then
        out[field_name] = NULL  -- an explicit null goes out as null (NOTES.md)
      end
    else
      out[field_name] = TYPES[field.type](ctx, path, value, field, field_name)
    end
  end
  return out
end

function check_value(ctx, parent, v, field, name)
  return TYPES[field.type](ctx, parent, v, field, name)
end

-- The fast path: every value as it goes out, or nil the moment anything
-- would give an error or a warning (the full check, above, then starts over
-- and says what and where). Each object of the schema is compiled once into
-- one checker a field, kept on the schema; a checker takes a value and gives
-- what the full check would give, or nil. No path, no context, no message:
-- under Lua 5.4 a C call or a new table costs as much as a small check.
-- Only plain tables (no metatable) are visited, in pairs order, as the full
-- check's first pass does, so nothing is called here that it would not call.
local utf8_len = _VERSION == "Lua 5.4" and utf8.len

-- The full check of one leaf value, for what its checker (below) does not
-- take at once.
local function full_leaf(field, value)
  local ctx = setmetatable({ errors = {}, warnings = {} }, Context)
  local checked = TYPES[field.type](ctx, "", value, field, field.name)
  if #ctx.errors == 0 and #ctx.warnings == 0 then return checked end
end

-- Leaf checkers: a value that goes out as it is (or as a kept answer)
-- taken at once, anything else handed to the full check. One a type, made
-- from the field.
local LEAF_CHECKERS = {}

-- Text with no space at either end: one pattern whose `.*` costs little a
-- byte, then utf8.len for the UTF-8 check. LuaJIT has no utf8 library:
-- there, printable ASCII only (CLEAN_TEXT).
local TRIMMED = "^%S.*%S$"

-- Narrower than EMAIL, and clean text too, so that one pattern is enough:
-- ASCII letters, digits and ._+- before the @, letters after the last dot
-- (ranges, not %w and %a: those follow the locale).
local SIMPLE_EMAIL = "^[0-9A-Za-z._+-]+@[0-9A-Za-z.-]+%.[A-Za-z]+$"

function LEAF_CHECKERS.string(field)
  local max, format = field.max or math.huge, field.format
  if field.enum or format == "country" then
    return function(v)
      local memo = field.memo
      local known = memo and memo[v]
      if known ~= nil then return known end
      return full_leaf(field, v)
    end
  end
  if format == nil and utf8_len then
    return function(v)
      if type(v) == "string" and #v <= max and find(v, TRIMMED) and utf8_len(v) then return v end
      return full_leaf(field, v)
    end
  end
  local pattern = (format == nil and CLEAN_TEXT) or (format == "email" and SIMPLE_EMAIL)
  if pattern then
    return function(v)
      if type(v) == "string" and #v <= max and find(v, pattern) then return v end
      return full_leaf(field, v)
    end
  end
  if format == "e164" or format == "phone" then  -- E.164 only: a local number warns
    return function(v)
      if type(v) == "string" and #v <= max and #v <= 16 and find(v, E164) then return v end
      return full_leaf(field, v)
    end
  end
  local taken = TAKEN_AS_IS[format]
  if taken == nil then return nil end
  return function(v)
    if type(v) == "string" and #v <= max and taken(v) then return v end
    return full_leaf(field, v)
  end
end

-- Whole numbers 1 to 1023 (codes, types, counts) as themselves: under Lua
-- 5.4 a float key such as 4.0 finds the integer 4, what the full check
-- gives too. Not 0: LuaJIT finds 0 for -0.0, which its full check keeps.
local SMALL_INTEGERS = {}
for i = 1, 1023 do SMALL_INTEGERS[i] = i end

function LEAF_CHECKERS.integer(field)
  return function(v)
    local small = SMALL_INTEGERS[v]
    if small ~= nil then return small end
    if math_type and math_type(v) == "integer" and v > -2 ^ 53 and v < 2 ^ 53 then return v end
    return full_leaf(field, v)
  end
end

function LEAF_CHECKERS.boolean(field)
  return function(v)
    if v == true or v == false then return v end
    local b = BOOLEANS[v]  -- "true", "0"… as they are
    if b ~= nil then return b end
    return full_leaf(field, v)
  end
end

local function leaf_checker(field)
  local make = LEAF_CHECKERS[field.type]
  return make and make(field) or function(v) return full_leaf(field, v) end
end

local is_document = document.is

-- A document made by cdp.file or cdp.bytes that can be sent; anything else
-- (the API's own shape too) goes the full way.
local function document_checker()
  return function(v)
    if is_document(v) and v:check() then return v end
  end
end

local compile_object, fast_checker

-- With `in_place`, objects and lists are normalized in the tables given,
-- not copied.
local function array_checker(field, in_place)
  local min_items = field.min_items or 0
  local item_field = field.items
  local check_item
  return function(v)
    if type(v) ~= "table" or getmetatable(v) ~= nil then return nil end
    local n = #v
    if n < min_items then return nil end
    for k in next, v do
      if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then return nil end
    end
    check_item = check_item or fast_checker(item_field, in_place)
    local out = in_place and v or {}
    for i = 1, n do
      local checked = check_item(v[i])
      if checked == nil then return nil end
      out[i] = checked
    end
    return out
  end
end

-- A field's checker, made on first use and kept on the field (one that
-- copies, one that normalizes in place).
function fast_checker(field, in_place)
  local slot = in_place and "fast_checker_in_place" or "fast_checker"
  local checker = field[slot]
  if checker then return checker end
  local kind = field.type
  if kind == "object" then checker = compile_object(field, in_place)
  elseif kind == "array" then checker = array_checker(field, in_place)
  elseif kind == "document" then checker = document_checker()
  else checker = leaf_checker(field) end
  field[slot] = checker
  return checker
end

-- An object: its own keys only (a customer has far fewer than the schema),
-- each by its field's checker; every required field present, none null.
function compile_object(spec, in_place)
  local checkers, required, required_names = {}, {}, {}
  for _, field in ipairs(spec.fields) do
    -- made lazily: an object's fields may hold the object itself
    checkers[field.name] = function(v)
      local checker = fast_checker(field, in_place)
      checkers[field.name] = checker
      return checker(v)
    end
    if field.required then
      required[field.name] = true
      required_names[#required_names + 1] = field.name
    end
  end
  local flat_document = spec.flat_document
  return function(v)
    if type(v) ~= "table" or getmetatable(v) ~= nil or v[1] ~= nil then return nil end
    if flat_document and v.base64_data ~= nil then return nil end
    local out = in_place and v or {}
    for k, value in next, v do  -- no metatable: no __pairs
      local check = checkers[k]
      if check == nil then return nil end
      if value == NULL then
        if required[k] then return nil end
        out[k] = NULL
      else
        local checked = check(value)
        if checked == nil then return nil end
        -- In place, always written: 4 == 4.0, but the integer is what the
        -- copy holds. An existing field set while `next` walks the table is
        -- what Lua allows.
        out[k] = checked
      end
    end
    -- fewer required fields than keys: looked up afterwards (never null by then)
    for i = 1, #required_names do
      if out[required_names[i]] == nil then return nil end
    end
    return out
  end
end

--- The fast check of a field that is neither an object nor an array, as
-- the check of an object runs it on that field's value: the value
-- normalized, or nil when it needs the full check (a problem, a warning).
-- cdp.mapping runs it on the values it makes, as it makes them.
function validate.leaf_checker(field)
  if field.type == "object" or field.type == "array" then
    error("validate.leaf_checker: " .. tostring(field.name) .. " is not a leaf", 2)
  end
  return fast_checker(field, true)
end

--- Check `value` against `spec` (an object of cdp.schema). Returns the
-- normalized copy, the list of errors and the list of warnings.
-- `in_place`: the tables of `value` were made for this check alone and
-- nothing else holds them (cdp.mapping's own output): a value without
-- problems is normalized in them and returned, not copied. Normalizing is
-- idempotent, so a value that then fails is checked the full way as usual.
function validate.check(value, spec, in_place)
  local out = fast_checker(spec, in_place and true or false)(value)
  if out ~= nil then return out, {}, {} end
  local ctx = setmetatable({ errors = {}, warnings = {} }, Context)
  out = check_value(ctx, "", value, spec)
  return out, ctx.errors, ctx.warnings
end

validate.Context = Context

return validate
