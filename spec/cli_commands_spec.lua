-- cdp-onboard's one-shot commands against the sandbox: token, lookup, get,
-- check, render, --config; exit codes and what never appears in output.
local sandbox = require "helpers.sandbox"
local cjson = require "cjson"
local records = require "cdp.records"

local LUA = os.getenv("CDP_LUA") or "lua5.4"

local shell_quote = require("helpers.files").quote

local function run(env, args)
  local parts = {}
  for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. shell_quote(v) end
  local out = os.tmpname()
  local ok, how, code = os.execute("env -u CDP_BASE_URL " .. table.concat(parts, " ") .. " " .. LUA
    .. " bin/cdp-onboard " .. args .. " >" .. out .. " 2>&1")
  local f = io.open(out)
  local text = f:read("a")
  f:close()
  os.remove(out)
  if type(ok) == "number" then code = math.floor(ok / 256) end
  return how == "signal" and 128 + code or code, text
end

describe("cdp-onboard commands", function()
  local sb
  setup(function() sb = sandbox.start() end)
  teardown(function() sb:stop() end)

  it("token: says the credentials work and when the token expires, never the token", function()
    local code, out = run(sb.env, "token")
    assert.equal(0, code, out)
    assert.matches("credentials work: a token for " .. sb.base_url:gsub("%p", "%%%0") .. ", expires in %d+ s", out)
    assert.is_nil(out:find("sbx-at-", 1, true))
    assert.is_nil(out:find(sb.env.CDP_PASSWORD, 1, true))
  end)

  it("token: wrong credentials exit 3 with an auth error, the password not shown", function()
    local env = {}
    for k, v in pairs(sb.env) do env[k] = v end
    env.CDP_PASSWORD = "hunter2-wrong"
    local code, out = run(env, "token")
    assert.equal(3, code)
    assert.matches("auth error", out)
    assert.is_nil(out:find("hunter2", 1, true))
  end)

  it("lookup and get: data as JSON, not-found exits 1", function()
    local onboarded = sb:request { method = "POST", path = "/caas-lcm/api/v1/CAAS/onBoarding/customer",
      token = sb:token().access_token, json = sandbox.example_payload("784199011112222") }
    local ecrn = cjson.decode(onboarded.body).data.ecrn
    local code, out = run(sb.env, "lookup --id-type 4 --id-number 784199011112222")
    assert.equal(0, code, out)
    assert.equal(ecrn, cjson.decode(out).ecrn)
    code, out = run(sb.env, "get " .. ecrn)
    assert.equal(0, code, out)
    assert.equal(ecrn, cjson.decode(out).ecrn)
    code, out = run(sb.env, "lookup --id-type 4 --id-number 784199099999999")
    assert.equal(1, code)
    assert.matches("45001 CUSTOMER_NOT_FOUND", out)
  end)

  it("--config: settings from a private file; a readable one is refused with exit 2", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    for k, v in pairs(sb.env) do f:write(k, "=", v, "\n") end
    f:close()
    os.execute("chmod 600 " .. path)
    local code, out = run({}, "token --config " .. path)
    assert.equal(0, code, out)
    os.execute("chmod 644 " .. path)
    code, out = run({}, "token --config " .. path)
    assert.equal(2, code)
    assert.matches("readable by other users", out)
    os.remove(path)
  end)

  it("check and render: exit 1 with invalid records, 2 for usage errors", function()
    local code, out = run({}, "check examples/ekyc-mapping.lua examples/ekyc-export.csv")
    assert.equal(1, code)
    assert.matches("record 9 %(C%-1009%), nationality: column \"Nationality\": \"Atlantis\" is not a country", out)
    -- The valid records whose ID has expired by today get a warning.
    local expired, today = 0, os.date("!%Y%m%d")
    for number, rec in records.each("examples/ekyc-export.csv") do
      local d, m, y = rec.fields["ID Expiry Date"]:match("^(%d+)/(%d+)/(%d+)$")
      if (number < 8 or number > 10) and y .. m .. d < today then expired = expired + 1 end
    end
    assert.matches(("11 records: 8 valid %%(%d with warnings%%), 3 invalid"):format(expired), out)
    code, out = run({}, "render examples/ekyc-mapping.lua examples/ekyc-export.csv --record 1")
    assert.equal(0, code, out)
    assert.equal("Zafar", cjson.decode(out).first_name)
    code = run({}, "render examples/ekyc-mapping.lua examples/ekyc-export.csv --record 0")
    assert.equal(2, code)
    code, out = run({}, "submit --password x examples/ekyc-mapping.lua examples/ekyc-export.csv")
    assert.equal(2, code)
    assert.matches("unknown option '%-%-password'", out)
  end)
end)
