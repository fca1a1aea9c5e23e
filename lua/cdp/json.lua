--- cdp.json: an ordered JSON writer for request bodies and renders.
-- lua-cjson decodes; it cannot write these bodies: it loses integers above
-- 14 digits, writes an empty table as {}, orders keys at random and would
-- hold every document's base64 in memory. This writer walks a value with its
-- schema (cdp.schema): keys in schema order, integers exact, arrays as [],
-- explicit nulls kept, and each document handed to a callback.
local cjson = require "cjson"
local valid_utf8 = require("cdp.records").valid_utf8

local json = {}

--- The explicit JSON null (the same value lua-cjson decodes `null` to).
json.null = cjson.null

local concat = table.concat
local find = string.find
local type = type

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

-- A text without anything to escape: printable ASCII but `"` and `\`, as
-- one anchored class (much cheaper than searching for what needs escaping).
-- Its ranges are `]`..`~`, `#`..`[`, then space and `!`: the one holding the
-- lower case letters comes first, as it is tried first for each byte.
local PLAIN = '^[]-~#-[ !]*$'

--- A JSON string literal: `"`, `\` and control characters (DEL too) escaped,
-- everything else as it is. The text must be valid UTF-8: the validator
-- refuses anything else at the field's path, so invalid bytes here are a
-- misuse and raise rather than put a body on the wire that the CDP cannot
-- read (no silent U+FFFD replacement: that would change a customer's name).
function json.string(s)
  if find(s, PLAIN) then return '"' .. s .. '"' end  -- the usual case
  if not valid_utf8(s) then error("cdp.json: text is not valid UTF-8", 2) end
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

--- A JSON number; whole numbers as their exact digits, whatever their size
-- (lua-cjson writes 7.8419955458609e+14). "%.0f" prints a whole float's exact
-- value on both ABIs; LuaJIT's "%d" would overflow above 2^63.
function json.number(n)
  if n ~= n or n == math.huge or n == -math.huge then error("cdp.json: cannot write " .. tostring(n)) end
  if math.type and math.type(n) == "integer" then return ("%d"):format(n) end
  if n == math.floor(n) then return ("%.0f"):format(n) end
  local short = ("%.14g"):format(n)  -- 0.1, not 0.10000000000000001, when that is exact
  if tonumber(short) == n then return short end
  return ("%.17g"):format(n)
end

local write_value
local NULL = json.null

-- The digits of 1 to 1023, where codes are (ID type 4, resident type 101):
-- a look-up costs a fraction of string.format. 0 is left out: -0.0 would
-- find its entry, and is written "-0".
local SMALL_WHOLE = {}
-- (tostring of a whole number this small is json.number's text, made for
-- less at load: the loop's i is an integer under Lua 5.4.)
for i = 1, 1023 do SMALL_WHOLE[i] = tostring(i) end

-- What an object's last member left behind picks the next key's form:
-- nothing yet (`{"name":`: the opening brace goes out with the first
-- member), a value (`,"name":`) or a text whose closing quote is still to
-- write (`","name":`: one piece fewer a text).
local OPENED, AFTER_VALUE, AFTER_TEXT = 1, 2, 3
local SEPARATOR = { "{", ",", '",' }
local CLOSE = { "{}", "}", '"}' }

-- How an object's member is written, decided once per field: text (its
-- usual value written in place), text of a code field (the same, its plain
-- values kept), a list, an object, the flat document of the object, a
-- document, or anything else (numbers, booleans).
local TEXT, CODE, ARRAY, OBJECT, FLAT, DOCUMENT, OTHER = 1, 2, 3, 4, 5, 6, 7
local KIND_OF_TYPE = { string = TEXT, array = ARRAY, object = OBJECT, document = DOCUMENT }

-- What a boolean, a null or a small whole number is written as.
local WORD = { [true] = "true", [false] = "false", [NULL] = "null" }
for i = 1, #SMALL_WHOLE do WORD[i] = SMALL_WHOLE[i] end

