--- Response shapes of the CDP's three styles, and sending them. Handlers
-- return a response table { status, body, headers } so that faults can act
-- "after" processing; `respond.send` writes it.
local json = require "cdp.sandbox.app.json"

local respond = {}

local REASONS = {
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [408] = "Request Timeout", [411] = "Length Required",
  [413] = "Payload Too Large", [414] = "URI Too Long", [500] = "Internal Server Error",
  [501] = "Not Implemented", [502] = "Bad Gateway", [503] = "Service Unavailable",
  [504] = "Gateway Timeout",
}

--- A 32-hex-digit request id like the CDP's.
function respond.request_id()
  return string.format("%08x%08x%08x%08x", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff),
    math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
end

function respond.json(status, body, headers)
  return { status = status, body = json.encode(body), headers = headers }
end

--- The path as the service behind the gateway sees it: the first segment
-- (/caas, /caas-lcm) is the gateway's and is stripped.
function respond.service_path(path)
  return path:match("^/caas[^/]*(/.+)$") or path
end

local function timestamp()
  local now = ngx.now()
  local sec = math.floor(now)
  return os.date("!%Y-%m-%dT%H:%M:%S", sec) .. string.format(".%03d+00:00", math.floor((now - sec) * 1000))
end

--- Spring-style gateway error (401s, unknown paths, wrong methods, oversized
-- bodies). The onboarding service (caas-lcm) adds an empty "message"; the
-- lookup service does not (as in the API document).
function respond.gateway(status, path)
  if status == 494 then status = 400 end
  local body = { timestamp = timestamp(), status = status, error = REASONS[status] or "Error",
                 path = respond.service_path(path) }
  if not path:find("^/caas/") then body.message = "" end
  return respond.json(status, body)
end

--- Keycloak token endpoint error.
function respond.keycloak(status, err, description)
  return respond.json(status, { error = err, error_description = description },
    { ["Cache-Control"] = "no-store", Pragma = "no-cache" })
end

local LOOKUP = {
  [45001] = { 404, "Customer not found" },
  [45003] = { 404, "Customer not Subscribed" },
  [40001] = { 400, "Invalid format input" },
  [45006] = { 500, "Error while searching customer!" },
  [45013] = { 500, "Customer under Compliance investigation!" },
  [45051] = { 404, "Customer can not be Accepted" },
}

--- Lookup-style business failure: HTTP 200, camelCase.
function respond.lookup_failure(code)
  local entry = assert(LOOKUP[code], "no lookup code " .. tostring(code))
  return respond.json(200, { status = "failure", statusCode = entry[1], errorCode = code, message = entry[2] })
end

function respond.lookup_success(data)
  return respond.json(200, { status = "success", statusCode = 200, data = data })
end

--- Onboarding-style failure: real HTTP status, snake_case, request_id.
function respond.onboarding_failure(http_status, status_code, code, message, details, status_word)
  return respond.json(http_status, {
    status = status_word or "failed", status_code = status_code, error_code = code,
    message = message, details = details, request_id = respond.request_id(),
  })
end

--- 400 / 40002 with one `details` entry per bad field.
function respond.invalid(details)
  return respond.onboarding_failure(400, 400, 40002, "Invalid format or missing mandatory request",
    details, "failure")
end

function respond.onboarding_success(customer)
  return respond.json(200, {
    status = "success",
    data = { aml_scan_status = customer.aml_scan_status, ecrn = customer.ecrn,
             customer_status = customer.customer_status, pep = customer.pep,
             aml_category = customer.aml_category },
    status_code = 200,
    request_id = respond.request_id(),
  })
end

--- Write a response table.
function respond.send(resp)
  ngx.status = resp.status
  ngx.header["Content-Type"] = resp.content_type or "application/json"
  for k, v in pairs(resp.headers or {}) do ngx.header[k] = v end
  ngx.print(resp.body)
  return ngx.exit(ngx.HTTP_OK)
end

return respond
