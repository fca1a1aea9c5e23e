--- cdp: the Lua SDK for the CDP's Partner Onboarding Service.
-- local cdp = require "cdp"
local client = require "cdp.client"
local customer = require "cdp.customer"
local document = require "cdp.document"
local errors = require "cdp.errors"
local json = require "cdp.json"
local mapping = require "cdp.mapping"

local cdp = {
  _VERSION = "0.1.0",
  errors = errors,
  file = document.file,
  bytes = document.bytes,
  client = client.new,
  customer = customer.new,
  mapping = mapping,  -- cdp.mapping{…}, and its helpers: cdp.mapping.date(…), …
  null = json.null,  -- an explicit JSON null (lua-cjson's)
}

return cdp
