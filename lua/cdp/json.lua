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

local find = string.find

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

--- A JSON string literal: `"`, `\` and control characters (DEL too) escaped,
-- everything else as it is. The text must be valid UTF-8: the validator
-- refuses anything else at the field's path, so invalid bytes here are a
-- misuse and raise rather than put a body on the wire that the CDP cannot
-- read (no silent U+FFFD replacement: that would change a customer's name).
function json.string(s)
  if not find(s, '[%c"\\\128-\255]') then return '"' .. s .. '"' end  -- plain ASCII: the usual case
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

-- `"name":`, written once per schema field and kept on it.
local function key_of(field)
  local key = field.json_key
  if not key then
    key = json.string(field.name) .. ":"
    field.json_key = key
  end
  return key
end

local function write_object(out, value, spec, on_document)
  out:put("{")
  local first = true
  local flat = spec.flat_document
  local fields = spec.fields
  for i = 1, #fields do
    local field = fields[i]
    local v = value[field.name]
    if v ~= nil then
      if not first then out:put(",") end
      first = false
      if field.name == flat then
        -- {document = d, document_id = …} goes out as {base64_data, content_type, document_id}
        on_document(out, v, true)
      else
        out:put(key_of(field))
        write_value(out, v, field, on_document)
      end
    end
  end
  out:put("}")
end

function write_value(out, v, spec, on_document)
  if v == json.null then return out:put("null") end
  local t = type(v)
  if spec and spec.type == "document" then return on_document(out, v, false) end
  if t == "string" then return out:put(json.string(v)) end
  if t == "number" then return out:put(json.number(v)) end
  if t == "boolean" then return out:put(v and "true" or "false") end
  if t ~= "table" then error("cdp.json: cannot write a " .. t) end
  if spec and spec.type == "array" then
    out:put("[")
    for i = 1, #v do
      if i > 1 then out:put(",") end
      write_value(out, v[i], spec.items, on_document)
    end
    return out:put("]")
  end
  if spec and spec.type == "object" then return write_object(out, v, spec, on_document) end
  error("cdp.json: a table where the schema has no object or array")
end

-- Collects text pieces and, between them, non-string parts (documents).
local Buffer = {}
Buffer.__index = Buffer

-- Up to six pieces at a time, without varargs: this runs for every value.
-- The count is kept, not taken with # (a search on every call).
function Buffer:put(a, b, c, d, e, f)
  local text, n = self.text, self.n
  text[n + 1] = a
  if b == nil then self.n = n + 1 return end
  text[n + 2], text[n + 3], text[n + 4], text[n + 5], text[n + 6] = b, c, d, e, f
  self.n = #text
end

function Buffer:part(p)
  self:flush()
  self.parts[#self.parts + 1] = p
end

function Buffer:flush()
  if self.n > 0 then
    self.parts[#self.parts + 1] = table.concat(self.text, "", 1, self.n)
    self.text, self.n = {}, 0
  end
end

--- Write `value` by `spec`. `on_document(buffer, doc, flat)` writes each
-- document: with `flat`, its members only (the caller has opened the object).
-- Returns the list of parts: strings, and whatever on_document passed to
-- buffer:part (adjacent strings are merged).
function json.encode_parts(value, spec, on_document)
  local out = setmetatable({ text = {}, n = 0, parts = {} }, Buffer)
  write_value(out, value, spec, on_document)
  out:flush()
  return out.parts
end

--- Write `value` by `spec` into one string (documents through on_document).
function json.encode(value, spec, on_document)
  local parts = json.encode_parts(value, spec, on_document)
  for _, p in ipairs(parts) do
    if type(p) ~= "string" then error("cdp.json.encode: a document part in a string encode") end
  end
  return table.concat(parts)
end

return json
