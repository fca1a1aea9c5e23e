--- cdp.customer: a customer for onboarding, validated before anything is sent.
--
--   local c, err = cdp.customer(t [, { rules = {…}, record = rec }])
--   -- err.kind == "validation"; err.errors = { {path = "id_details[2].date_of_expiry", message = …}, … }
--   c.data       -- the normalized table (what goes on the wire)
--   c.warnings   -- values the CDP takes but that look wrong, same shape as errors
--   c:render()   -- the JSON that would be sent, documents as {content_type, size, sha256}
--   c:parts()    -- the wire body: strings of JSON and documents (their base64 goes between)
--
-- Partner rules are functions `(customer_data, record) -> true | nil, message`
-- that run once the schema checks pass, and report like any other error.
local core = require "cdp.core"
local document = require "cdp.document"
local errors = require "cdp.errors"
local json = require "cdp.json"
local schema = require "cdp.schema"
local validate = require "cdp.validate"

local customer = {}

local Customer = {}
Customer.__index = Customer

-- Today's date (UTC), formatted again only when the clock's second has
-- changed: one time() a customer rather than one strftime.
local today_time, today_text

local function today()
  local now = os.time()
  if now ~= today_time then
    today_time, today_text = now, os.date("!%Y-%m-%d", now)
  end
  return today_text
end