-- Values that come again and again (a code field's plain texts: an enum, a
-- country, a currency; and the words above) are written as one piece with
-- their key, made on first use and kept on the plan, up to 256 a field: a
-- look-up costs much less than type(), the pattern test and one more piece
-- to join. Only those fields, as in cdp.validate: no name, ID number or
-- e-mail outlives its customer here.
local KEPT_MAX = 256
local CODE_FORMATS = { country = true, currency = true }

-- An object's plan, made on its first write and kept on the schema object:
-- for each field its name, its kind, its key in the three forms above
-- (keys) and the same with a text's opening quote (text_keys), and its kept
-- members (false for a field that keeps none), so writing a member is a few
-- look-ups, not string building.
local function plan_of(spec)
  local plan = { names = {}, kinds = {}, keys = {}, text_keys = {}, members = {}, kept = {},
    fields = spec.fields, count = #spec.fields }
  for i = 1, plan.count do
    local field = spec.fields[i]
    local name = field.name
    local key = json.string(name) .. ":"
    plan.names[i] = name
    plan.keys[i] = { "{" .. key, "," .. key, '",' .. key }
    plan.text_keys[i] = { "{" .. key .. '"', "," .. key .. '"', '",' .. key .. '"' }
    local kind = KIND_OF_TYPE[field.type] or OTHER
    if kind == TEXT and (field.enum ~= nil or CODE_FORMATS[field.format]) then kind = CODE end
    if name == spec.flat_document then kind = FLAT end
    plan.kinds[i] = kind
    plan.members[i] = (kind == CODE or kind == OTHER) and {}
    plan.kept[i] = 0
  end
  spec.json_plan = plan
  return plan
end

-- The member `v` of field i in one piece, by the key's three forms, and
-- what it leaves behind ([4]); nil when `v` is not a plain code or a word.
local function member_of(plan, i, v)
  local member
  if plan.kinds[i] == CODE then
    if type(v) ~= "string" or not find(v, PLAIN) then return nil end
    local keys = plan.text_keys[i]
    member = { keys[1] .. v, keys[2] .. v, keys[3] .. v, AFTER_TEXT }
  else
    local word = WORD[v]
    if not word then return nil end
    local keys = plan.keys[i]
    member = { keys[1] .. word, keys[2] .. word, keys[3] .. word, AFTER_VALUE }
  end
  if plan.kept[i] < KEPT_MAX then
    plan.members[i][v] = member
    plan.kept[i] = plan.kept[i] + 1
  end
  return member
end

local write_array

-- The writer puts pieces in `text` at `n` and returns the new `n`; the
-- buffer's own `n` is brought up to date only around on_document, which
-- writes through the buffer's methods.
local function write_object(out, text, n, value, spec, on_document)
  local plan = spec.json_plan or plan_of(spec)
  local names, kinds, keys, text_keys, members = plan.names, plan.kinds, plan.keys, plan.text_keys, plan.members
  local after = OPENED
  for i = 1, plan.count do
    local v = value[names[i]]
    if v ~= nil then
      local kind = kinds[i]
      if kind == TEXT and type(v) == "string" and find(v, PLAIN) then
        -- The usual value, written here rather than through write_value.
        text[n + 1], text[n + 2] = text_keys[i][after], v
        n = n + 2
        after = AFTER_TEXT
      else
        local kept = members[i]
        local member = kept and (kept[v] or member_of(plan, i, v))
        if member then
          n = n + 1
          text[n] = member[after]
          after = member[4]
        elseif kind == FLAT then
          -- {document = d, document_id = …} goes out as {base64_data, content_type, document_id}
          n = n + 1
          text[n] = SEPARATOR[after]
          out.n = n
          on_document(out, v, true)
          n = out.n
          after = AFTER_VALUE
        else
          n = n + 1
          text[n] = keys[i][after]
          if kind == DOCUMENT and v ~= NULL then
            out.n = n
            on_document(out, v, false)
            n = out.n
          elseif kind == OBJECT and type(v) == "table" then
            n = write_object(out, text, n, v, plan.fields[i], on_document)
          elseif kind == ARRAY and type(v) == "table" then
            n = write_array(out, text, n, v, plan.fields[i], on_document)
          else
            n = write_value(out, text, n, v, plan.fields[i], on_document)
          end
          after = AFTER_VALUE
        end
      end
    end
  end
  n = n + 1
  text[n] = CLOSE[after]
  return n
end

-- A list (a table) by its array spec: objects written straight away.
function write_array(out, text, n, list, spec, on_document)
  local items = spec.items
  local objects = items ~= nil and items.type == "object"
  n = n + 1
  text[n] = "["
  for i = 1, #list do
    if i > 1 then n = n + 1 text[n] = "," end
    local item = list[i]
    if objects and type(item) == "table" then
      n = write_object(out, text, n, item, items, on_document)
    else
      n = write_value(out, text, n, item, items, on_document)
    end
  end
  n = n + 1
  text[n] = "]"
  return n
end

function write_value(out, text, n, v, spec, on_document)
  if v == NULL then n = n + 1 text[n] = "null" return n end
  if spec and spec.type == "document" then
    out.n = n
    on_document(out, v, false)
    return out.n
  end
  local t = type(v)
  if t == "string" then
    if find(v, PLAIN) then
      text[n + 1], text[n + 2], text[n + 3] = '"', v, '"'
      return n + 3
    end
    n = n + 1
    text[n] = json.string(v)
    return n
  end
  if t == "number" then n = n + 1 text[n] = SMALL_WHOLE[v] or json.number(v) return n end
  if t == "boolean" then n = n + 1 text[n] = v and "true" or "false" return n end
  if t ~= "table" then error("cdp.json: cannot write a " .. t) end
  if spec and spec.type == "array" then return write_array(out, text, n, v, spec, on_document) end
  if spec and spec.type == "object" then return write_object(out, text, n, v, spec, on_document) end
  error("cdp.json: a table where the schema has no object or array")
end

-- A new text list with room for 128 pieces (a customer's body before its
-- first document takes about 70): growing one from empty costs 5% of the
-- writing under Lua 5.4, 15% under LuaJIT, and Lua 5.4 has no table.new.
local new_text = assert(load("return {" .. ("nil,"):rep(128) .. "}"))

-- Collects text pieces and, between them, non-string parts (documents).
-- Its text list is reused after each part: only text[1..n] counts.
local Buffer = {}
Buffer.__index = Buffer

-- Up to six pieces at a time, without varargs.
-- The count is kept, not taken with # (the list is reused, so # is wrong).
function Buffer:put(a, b, c, d, e, f)
  local text, n = self.text, self.n
  text[n + 1] = a
  if b == nil then self.n = n + 1 return end
  text[n + 2] = b
  if c == nil then self.n = n + 2 return end
  text[n + 3] = c
  if d == nil then self.n = n + 3 return end
  text[n + 4] = d
  if e == nil then self.n = n + 4 return end
  text[n + 5] = e
  if f == nil then self.n = n + 5 return end
  text[n + 6] = f
  self.n = n + 6
end

function Buffer:part(p)
  self:flush()
  self.parts[#self.parts + 1] = p
end

function Buffer:flush()
  if self.n > 0 then
    self.parts[#self.parts + 1] = concat(self.text, "", 1, self.n)
    self.n = 0
  end
end

--- Write `value` by `spec`. `on_document(buffer, doc, flat)` writes each
-- document: with `flat`, its members only (the caller has opened the object).
-- Returns the list of parts: strings, and whatever on_document passed to
-- buffer:part (adjacent strings are merged).
function json.encode_parts(value, spec, on_document)
  local out = setmetatable({ text = new_text(), n = 0, parts = {} }, Buffer)
  out.n = write_value(out, out.text, 0, value, spec, on_document)
  out:flush()
  return out.parts
end

--- Write `value` by `spec` into one string (documents through on_document).
function json.encode(value, spec, on_document)
  local parts = json.encode_parts(value, spec, on_document)
  for _, p in ipairs(parts) do
    if type(p) ~= "string" then error("cdp.json.encode: a document part in a string encode") end
  end
  return concat(parts)
end

return json
