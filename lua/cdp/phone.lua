--- cdp.phone: phone numbers to E.164 (`+` and up to 15 digits), given the
-- country a local number belongs to.
--
--   phone.e164("050 210 6707", "AE")   --> "+971502106707"
--   phone.e164("012-345 6789", "MY")   --> "+60123456789"
--   phone.e164("+60 12 345 6789")      --> "+60123456789"
--
-- The table of calling codes is deliberately small: the countries of the
-- API document and of the partners we know. A partner adds its own with one
-- line (`phone.CALLING_CODES.XX = { code = "…", trunk = "0" }`). Numbering
-- plans are not checked beyond E.164's shape; the CDP is the authority.
local phone = {}

-- A value for a message: quoted, control characters as "?", cut at 40
-- bytes; the same under Lua 5.4 and LuaJIT (their %q differ).
local function quote(s)
  if #s > 40 then s = s:sub(1, 40):gsub("[\192-\255][\128-\191]*$", "") .. "..." end
  return '"' .. s:gsub("%c", "?") .. '"'
end

--- ISO 3166 alpha-2 -> ITU-T calling code and the national trunk prefix
-- (dialled before a local number inside the country, dropped in E.164).
phone.CALLING_CODES = {
  AE = { code = "971", trunk = "0" },  -- United Arab Emirates
  BD = { code = "880", trunk = "0" },  -- Bangladesh
  EG = { code = "20", trunk = "0" },   -- Egypt
  GB = { code = "44", trunk = "0" },   -- United Kingdom
  ID = { code = "62", trunk = "0" },   -- Indonesia
  IN = { code = "91", trunk = "0" },   -- India
  LK = { code = "94", trunk = "0" },   -- Sri Lanka
  MY = { code = "60", trunk = "0" },   -- Malaysia
  NP = { code = "977", trunk = "0" },  -- Nepal
  PH = { code = "63", trunk = "0" },   -- Philippines
  PK = { code = "92", trunk = "0" },   -- Pakistan
  SA = { code = "966", trunk = "0" },  -- Saudi Arabia
  SG = { code = "65" },                -- Singapore: no trunk prefix
  US = { code = "1" },                 -- United States (NANP): no trunk prefix
}

local byte, find, gsub, sub = string.byte, string.find, string.gsub, string.sub

local SEPARATORS = "[%s%-%.%(%)/]"

--- The number without the separators people write (spaces, dashes, dots, brackets).
function phone.clean(s)
  return (s:gsub(SEPARATORS, ""))
end

local E164 = "^%+[1-9]%d+$"

--- True when `s` is already in E.164 form: `+`, a non-zero digit, 7 to 15 digits in all.
function phone.is_e164(s)
  return s:match(E164) ~= nil and #s >= 8 and #s <= 16
end

-- Calling codes that are digits with no leading zero (by the code's text):
-- "+" .. code .. digits is then E.164 by its length alone.
local plain_code = setmetatable({}, { __index = function(known, code)
  local plain = find(code, "^[1-9]%d*$") ~= nil
  if type(code) == "string" then known[code] = plain end
  return plain
end })

--- `s` in E.164, or nil and a message. A number with `+` or `00` in front
-- keeps its own country code; any other is a local number of
-- `default_country`. A local number that already begins with the country's
-- calling code and has no trunk prefix is ambiguous (is "60123456789" a
-- Malaysian number without its `+`, or a local one?) and is refused.
function phone.e164(s, default_country)
  -- This runs for every phone number of every record: one type(), one
  -- gsub, bytes compared rather than cut out.
  local kind = type(s)
  if kind == "number" and s == math.floor(s) and s >= 0 then
    s = ("%.0f"):format(s)  -- a JSON Lines export may give the digits as a number
  elseif kind ~= "string" then
    return nil, "expected a phone number as text, got a " .. kind
  end
  -- A number without separators (digits, perhaps a +) is already clean: no gsub.
  local n = s
  if not find(s, "^%+?%d+$") then n = gsub(s, SEPARATORS, "") end
  local first, second = byte(n, 1, 2)
  if first == 48 and second == 48 then  -- "00"
    n, first = "+" .. sub(n, 3), 43
  end
  if first == 43 then  -- "+"
    local length = #n
    if length >= 8 and length <= 16 and find(n, E164) then return n end
    return nil, ("not an E.164 number (+, country code, 7 to 15 digits): %s"):format(quote(s))
  end
  if not find(n, "^%d+$") then return nil, ("not a phone number: %s"):format(quote(s)) end
  if not default_country then
    return nil, ("no country code (+…) and no default country: %s"):format(quote(s))
  end
  local plan = phone.CALLING_CODES[default_country]
  if not plan then
    return nil, ("no calling code known for %s (add it to cdp.phone.CALLING_CODES)"):format(default_country)
  end
  -- (plan.code and plan.trunk as the fields they are: a wrong one raises the same error.)
  if plan.trunk and sub(n, 1, #plan.trunk) == plan.trunk then
    n = sub(n, #plan.trunk + 1)
  elseif plan.trunk and sub(n, 1, #plan.code) == plan.code then
    return nil, ("ambiguous: %s starts with %s's calling code %s but has no +; write +%s… or %s…")
      :format(quote(s), default_country, plan.code, plan.code, plan.trunk)
  end
  local e164 = "+" .. plan.code .. n
  local length = #e164
  -- n is digits: a plain code leaves only the length to check.
  if length >= 8 and length <= 16 and (plain_code[plan.code] or find(e164, E164)) then return e164 end
  return nil, ("not a phone number of %s: %s"):format(default_country, quote(s))
end

return phone
