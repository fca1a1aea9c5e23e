--- The sandbox's own validation of onboarding payloads, written from the API
-- document and NOTES.md and independent of the SDK's validator. It collects
-- one `details` entry per bad field (key: the camelCase path), the decoded
-- documents (size and SHA-256 per slot) and master-data failures (45053).
local json = require "cdp.sandbox.app.json"
local masterdata = require "cdp.sandbox.app.masterdata"
local digest = require "cdp.sandbox.app.digest"

local validate = {}

validate.CONTENT_TYPES = { ["image/jpeg"] = true, ["image/png"] = true, ["application/pdf"] = true }

-- Field rules. t: string, int, int_or_digits, bool, date, country, currency,
-- e164, phone, email, doc, object, array. max: length in characters.
local ADDITIONAL_DOC = { t = "doc", document_id = true }

local ADDRESS = { t = "object", fields = {
  { "address_type_id", t = "int_or_digits", required = true },
  { "building_name", t = "string", max = 255 },
  { "street_name", t = "string", max = 255 },
  { "landmark", t = "string", max = 255 },
  { "city", t = "string", max = 60 },
  { "district", t = "string", max = 255 },
  { "state", t = "string", max = 255 },
  { "country", t = "country" },
  { "zip", t = "int_or_digits" },          -- production clients send "40000"
  { "po_box", t = "int_or_digits" },
  { "mobile_number", t = "phone" },        -- local numbers are accepted
} }

local ID_DETAIL = { t = "object", fields = {
  { "id_type", t = "int", required = true },
  { "id_number", t = "string", max = 30, required = true },
  { "visa_number", t = "string", max = 30 },
  { "visa_expiry_date", t = "date" },
  { "name_as_per_id", t = "string", max = 255 },
  { "issued_country", t = "country" },
  { "issued_by", t = "string", max = 100 },
  { "issued_at", t = "string", max = 100 },
  { "issued_on", t = "date" },
  { "date_of_expiry", t = "date" },
  { "default_status", t = "bool" },
  { "active_status", t = "bool" },
  { "id_front", t = "doc" },
  { "id_back", t = "doc" },
} }

local SOCIAL_LINK = { t = "object", fields = {
  { "social_links_id", t = "int" },
  { "text_field", t = "string", max = 255 },
} }

local CLASSIFICATION = { t = "object", fields = {
  { "customer_type_id", t = "int" },
  { "annual_income_range_id", t = "int" },
  { "annual_income_currency_code", t = "currency" },
  { "social_security_number", t = "string", max = 50 },
  { "tax_registration_number", t = "int_or_digits" },
  { "txn_issued_country", t = "country" },
  { "employer_name", t = "string", max = 255 },
  { "employer_address", t = "string", max = 255 },
  { "employer_phone", t = "phone" },
  { "employer_ecrn", t = "string", max = 20 },
  { "employer_establishment_id", t = "string", max = 50 },
  { "risk_rating_id", t = "int" },
  { "pep_category", t = "int" },
  { "personal_mohre_id", t = "string", max = 50 },
  { "income_type", t = "int" },
  { "profession_category", t = "string", max = 50 },
  { "reason_for_acc", t = "string", max = 255 },
  { "txn_vol_month", t = "int" },
  { "txn_count_month", t = "int" },
  { "show_remarks_on_txn", t = "bool" },
  { "customer_remarks", t = "string", max = 255 },
  { "agent_ref_no", t = "string", max = 50 },
  { "social_links", t = "array", items = SOCIAL_LINK },
  { "first_language", t = "string", max = 10 },
  { "marital_status", t = "int" },
  { "dnfbp", t = "bool" },
  { "dpms", t = "bool" },
  { "profile_category", t = "int" },
  { "profile_photo", t = "doc" },
} }

validate.ONBOARDING = { t = "object", fields = {
  { "ecrn", t = "digits", min = 16, max = 20 },
  { "channel", t = "string", max = 20, required = true },
  { "salutation", t = "string", max = 3 },
  { "first_name", t = "string", max = 100, required = true },
  { "middle_name", t = "string", max = 60 },
  { "last_name", t = "string", max = 60, required = true },
  { "preferred_name", t = "string", max = 255 },
  { "nationality", t = "country", required = true },
  { "second_nationality", t = "country" },
  { "native_region", t = "int" },
  { "date_of_birth", t = "date", required = true, past = true },
  { "country_of_birth", t = "country", required = true },
  { "place_of_birth", t = "string", max = 40 },
  { "resident_type_id", t = "int", required = true },
  { "country_of_residence", t = "country", required = true },
  { "gender", t = "string", max = 12, required = true },
  { "mothers_maiden_name", t = "string", max = 255 },
  { "primary_mobile_number", t = "e164", required = true },
  { "secondary_mobile_number", t = "phone" },
  { "email_id", t = "email", max = 255, required = true },
  { "phone_number", t = "phone" },          -- production clients send local landlines
  { "occupation_id", t = "int" },
  { "political_exposed_person", t = "bool" },
  { "updated_by", t = "string", max = 50 },
  { "agent_location_id", t = "string", max = 60 },
  { "additional_docs", t = "array", items = ADDITIONAL_DOC },
  { "address_list", t = "array", items = ADDRESS, required = true, min_items = 1 },
  { "id_details", t = "array", items = ID_DETAIL, required = true, min_items = 1 },
  { "customer_classification", t = CLASSIFICATION.t, fields = CLASSIFICATION.fields },
} }

local function camel(name)
  return (name:gsub("_(%w)", string.upper))
end

local function words(name)
  return (name:gsub("_", " "))
end

local function utf8_len(s)
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

local function is_int(v)
  return type(v) == "number" and v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53
end

local DAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

