--- The CDP's master data as far as the sandbox knows it: ISO 3166-1 alpha-2
-- countries and ISO 4217 currencies from Debian's iso-codes.
local json = require "cdp.sandbox.app.json"

local masterdata = { countries = {}, currencies = {} }

local ISO_DIR = "/usr/share/iso-codes/json/"

local function load(file, list_key, code_key, into)
  local f = assert(io.open(ISO_DIR .. file, "rb"), "iso-codes not installed: " .. file)
  local data = assert(json.decode(f:read("*a")))
  f:close()
  for _, entry in ipairs(data[list_key]) do
    into[entry[code_key]] = true
  end
end

function masterdata.load()
  load("iso_3166-1.json", "3166-1", "alpha_2", masterdata.countries)
  load("iso_4217.json", "4217", "alpha_3", masterdata.currencies)
end

return masterdata
