-- The client's `proxy` option: calls tunnel through an HTTP CONNECT proxy
-- (a small luasocket one in a child process, which logs each CONNECT), TLS
-- still verified end to end against the sandbox.
local sandbox = require "helpers.sandbox"
local cdp = require "cdp"

local PROXY = [==[
local socket = require "socket"
local server = assert(socket.bind("127.0.0.1", 0))
local _, port = server:getsockname()
io.write(port, "\n")
io.flush()
local log = assert(io.open(os.getenv("PROXY_LOG"), "a"))
server:settimeout(30)
local client = server:accept()
if not client then return end
client:settimeout(10)
local request = client:receive("*l")
repeat local line = client:receive("*l") until not line or line == ""
local host, target = request:match("^CONNECT ([%d%.]+):(%d+) HTTP/1%.1$")
log:write(request, "\n")
log:close()
local upstream = assert(socket.connect(host, tonumber(target)))
client:send("HTTP/1.1 200 Connection established\r\n\r\n")
client:settimeout(0)
upstream:settimeout(0)
local open = true
while open do
  local ready = socket.select({ client, upstream }, nil, 5)
  if #ready == 0 then break end
  for _, s in ipairs(ready) do
    local data, err, partial = s:receive(65536)
    data = data or partial
    if data and #data > 0 then
      local other = s == client and upstream or client
      local i = 1
      while i <= #data do
        local sent, serr, last = other:send(data, i)
        if sent then i = sent + 1 elseif serr == "timeout" then i = last + 1; socket.select(nil, { other }, 1)
        else open = false break end
      end
    end
    if err == "closed" then open = false end
  end
end
client:close()
upstream:close()
]==]

local shell_quote = require("helpers.files").quote

describe("cdp.client proxy", function()
  local sb

  setup(function() sb = sandbox.start{} end)
  teardown(function() if sb then sb:stop() end end)

  it("tunnels the token request and the call through the proxy", function()
    local log = os.tmpname()
    local lua = os.getenv("CDP_LUA") or "lua5.4"
    local cmd = ("PROXY_LOG=%s %s -e %s 2>&1"):format(shell_quote(log), lua, shell_quote(PROXY))
    local proxy = assert(io.popen(cmd))
    local port = tonumber(proxy:read("*l"))
    assert.is_number(port)
    local e = sb.env
    local c = cdp.client{ base_url = sb.base_url, ca_file = sb.ca_file, client_id = e.CDP_CLIENT_ID,
      client_secret = e.CDP_CLIENT_SECRET, username = e.CDP_USERNAME, password = e.CDP_PASSWORD,
      scope = "openid " .. e.CDP_SCOPE, proxy = "http://127.0.0.1:" .. port, retries = 0 }
    local _, err = c:lookup(4, "784199554586091")
    c:close()  -- closes the tunnel: the proxy ends
    proxy:close()
    local f = assert(io.open(log))
    local logged = f:read("*a")
    f:close()
    os.remove(log)
    assert.are.equal(45001, err and err.code, tostring(err))
    assert.are.equal("CONNECT 127.0.0.1:" .. sb.port .. " HTTP/1.1\n", logged)
    local counters = sb:counters()
    assert.are.equal(1, counters.calls["/caas/api/v2/customer/validate"])
  end)
end)