local function real_date(s)
  local y, m, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if not y or m < 1 or m > 12 or d < 1 or y < 1900 then return false end
  local max = DAYS[m]
  if m == 2 and (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) then max = 29 end
  return d <= max
end

-- Each checker returns nil when fine, or a reason ("" for plain "Invalid x").
local CHECK = {}

function CHECK.string(v, rule)
  if type(v) ~= "string" then return "" end
  if rule.max and utf8_len(v) > rule.max then return "longer than " .. rule.max .. " characters" end
end

function CHECK.digits(v, rule)
  if type(v) ~= "string" or not v:match("^%d+$") then return "" end
  if #v < rule.min or #v > rule.max then return "must have " .. rule.min .. " to " .. rule.max .. " digits" end
end

function CHECK.int(v)
  if not is_int(v) then return "" end
end

function CHECK.int_or_digits(v)
  if is_int(v) then return nil end
  if type(v) == "string" and v:match("^%d+$") and #v <= 20 then return nil end
  return ""
end

function CHECK.bool(v)
  if type(v) ~= "boolean" then return "" end
end

function CHECK.date(v, rule)
  if type(v) ~= "string" or not real_date(v) then return "not a YYYY-MM-DD calendar date" end
  if rule.past and v > os.date("!%Y-%m-%d") then return "in the future" end
end

function CHECK.country(v)
  if type(v) ~= "string" then return "" end
  -- Well-formed but unknown codes are a master-data failure (45053), not 40002.
end

function CHECK.currency(v)
  if type(v) ~= "string" or not masterdata.currencies[v] then return "not an ISO 4217 code" end
end

function CHECK.e164(v)
  if type(v) ~= "string" or not v:match("^%+[1-9]%d+$") or #v < 8 or #v > 16 then
    return "not an E.164 number (+ and 7 to 15 digits)"
  end
end

function CHECK.phone(v)
  if type(v) ~= "string" or #v > 20 or not v:match("^%+?[%d%s%-%(%)]+$") then return "" end
  if select(2, v:gsub("%d", "")) < 3 then return "" end
end

function CHECK.email(v, rule)
  if type(v) ~= "string" or not v:match("^[^@%s]+@[^@%s]+%.[^@%s]+$") then return "" end
  if utf8_len(v) > rule.max then return "longer than " .. rule.max .. " characters" end
end

local check_value

-- A document object: base64 that decodes and an allowed content type.
local function check_doc(v, rule, path, snake, out)
  if type(v) ~= "table" then
    out.details[path] = "Invalid document"
    return
  end
  local data = v.base64_data
  local decoded = type(data) == "string" and data ~= "" and ngx.decode_base64(data) or nil
  if not decoded then
    out.details[path .. ".base64Data"] = "Invalid base64 data"
  end
  if type(v.content_type) ~= "string" or not validate.CONTENT_TYPES[v.content_type] then
    out.details[path .. ".contentType"] = "Invalid content type (image/jpeg, image/png or application/pdf)"
  end
  if rule.document_id then
    local id = v.document_id
    if not ((type(id) == "string" and id ~= "" and #id <= 20) or is_int(id)) then
      out.details[path .. ".documentId"] = "Invalid document id"
    end
  end
  if decoded then
    out.documents[snake] = { size = #decoded, sha256 = digest.sha256_hex(decoded),
                             content_type = v.content_type }
  end
end

local function check_object(v, rule, path, snake, out, name)
  if type(v) ~= "table" or v[1] ~= nil then
    if path == "" then
      out.details.body = "Invalid request body: a JSON object is expected"
    else
      out.details[path] = "Invalid " .. words(name)
    end
    return
  end
  for _, field in ipairs(rule.fields) do
    local field_name = field[1]
    local p = path == "" and camel(field_name) or path .. "." .. camel(field_name)
    local s = snake == "" and field_name or snake .. "." .. field_name
    check_value(v[field_name], field, p, s, field_name, out)
  end
end

function check_value(v, rule, path, snake, name, out)
  local absent = json.absent(v) or (v == "" and rule.t ~= "object" and rule.t ~= "array")
  if absent then
    if rule.required then out.details[path] = "Invalid " .. words(name) end
    return
  end
  if rule.t == "object" then return check_object(v, rule, path, snake, out, name) end
  if rule.t == "doc" then return check_doc(v, rule, path, snake, out) end
  if rule.t == "array" then
    if type(v) ~= "table" or (next(v) ~= nil and v[1] == nil) then
      out.details[path] = "Invalid " .. words(name)
      return
    end
    if rule.min_items and #v < rule.min_items then
      out.details[path] = "Invalid " .. words(name) .. ": at least " .. rule.min_items .. " expected"
      return
    end
    for i, item in ipairs(v) do
      local p, s = ("%s[%d]"):format(path, i - 1), ("%s[%d]"):format(snake, i - 1)
      if item == json.null or type(item) ~= "table" then
        out.details[p] = "Invalid " .. words(name)
      elseif rule.items.t == "doc" then
        check_doc(item, rule.items, p, s, out)
      else
        check_object(item, rule.items, p, s, out, name)
      end
    end
    return
  end
  local reason = CHECK[rule.t](v, rule)
  if reason then
    out.details[path] = "Invalid " .. words(name) .. (reason ~= "" and (": " .. reason) or "")
  elseif rule.t == "country" and not masterdata.countries[v] and not out.master then
    out.master = { field = name, value = v }
  end
end

--- Validate a decoded onboarding payload. Returns a table: details (field ->
-- message; empty when valid), documents (slot -> {size, sha256, content_type}),
-- master (the first unknown country: {field, value}) or nil.
function validate.onboarding(payload)
  local out = { details = {}, documents = {} }
  check_object(payload, validate.ONBOARDING, "", "", out)
  return out
end

return validate
