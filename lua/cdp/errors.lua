--- cdp.errors: the one error shape of the SDK, and the CDP's error codes.
-- Every run-time failure is returned as `nil, err`, where `err` is made here:
-- a table with `kind`, `message` and, where known, `http_status`,
-- `status_code`, `code`, `name`, `details`, `request_id`, `retryable`.
local errors = {}

--- The kinds of error, as in DESIGN.md.
errors.kinds = {
  validation = true, transport = true, tls = true, timeout = true,
  auth = true, business = true, server = true, protocol = true,
}

--- The CDP's error codes (API document v1.0.3 and NOTES.md) by number.
errors.codes = {
  [40001] = "INVALID_FORMAT",            -- lookup: invalid format input; onboarding 502: backend technical problem
  [40002] = "VALIDATION_FAILED",         -- invalid format or missing mandatory request
  [45001] = "CUSTOMER_NOT_FOUND",
  [45003] = "CUSTOMER_NOT_SUBSCRIBED",
  [45005] = "INVALID_LOOKUP_REQUEST",    -- older versions of the document
  [45006] = "SEARCH_FAILED",
  [45013] = "UNDER_COMPLIANCE_INVESTIGATION",
  [45032] = "CUSTOMER_UPDATE_FAILED",
  [45051] = "CUSTOMER_BLOCKED",
  [45053] = "INVALID_MASTER_DATA",
}

--- The same codes by name: errors.by_name.CUSTOMER_NOT_FOUND == 45001.
errors.by_name = {}
for code, name in pairs(errors.codes) do errors.by_name[name] = code end

local Error = {}
Error.__index = Error
errors.Error = Error

function Error.__tostring(e)
  local parts = { "cdp: ", e.kind, " error" }
  if e.code then parts[#parts + 1] = " " .. tostring(e.code) end
  if e.name then parts[#parts + 1] = " " .. e.name end
  if e.http_status then parts[#parts + 1] = " (HTTP " .. tostring(e.http_status) .. ")" end
  parts[#parts + 1] = ": " .. tostring(e.message)
  if e.request_id then parts[#parts + 1] = " [request_id " .. e.request_id .. "]" end
  return table.concat(parts)
end

--- Make an error object. `fields.kind` and `fields.message` are required.
function errors.new(fields)
  assert(type(fields) == "table", "errors.new: table expected")
  assert(errors.kinds[fields.kind], "errors.new: unknown kind " .. tostring(fields.kind))
  assert(type(fields.message) == "string", "errors.new: message must be a string")
  if fields.code and not fields.name then fields.name = errors.codes[fields.code] end
  if fields.retryable == nil then fields.retryable = false end
  return setmetatable(fields, Error)
end

--- True when `v` is an error made by errors.new.
function errors.is(v)
  return getmetatable(v) == Error
end

return errors
