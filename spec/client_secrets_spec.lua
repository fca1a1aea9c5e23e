-- No client secret, password, token, API key or document bytes in any error,
-- in tostring(client), in the client table, or in anything a program using
-- the client prints. A child process drives the client through successes and
-- every kind of failure and prints all it gets back; its whole output is
-- searched for every secret collected here.
local sandbox = require "helpers.sandbox"
local files = require "helpers.files"
local shell_quote, base64 = files.quote, files.base64
local cdp = require "cdp"
local cjson = require "cjson"



local CHILD = [==[
local cdp = require "cdp"
local function dump(v, depth)
  depth = depth or 0
  if type(v) ~= "table" or depth > 4 then return tostring(v) end
  local out = {}
  for k, x in pairs(v) do out[#out + 1] = tostring(k) .. "=" .. dump(x, depth + 1) end
  local mt = getmetatable(v)
  if mt and mt.__tostring then out[#out + 1] = "tostring=" .. tostring(v) end
  return "{" .. table.concat(out, ", ") .. "}"
end
local function show(label, ...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = dump((select(i, ...))) end
  print(label, table.concat(parts, " | "))
  io.stderr:write(label, " ", tostring((select(2, ...))), "\n")
end
local key = os.getenv("SPEC_API_KEY")
local marker = os.getenv("SPEC_MARKER")
local c = cdp.client{ headers = { ["X-API-Key"] = key }, backoff = 0.01, retries = 1 }
print(tostring(c)); print(dump(c)); print(dump(c:stats()))
show("lookup", c:lookup(4, "784199554586091"))
show("investigation", c:lookup(4, "784000000045013"))
show("get", c:get("7841000000000000"))
show("fault", c:lookup(4, "784000000045006"))
local bad = cdp.client{ password = "x" .. os.getenv("CDP_PASSWORD"), scope = "openid " .. os.getenv("CDP_SCOPE") }
show("wrong password", bad:lookup(4, "784199554586091"))
local bad_secret = cdp.client{ client_secret = os.getenv("CDP_CLIENT_SECRET") .. "x" }
show("wrong secret", bad_secret:lookup(4, "784199554586091"))
local tls = cdp.client{ ca_file = "/etc/ssl/certs/ca-certificates.crt" }
show("tls", tls:lookup(4, "784199554586091"))
local dead = cdp.client{ base_url = "https://127.0.0.1:1", retries = 0 }
show("dead", dead:lookup(4, "784199554586091"))
-- An onboarding with document bytes the sandbox refuses, and one whose file is gone.
local doc = cdp.bytes("\255\216\255" .. marker, "image/jpeg")
local parts = { '{"channel":"WEB","id_details":[{"id_type":4,"id_number":"784199554586071","id_front":'
  .. '{"base64_data":"', doc, '","content_type":"image/jpeg"}}]}' }
local customer = setmetatable({ data = { id_details = { { id_type = 4, id_number = "784199554586071" } } },
  parts = function() return parts end }, {})
show("onboard refused", c:onboard(customer))
parts[2] = cdp.file("/nonexistent/cdp-front.jpg")
show("onboard missing file", c:onboard(customer))
print(tostring(doc), tostring(parts[2]))
show("misuse", pcall(cdp.client, { password = 12 }))
show("misuse2", pcall(c.lookup, c, {}, "1"))
print("done")
]==]

describe("cdp.client secrets", function()
  local sb

  setup(function()
    sb = sandbox.start{}
  end)

  teardown(function()
    if sb then sb:stop() end
  end)

  it("appear nowhere in errors, tostring, the client table or printed output", function()
    local e = sb.env
    local api_key = "spec-api-key-" .. e.CDP_CLIENT_SECRET:sub(1, 8)
    local marker = "DOCUMENT-BYTES-" .. e.CDP_PASSWORD
    sb:fault{ path = "/caas/api/v2/customer/validate", kind = "502", count = 1 }
    local env = {
      "CDP_BASE_URL=" .. sb.base_url, "CDP_CLIENT_ID=" .. e.CDP_CLIENT_ID,
      "CDP_CLIENT_SECRET=" .. e.CDP_CLIENT_SECRET, "CDP_USERNAME=" .. e.CDP_USERNAME,
      "CDP_PASSWORD=" .. e.CDP_PASSWORD, "CDP_SCOPE=" .. e.CDP_SCOPE, "CDP_CA_FILE=" .. sb.ca_file,
      "SPEC_API_KEY=" .. api_key, "SPEC_MARKER=" .. marker,
      "LUA_PATH=" .. os.getenv("LUA_PATH"), "LUA_CPATH=" .. os.getenv("LUA_CPATH"),
    }
    for i, v in ipairs(env) do env[i] = shell_quote(v) end
    local cmd = "env -i " .. table.concat(env, " ") .. " " .. (os.getenv("CDP_LUA") or "lua5.4")
      .. " -e " .. shell_quote(CHILD) .. " 2>&1"
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()

    -- The run did what it should: otherwise an empty output would pass.
    assert.matches("cdp%.client%(https://127%.0%.0%.1:%d+, client_id=", out)
    assert.matches("auth error", out)
    assert.matches("tls error", out)
    assert.matches("transport error", out)
    assert.matches("45013", out)
    assert.matches("40002", out)
    assert.matches("cannot read /nonexistent/cdp%-front%.jpg", out)
    assert.matches("password must be a string", out)
    assert.matches("\ndone\n", out)

    local secrets = {
      client_secret = e.CDP_CLIENT_SECRET, password = e.CDP_PASSWORD, api_key = api_key,
      access_token_prefix = "sbx-at-", refresh_token_prefix = "sbx-rt-",
      document_bytes = marker, document_base64 = base64("\255\216\255" .. marker):sub(8, 40),
    }
    for name, secret in pairs(secrets) do
      assert.is_nil(out:find(secret, 1, true), name .. " appears in the output")
    end
    -- The sandbox did issue tokens to that process (so the prefixes are real).
    assert.is_true(sb:counters().tokens.granted.password >= 1)
    assert.matches("^sbx%-at%-", sb:token().access_token)
  end)

  it("are not kept in the client table, and errors made in this process hold none", function()
    local e = sb.env
    local c = cdp.client{ base_url = sb.base_url, ca_file = sb.ca_file, client_id = e.CDP_CLIENT_ID,
      client_secret = e.CDP_CLIENT_SECRET, username = e.CDP_USERNAME, password = e.CDP_PASSWORD,
      scope = e.CDP_SCOPE, headers = { ["X-API-Key"] = "k-" .. e.CDP_PASSWORD } }
    local seen = {}
    local function walk(v)
      if type(v) == "string" then
        assert.is_nil(v:find(e.CDP_CLIENT_SECRET, 1, true))
        assert.is_nil(v:find(e.CDP_PASSWORD, 1, true))
        assert.is_nil(v:find("sbx-", 1, true))
      elseif type(v) == "table" and not seen[v] then
        seen[v] = true
        for k, x in pairs(v) do walk(k); walk(x) end
      end
    end
    walk(c)
    walk(tostring(c))
    local _, err = c:lookup(4, "784199554586091")
    walk(err)
    walk(tostring(err))
    walk(cjson.encode(c:stats()))
    c:close()
  end)
end)
