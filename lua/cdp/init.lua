--- cdp: the Lua SDK for the CDP's Partner Onboarding Service.
-- local cdp = require "cdp"
local client = require "cdp.client"
local document = require "cdp.document"
local errors = require "cdp.errors"

local cdp = {
  _VERSION = "0.1.0",
  errors = errors,
  file = document.file,
  bytes = document.bytes,
  client = client.new,
}

return cdp
