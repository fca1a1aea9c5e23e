-- cdp.ngx's client used directly in a real nginx (handlers in
-- spec/openresty_app.lua): cdp.client's results and errors come back from
-- the worker thread intact, documents of every kind cross as descriptions,
-- misuse raises in the caller, thread VMs keep their client (connections
-- are reused), a burst larger than the VM pool waits, the client table
-- holds no secret; and the callback handler with a shared secret (its
-- on_event yielding) or with no authentication configured (all refused).
local sandbox = require "helpers.sandbox"
local nginx = require "helpers.nginx"
local cjson = require "cjson"

local ONBOARD = "/caas-lcm/api/v1/CAAS/onBoarding/customer"

local CONF = [=[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log warn;
thread_pool cdp threads=4;
env CDP_BASE_URL; env CDP_CLIENT_ID; env CDP_CLIENT_SECRET; env CDP_USERNAME;
env CDP_PASSWORD; env CDP_SCOPE; env CDP_CA_FILE; env CDP_SPEC_ROOT;
events { worker_connections 64; }
http {
  access_log logs/access.log;
  client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
  lua_package_path "{{root}}/lua/?.lua;{{root}}/lua/?/init.lua;{{root}}/spec/?.lua;;";
  lua_package_cpath "{{root}}/build/luajit/?.so;/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;;";
  lua_shared_dict cdp_tokens 1m;
  lua_shared_dict cdp_callbacks 1m;
  lua_worker_thread_vm_pool_size 4;   # 4 calls in flight at most: more must wait their turn
  server {
    listen 127.0.0.1:{{port}};
    location ~ ^/t/(\w+)$ { content_by_lua_block { require("openresty_app")[ngx.var[1]]() } }
  }
}
]=]

describe("openresty client", function()
  local sb, srv

  setup(function()
    sb = sandbox.start{}
    local env = { CDP_SPEC_ROOT = nginx.ROOT }
    for k, v in pairs(sb.env) do env[k] = v end
    srv = nginx.start{ conf = CONF:gsub("{{root}}", nginx.ROOT), env = env }
  end)

  teardown(function()
    if srv then srv:stop() end
    if sb then sb:stop() end
  end)

  local function get(path)
    local res = srv:request{ path = path }
    assert.equal(200, res.status, res.body .. "\n" .. srv:error_log())
    return res.json
  end

  it("returns cdp.client's errors, metatable and all", function()
    local r = get("/t/lookup_unknown")
    assert.is_nil(r.data)
    assert.is_true(r.err.is_error)
    assert.equal(45001, r.err.code)
    assert.equal("business", r.err.kind)
    assert.matches("^cdp: business error 45001 CUSTOMER_NOT_FOUND", r.err.text)
  end)

  it("onboards customers with file documents, bytes documents, and built by cdp.customer", function()
    local files = get("/t/onboard?how=files&id=784198612345671")
    assert.matches("^%d+$", files.ecrn)
    assert.equal(cjson.null, sb:customer(files.ecrn).payload.preferred_name)  -- cdp.null crossed
    local bytes = get("/t/onboard?how=bytes&id=784199078901232")
    local stored = sb:customer(bytes.ecrn)
    assert.equal(sandbox.sha256_file("examples/images/id-back.jpg"), stored.documents["id_details[0].id_front"].sha256)
    assert.equal(sandbox.sha256_file("examples/images/id-back.jpg"), stored.documents["id_details[0].id_back"].sha256)
    local built = get("/t/onboard?how=built&id=784199554586091")
    assert.matches("^%d+$", built.ecrn)
    assert.equal(3, sb:counters().customers.created)
  end)

  it("reconciles an onboarding whose answer was lost, its cause an error again", function()
    sb:fault{ path = ONBOARD, kind = "502", when = "after", count = 1 }
    local r = get("/t/onboard?how=files&id=784198700000017")
    assert.matches("^%d+$", r.ecrn)
    assert.is_true(r.reconciled)
    assert.is_true(r.cause.is_error)
    assert.equal("server", r.cause.kind)
  end)

  it("raises on misuse in the caller's coroutine", function()
    local r = get("/t/misuse")
    assert.matches("ecrn must be a string of digits", r.get)
    assert.matches("no lua_shared_dict no_such_dict", r.dict)
    assert.matches("no_such_pool", r.pool)
    assert.matches("unknown option colour", r.option)
    assert.matches("a customer table expected", r.onboard)
  end)

  it("keeps one client per thread VM: sequential calls reuse connections", function()
    sb:reset()
    assert.equal(40, get("/t/lookups?n=40").answered)
    -- 4 threads' clients at most (no new connection per call).
    assert.is_true(sb:counters().connections <= 4, "connections: " .. sb:counters().connections)
  end)

  it("lets a burst beyond the threads' Lua VMs wait its turn instead of failing", function()
    local paths = {}
    for i = 1, 40 do paths[i] = "/t/lookups?n=1&burst=" .. i end
    for i, r in ipairs(srv:parallel(paths, 40)) do
      assert.equal(200, r.status, "request " .. i .. ": " .. r.body)
      assert.equal('{"answered":1}', r.body:gsub("%s+$", ""))
    end
  end)

  it("authenticates callbacks by a shared secret, and refuses all when nothing is configured", function()
    local event = { ecrn = "7841003185463052", aml_scan_status = "Accepted", customer_status = "ACTIVE" }
    local function post(path, secret)
      return srv:request{ method = "POST", path = path, json = event,
                          headers = { ["X-Callback-Secret"] = secret } }
    end
    assert.equal(401, post("/t/callback_secret", "spec-secret-valu").status)
    assert.equal(401, post("/t/callback_secret", "spec-secret-valuex").status)
    assert.equal(401, srv:request{ method = "POST", path = "/t/callback_secret", json = event }.status)
    assert.equal(401, post("/t/callback_none", "spec-secret-value").status)
    assert.equal(401, srv:request{ method = "POST", path = "/t/callback_none", json = event }.status)
    assert.equal(0, get("/t/callback_calls?ecrn=" .. event.ecrn).calls)
    local res = post("/t/callback_secret", "spec-secret-value")
    assert.equal(200, res.status, res.body)
    assert.equal("success", res.json.status)
    assert.equal(1, get("/t/callback_calls?ecrn=" .. event.ecrn).calls)
  end)

  it("holds no credential or token in the client table; the dict only the token and its times", function()
    local r = get("/t/secrets")
    assert.is_true(r.has_token)
    assert.same({}, r.found)
    assert.truthy(r.token_state.expires_in > 0)
    -- One entry: "expires_at lifetime pid token" under a hash of the credentials.
    assert.equal(1, #r.entries)
    assert.matches("^cdp:token:%x+$", r.entries[1].key)
    assert.equal(4, r.entries[1].fields)
  end)
end)
