--- A plain HTTP client for specs: runs the curl binary, so the sandbox is
-- checked independently of the SDK's own client.
--
--   local http = require "helpers.http"
--   local res = http.request{ method = "POST", url = ..., headers = { ["X-A"] = "b" },
--     body = "...",          -- or body_file = path, or json = table, or form = { k = v }
--     chunked = true,        -- Transfer-Encoding: chunked instead of Content-Length
--     cacert = path, timeout = 30 }
--   res.status (number, 0 when no response), res.body, res.headers (lowercase names),
--   res.json (decoded body or nil), res.curl_exit (curl's exit code: 0 ok, 52 empty reply,
--   18 partial body, 28 timeout, 56 receive error)
local cjson = require "cjson"

local http = {}

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local data = f:read("*a")
  f:close()
  return data
end

local function write(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

--- application/x-www-form-urlencoded from a table (keys sorted) or a list of {k, v} pairs.
function http.form(t)
  local pairs_list = {}
  if t[1] then
    pairs_list = t
  else
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do pairs_list[#pairs_list + 1] = { k, t[k] } end
  end
  local out = {}
  for _, kv in ipairs(pairs_list) do
    local function enc(s)
      return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
    end
    out[#out + 1] = enc(kv[1]) .. "=" .. enc(kv[2])
  end
  return table.concat(out, "&")
end

function http.request(opts)
  local tmp = os.tmpname()
  local body_path, head_path, out_path = tmp .. ".body", tmp .. ".head", tmp .. ".out"
  local headers = {}
  for k, v in pairs(opts.headers or {}) do headers[k] = v end
  local body = opts.body
  if opts.json ~= nil then
    body = cjson.encode(opts.json)
    headers["Content-Type"] = headers["Content-Type"] or "application/json"
  elseif opts.form then
    body = http.form(opts.form)
    headers["Content-Type"] = headers["Content-Type"] or "application/x-www-form-urlencoded"
  end
  local args = { "curl", "-sS", "--http1.1", "-o", quote(out_path), "-D", quote(head_path),
    "-w", quote("%{http_code}"), "--max-time", tostring(opts.timeout or 60), "-H", quote("Expect:") }
  args[#args + 1] = "-X " .. quote(opts.method or (body or opts.body_file) and "POST" or "GET")
  if opts.cacert then args[#args + 1] = "--cacert " .. quote(opts.cacert) end
  for k, v in pairs(headers) do args[#args + 1] = "-H " .. quote(k .. ": " .. v) end
  if opts.chunked then args[#args + 1] = "-H " .. quote("Transfer-Encoding: chunked") end
  local file = opts.body_file
  if body then
    write(body_path, body)
    file = body_path
  end
  if file then args[#args + 1] = "--data-binary @" .. quote(file) end
  args[#args + 1] = quote(opts.url)
  local p = assert(io.popen(table.concat(args, " ") .. " 2>/dev/null; echo \" $?\"", "r"))
  local out = p:read("*a")
  p:close()
  local code, exit = out:match("(%d%d%d) (%d+)%s*$")
  local res = { status = tonumber(code) or 0, curl_exit = tonumber(exit) or -1,
                body = read(out_path), headers = {}, raw_headers = read(head_path) }
  for name, value in res.raw_headers:gmatch("([%w%-]+):%s*([^\r\n]*)") do
    res.headers[name:lower()] = value
  end
  local ok, decoded = pcall(cjson.decode, res.body)
  if ok and type(decoded) == "table" then res.json = decoded end
  for _, path in ipairs({ tmp, body_path, head_path, out_path }) do os.remove(path) end
  return res
end

return http
