--- Fault injection for the next N calls of a path. A fault is stored as
-- "fault:<path>" (JSON: kind, delay, when) with a countdown "faultn:<path>";
-- a call claims one by decrementing it, so N calls fire across all workers.
local json = require "cdp.sandbox.app.json"
local counters = require "cdp.sandbox.app.counters"

local faults = {}

local dict = ngx.shared.cdp_state

faults.KINDS = { delay = true, reset = true, ["502"] = true, truncate = true, invalid_json = true,
                 reset_body = true, big_body = true }

--- The internal location (conf.lua) where a reset_body fault is acted out:
-- `reset_timedout_connection on` there makes nginx close with a TCP reset.
faults.RESET_LOCATION = "/__cdp_fault/reset_body"

-- big_body's default size: twice the SDK's default cap on responses (1 MiB).
local BIG_BODY_SIZE = 2 * 1024 * 1024

local HTML_502 = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
  .. "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

--- Arm a fault: spec = { path, kind, count = 1, delay = 1, when = "before", skip = 0 }:
-- the `count` calls after the next `skip` ones fire it.
function faults.set(spec)
  if type(spec) ~= "table" or type(spec.path) ~= "string" then return nil, "path is required" end
  if not faults.KINDS[tostring(spec.kind)] then
    return nil, "kind must be delay, reset, 502, truncate, invalid_json, reset_body or big_body"
  end
  local when = spec.when or "before"
  if when ~= "before" and when ~= "after" then return nil, "when must be before or after" end
  local count = tonumber(spec.count) or 1
  local skip = tonumber(spec.skip) or 0
  local size = tonumber(spec.size) or BIG_BODY_SIZE
  if size < 1 or size > 64 * 1024 * 1024 then return nil, "size must be 1 to 67108864 bytes" end
  local stored = { path = spec.path, kind = tostring(spec.kind), when = when,
                   delay = tonumber(spec.delay) or 1, count = count, skip = skip, size = math.floor(size) }
  dict:set("fault:" .. spec.path, json.encode(stored))
  dict:set("faultn:" .. spec.path, count + skip)
  return stored
end

--- The armed faults with their remaining counts.
function faults.list()
  local out = {}
  for _, key in ipairs(dict:get_keys(0)) do
    local path = key:match("^fault:(.+)$")
    if path then
      local f = json.decode(dict:get(key) or "null")
      if f then
        f.remaining = math.max(0, math.min(f.count, dict:get("faultn:" .. path) or 0))
        out[#out + 1] = f
      end
    end
  end
  return out
end

function faults.clear()
  for _, key in ipairs(dict:get_keys(0)) do
    if key:match("^faultn?:") then dict:delete(key) end
  end
end

--- The fault to fire now for `route` at `phase` ("before"/"after"), or nil.
function faults.claim(route, phase)
  for _, path in ipairs({ route, "*" }) do
    local text = dict:get("fault:" .. path)
    local f = text and json.decode(text)
    if f and f.when == phase then
      local left = dict:incr("faultn:" .. path, -1, 0)
      if left and left >= 0 and left < f.count then
        counters.incr("faults", "fired", route)
        return f
      end
    end
  end
  return nil
end

--- Act out a fault. `resp` is the real response when fired after processing.
-- Returns nothing after a delay (the caller goes on); otherwise ends the request.
function faults.act(f, resp)
  if f.kind == "delay" then
    ngx.sleep(f.delay)
    return
  end
  if f.kind == "reset" then
    return ngx.exit(444)  -- nginx closes the connection without a response
  end
  if f.kind == "502" then
    ngx.status = 502
    ngx.header["Content-Type"] = "text/html"
    ngx.print(HTML_502)
    return ngx.exit(ngx.HTTP_OK)
  end
  local body = resp and resp.body or '{"status":"success","statusCode":200}'
  local status = resp and resp.status or 200
  if f.kind == "reset_body" then
    -- Acted out in a location of its own, where closing resets the connection.
    return ngx.exec(faults.RESET_LOCATION, { status = status, body = body })
  end
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  if f.kind == "big_body" then
    -- Still valid JSON: the answer followed by whitespace up to `size` bytes.
    ngx.header["Content-Length"] = math.max(#body, f.size)
    ngx.print(body)
    local left, chunk = f.size - #body, string.rep(" ", 65536)
    while left > 0 do
      ngx.print(left >= #chunk and chunk or chunk:sub(1, left))
      left = left - #chunk
    end
    return ngx.exit(ngx.HTTP_OK)
  end
  if f.kind == "invalid_json" then
    ngx.print((body:sub(1, math.floor(#body / 2)):gsub("[%]}]+$", "")) .. "<html>")
    return ngx.exit(ngx.HTTP_OK)
  end
  -- truncate: announce the whole body, send half of it, close.
  ngx.header["Content-Length"] = #body
  ngx.print(body:sub(1, math.floor(#body / 2)))
  ngx.flush(true)
  return ngx.exit(444)
end

--- content_by_lua of faults.RESET_LOCATION: the whole body's Content-Length,
-- half of the body, then a TCP reset (nginx sets SO_LINGER 0 and closes:
-- the client reads "connection reset by peer" mid-body).
function faults.reset_body()
  local args = ngx.req.get_uri_args()
  local body = type(args.body) == "string" and args.body or ""
  ngx.status = tonumber(args.status) or 200
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Content-Length"] = #body
  ngx.print(body:sub(1, math.floor(#body / 2)))
  ngx.flush(true)
  return ngx.exit(444)
end

return faults
