--- AML alert closure callback: POST {ecrn, aml_scan_status, customer_status}
-- to the partner's URL with its bearer token, from a timer, retrying with
-- doubling backoff until the partner answers 200 or the attempts run out.
local json = require "cdp.sandbox.app.json"
local counters = require "cdp.sandbox.app.counters"
local settings = require "cdp.sandbox.app.settings"

local callback = {}

local function parse_url(url)
  local scheme, host, port, path = url:match("^(https?)://([^/:]+):?(%d*)(.*)$")
  if not scheme then return nil end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  if path == "" then path = "/" end
  return { scheme = scheme, host = host, port = port, path = path }
end

--- One HTTP/1.1 POST; returns the status code, or nil and an error.
local function post(url, token, body)
  local u = parse_url(url)
  if not u then return nil, "bad callback URL" end
  local sock = ngx.socket.tcp()
  sock:settimeouts(3000, 5000, 5000)
  local connect_host = u.host == "localhost" and "127.0.0.1" or u.host
  local ok, err = sock:connect(connect_host, u.port)
  if not ok then return nil, "connect: " .. tostring(err) end
  if u.scheme == "https" then
    -- nginx checks names with X509_check_host, which knows no IP addresses:
    -- for an IP literal only the chain is verified.
    local name = not u.host:match("^[%d%.]+$") and u.host or nil
    -- pcall: lua-resty-core 0.1.25 asserts instead of returning an error when a
    -- handshake that completed at once then fails verification.
    local called
    called, ok, err = pcall(sock.sslhandshake, sock, nil, name, settings.callback_verify ~= false)
    if not called then ok, err = nil, "handshake failed (certificate not verified)" end
    if not ok then sock:close() return nil, "tls: " .. tostring(err) end
  end
  local request = table.concat({
    "POST " .. u.path .. " HTTP/1.1",
    "Host: " .. u.host .. ":" .. u.port,
    "Content-Type: application/json",
    "Accept: application/json",
    "Content-Length: " .. #body,
    "Connection: close",
    "User-Agent: cdp-sandbox",
  }, "\r\n") .. "\r\n"
  if token then request = request .. "Authorization: Bearer " .. token .. "\r\n" end
  ok, err = sock:send(request .. "\r\n" .. body)
  if not ok then sock:close() return nil, "send: " .. tostring(err) end
  local line
  line, err = sock:receive("*l")
  if not line then sock:close() return nil, "receive: " .. tostring(err) end
  local status = tonumber(line:match("^HTTP/1%.%d (%d%d%d)"))
  -- Drain the headers and a Content-Length body so the partner sees a clean close.
  local length = 0
  while true do
    local header = sock:receive("*l")
    if not header or header == "" then break end
    local n = header:lower():match("^content%-length:%s*(%d+)")
    if n then length = tonumber(n) end
  end
  if length > 0 then sock:receive(length) end
  sock:close()
  if not status then return nil, "bad status line" end
  return status
end

local deliver

function deliver(premature, payload, attempt)
  if premature then return end
  local status, err = post(settings.callback_url, settings.callback_token, json.encode(payload))
  counters.incr("callbacks", "attempts")
  counters.log_callback({ ecrn = payload.ecrn, attempt = attempt, status = status, error = err,
                          aml_scan_status = payload.aml_scan_status, customer_status = payload.customer_status })
  if status == 200 then
    counters.incr("callbacks", "delivered")
    return
  end
  if attempt >= (settings.callback_attempts or 5) then
    counters.incr("callbacks", "failed")
    return
  end
  local wait = (settings.callback_backoff or 1) * 2 ^ (attempt - 1)
  ngx.timer.at(wait, deliver, payload, attempt + 1)
end

--- Schedule delivery for a closed alert; false when no callback URL is set.
function callback.schedule(customer)
  if not settings.callback_url then return false end
  local payload = { ecrn = customer.ecrn, aml_scan_status = customer.aml_scan_status,
                    customer_status = customer.customer_status }
  local ok, err = ngx.timer.at(0, deliver, payload, 1)
  if not ok then
    ngx.log(ngx.ERR, "callback timer: ", err)
    return false
  end
  return true
end

return callback
