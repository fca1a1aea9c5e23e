--- cdp.iso: ISO 3166-1 countries and ISO 4217 currencies, from Debian's
-- iso-codes data (loaded once, on first use).
local cjson = require "cjson.safe"

local iso = {}

iso.DATA_DIR = "/usr/share/iso-codes/json"

-- Everyday names that are not in ISO 3166's name fields but name one country
-- without doubt. Anything else unknown stays an error, never a guess.
iso.ALIASES = { uae = "AE", uk = "GB", usa = "US", ["great britain"] = "GB" }

local countries, currencies

local function load_json(name)
  local path = iso.DATA_DIR .. "/" .. name
  local f, err = io.open(path, "rb")
  if not f then error("cdp.iso: cannot read " .. tostring(err) .. " (install Debian's iso-codes)") end
  local data = assert(cjson.decode(f:read("a")), "cdp.iso: bad JSON in " .. path)
  f:close()
  return data
end

local function fold(s)
  return (s:lower():gsub("%s+", " "))
end

local function load_countries()
  if countries then return countries end
  countries = { alpha2 = {}, alpha3 = {}, names = {} }
  for _, c in ipairs(load_json("iso_3166-1.json")["3166-1"]) do
    countries.alpha2[c.alpha_2] = c.name
    countries.alpha3[c.alpha_3] = c.alpha_2
    for _, key in ipairs({ "name", "official_name", "common_name" }) do
      if c[key] then countries.names[fold(c[key])] = c.alpha_2 end
    end
  end
  for alias, code in pairs(iso.ALIASES) do countries.names[alias] = code end
  return countries
end

--- True when `code` is an ISO 3166-1 alpha-2 code (upper case).
function iso.is_country(code)
  return load_countries().alpha2[code] ~= nil
end

-- The answers given so far, by the text asked: the same few country names
-- and codes come in every record. Countries only (a text that is none is
-- not kept), and at most 256 of them.
local answers, answered = {}, 0

--- The alpha-2 code for an alpha-2 (any case), an alpha-3 code or a country
-- name; nil when there is none.
function iso.country(value)
  local code = answers[value]
  if code then return code end
  local c = countries or load_countries()
  if c.alpha2[value] then  -- already a code: the usual case
    code = value
  else
    local up = value:upper()
    if #value == 2 and c.alpha2[up] then code = up
    elseif #value == 3 and c.alpha3[up] then code = c.alpha3[up]
    else code = c.names[fold(value)] end
  end
  if code then
    if answered == 256 then answers, answered = {}, 0 end
    answers[value], answered = code, answered + 1
  end
  return code
end

--- True when `code` is an ISO 4217 currency code.
function iso.is_currency(code)
  if not currencies then
    currencies = {}
    for _, c in ipairs(load_json("iso_4217.json")["4217"]) do currencies[c.alpha_3] = true end
  end
  return currencies[code] == true
end

return iso
