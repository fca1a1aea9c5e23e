-- Loaded by busted before every spec file (see Makefile: --helper).
-- Shared helpers live beside this file and are required where needed:
--   local sandbox = require "helpers.sandbox"
package.path = "spec/?.lua;" .. package.path