-- "2 passport, 4 Emirates ID, …": a code list for a message, in code order.
local function codes(list)
  local keys, out = {}, {}
  for code in pairs(list) do keys[#keys + 1] = code end
  table.sort(keys)
  for i, code in ipairs(keys) do out[i] = code .. " " .. list[code] end
  return table.concat(out, ", ")
end

local function id_path(i, name)
  return ("id_details[%d]."):format(i) .. name
end

-- Checks across fields, after the schema's own. Dates are YYYY-MM-DD, so
-- string order is date order.
local function cross_checks(ctx, data, now)
  local dob = data.date_of_birth
  if type(dob) == "string" and validate.date(dob) and dob >= now then
    ctx:error("date_of_birth", "must be in the past")
  end
  local resident = data.resident_type_id
  if type(resident) == "number" and not schema.RESIDENT_TYPES[resident] then
    ctx:warn("resident_type_id", "not a resident type seen in partner code (" .. codes(schema.RESIDENT_TYPES) .. ")")
  end
  local has_front = false
  for i, id in ipairs(type(data.id_details) == "table" and data.id_details or {}) do
    if type(id) == "table" then
      -- Each date is checked once; a path is made only for a problem.
      local id_type = id.id_type
      if type(id_type) == "number" and not schema.ID_TYPES[id_type] then
        ctx:warn(id_path(i, "id_type"), "not an ID type seen in partner code (" .. codes(schema.ID_TYPES) .. ")")
      elseif id_type == schema.EMIRATES_ID_TYPE and type(id.id_number) == "string"
        and not id.id_number:find(schema.EMIRATES_ID_NUMBER) then
        ctx:warn(id_path(i, "id_number"), "an Emirates ID number has 15 digits and starts with 784")
      end
      local issued, expiry = id.issued_on, id.date_of_expiry
      local issued_ok = type(issued) == "string" and validate.date(issued) ~= nil
      local expiry_ok = type(expiry) == "string" and validate.date(expiry) ~= nil
      if issued_ok and expiry_ok and expiry <= issued then
        ctx:error(id_path(i, "date_of_expiry"), "must be after issued_on (" .. issued .. ")")
      end
      if issued_ok and issued > now then
        ctx:error(id_path(i, "issued_on"), "is in the future")
      end
      if id.id_front ~= nil and id.id_front ~= json.null then has_front = true end
      if expiry_ok and expiry < now then
        ctx:warn(id_path(i, "date_of_expiry"), "the ID has expired")
      end
    end
  end
  if type(data.id_details) == "table" and #data.id_details > 0 and not has_front then
    ctx:error("id_details", "at least one ID needs a front image (id_front)")
  end
end

local function run_rules(ctx, rules, data, record)
  for i, rule in ipairs(rules) do
    local ok, passed, message = pcall(rule, data, record)
    if not ok then
      ctx:error("rules[" .. i .. "]", "rule raised an error: " .. tostring(passed))
    elseif not passed then
      ctx:error("rules[" .. i .. "]", tostring(message or "rule failed"))
    end
  end
end

local function summary(list)
  local first = list[1]
  local where = first.path ~= "" and first.path or "customer"
  if #list == 1 then return ("invalid customer: %s: %s"):format(where, first.message) end
  return ("invalid customer: %d problems, first %s: %s"):format(#list, where, first.message)
end

local function check_rules(opts)
  if opts.rules ~= nil and type(opts.rules) ~= "table" then error("cdp.customer: rules must be a list", 3) end
  for i, rule in ipairs(opts.rules or {}) do
    if type(rule) ~= "function" then error("cdp.customer: rules[" .. i .. "] is not a function", 3) end
  end
end

-- The rest of customer.new, once the schema's check has given `data`.
local function made(data, errs, warnings, opts)
  local ctx = setmetatable({ errors = errs, warnings = warnings }, validate.Context)
  if #errs == 0 then cross_checks(ctx, data, opts.today or today()) end
  if #errs == 0 then run_rules(ctx, opts.rules or {}, data, opts.record) end
  if #errs > 0 then
    return nil, errors.new { kind = "validation", message = summary(errs), errors = errs, warnings = warnings }
  end
  return setmetatable({ data = data, warnings = warnings }, Customer)
end

--- Build a customer from `t`. Returns the customer, or nil and a validation
-- error listing every problem. `opts.rules`: partner rules; `opts.record`:
-- the source record, passed to the rules; `opts.today`: YYYY-MM-DD (tests);
-- `opts.owned`: `t` and its tables were made for this customer alone and
-- nothing else holds them (cdp.mapping's), so validation may normalize them
-- in place rather than copy them.
function customer.new(t, opts)
  if customer.is(t) then return t end
  if type(t) ~= "table" then error("cdp.customer: a table expected", 2) end
  opts = opts or {}
  check_rules(opts)
  local data, errs, warnings = validate.check(t, schema.customer, opts.owned)
  return made(data, errs, warnings, opts)
end

-- For cdp.mapping alone: `t` was made by its readers, which ran
-- validate.check's fast check on every value as they made it, and every
-- value passed: validate.check would return `t` itself, without problems.
-- The checks across fields and the rules run as in customer.new.
function customer._checked(t, opts)
  check_rules(opts)
  return made(t, {}, {}, opts)
end

function customer.is(v)
  return getmetatable(v) == Customer
end

--- The first ID (type, number): how an onboarding of unknown outcome is looked up.
function Customer:first_id()
  local id = self.data.id_details[1]
  return id.id_type, id.id_number
end

-- What comes before a document's base64 (the object opened, or only its
-- members when flat) and what follows it, `","content_type":"image/jpeg"}`
-- and the like: made once for each content type the CDP takes.
local BEFORE_BASE64 = { [false] = '{"base64_data":"', [true] = '"base64_data":"' }
local AFTER_BASE64 = { [false] = {}, [true] = {} }
for _, content_type in ipairs(schema.CONTENT_TYPES) do
  local members = '","content_type":' .. json.string(content_type)
  AFTER_BASE64[false][content_type], AFTER_BASE64[true][content_type] = members .. "}", members
end

-- A document as {base64_data, content_type}, with `flat` its members only:
-- the text before its bytes, the document itself standing for them, and the
-- text after (core.json_parts's on_document; the C writer gives the same
-- pieces itself for a document of a type the CDP takes, or opened only when
-- sent, without calling this). A file opened only when sent never has its
-- type here, even once it has one: the C core finds it each time it opens
-- the file to send it, and writes `","content_type":"…"` after the base64
-- itself. A raw {base64_data, content_type} table is text only.
local function document_pieces(doc, flat)
  if document.is(doc) then
    if doc.opened_when_sent then return BEFORE_BASE64[flat], doc, not flat and "}" or nil end
    local content_type = doc.content_type
    return BEFORE_BASE64[flat], doc, AFTER_BASE64[flat][content_type]
      or '","content_type":' .. json.string(content_type) .. (flat and "" or "}")
  end
  local open, close = "{", "}"
  if flat then open, close = "", "" end
  return open .. '"base64_data":' .. json.string(doc.base64_data)
    .. ',"content_type":' .. json.string(doc.content_type) .. close
end

--- The request body as parts: JSON text (strings) and documents, each
-- document standing for the base64 of its bytes between two quotes. Written
-- by the C core as cdp.json writes it (one body per record: the Lua writer
-- cost `submit` a tenth of its CPU).
function Customer:parts()
  return core.json_parts(self.data, schema.customer, json.null, document_pieces, json.number, document._metatable)
end

local BASE64_VALUE = {}
do
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  for i = 1, 64 do BASE64_VALUE[alphabet:byte(i)] = i - 1 end
end

local function decode_group(group)
  local a, b, c, d = group:byte(1, 4)
  local n = BASE64_VALUE[a] * 262144 + BASE64_VALUE[b] * 4096
    + (c and BASE64_VALUE[c] or 0) * 64 + (d and BASE64_VALUE[d] or 0)
  local x, y, z = math.floor(n / 65536), math.floor(n / 256) % 256, n % 256
  if d then return string.char(x, y, z) end
  if c then return string.char(x, y) end
  return string.char(x)
end

-- The bytes of validated base64 (render only: a raw document's placeholder
-- then shows the same size and SHA-256 as the file it was made from).
local function base64_decode(b64)
  return (b64:gsub("=", ""):gsub("[%w+/][%w+/][%w+/]?[%w+/]?", decode_group))
end

local function placeholder(out, doc, flat)
  local ct, size, sha
  if document.is(doc) then
    ct = doc.content_type
    sha, size = doc:digest()
    if not sha then error("cdp.customer:render: " .. tostring(size)) end
  else
    local bytes = base64_decode(doc.base64_data)
    ct, size, sha = doc.content_type, #bytes, core.sha256(bytes)
  end
  if not flat then out:put("{") end
  out:put('"content_type":', json.string(ct), ',"size":', json.number(size), ',"sha256":', json.string(sha))
  if not flat then out:put("}") end
end

--- The JSON that would be sent, keys in schema order, each document shown
-- as {content_type, size, sha256}: for diffing a mapping's output.
function Customer:render()
  return json.encode(self.data, schema.customer, placeholder)
end

function Customer:__tostring()
  return "cdp.customer(" .. tostring(self.data.first_name) .. " " .. tostring(self.data.last_name) .. ")"
end

return setmetatable(customer, { __call = function(_, ...) return customer.new(...) end })
