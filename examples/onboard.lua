-- Onboard every record of a partner export, one after the other, and print
-- what happened to each: the ECRN and statuses, or the error.
--
--   eval "$(cdp-onboard sandbox env)"     # or your own CDP_* settings
--   lua5.4 examples/onboard.lua examples/ekyc-mapping.lua examples/ekyc-export.csv
--
-- (`cdp-onboard submit` does the same in parallel, with a journal that lets a
-- crashed batch resume without creating anyone twice.)
local cdp = require "cdp"
local records = require "cdp.records"

local mapping_path, input_path = arg[1], arg[2]
if not (mapping_path and input_path) then
  io.stderr:write("usage: onboard.lua MAPPING INPUT\n")
  os.exit(2)
end

local mapping = assert(cdp.mapping.load(mapping_path))
local client = cdp.client()  -- settings from CDP_* variables

local counts = { onboarded = 0, refused = 0 }
for number, rec, problem in records.each(input_path) do
  local line
  if not rec then
    line = ("invalid input at line %d: %s"):format(problem.line, problem.message)
    counts.refused = counts.refused + 1
  else
    local customer, err = mapping:build(rec.fields)
    local key = mapping:key(rec.fields, customer) or "?"
    local data
    if customer then data, err = client:onboard(customer) end
    if data then
      counts.onboarded = counts.onboarded + 1
      line = ("%-8s ecrn %s  %s, AML %s%s"):format(key, data.ecrn, data.customer_status, data.aml_scan_status,
        data.reconciled and " (reconciled)" or "")
    else
      counts.refused = counts.refused + 1
      line = ("%-8s %s"):format(key, tostring(err))
    end
  end
  print(("%3d  %s"):format(number, line))
end
print(("%d onboarded, %d not"):format(counts.onboarded, counts.refused))
