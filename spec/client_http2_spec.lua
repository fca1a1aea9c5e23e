-- HTTP/2 when the server offers it: the sandbox's own nginx.conf, copied with
-- `http2` on its listen line and another port, runs a second nginx over the
-- same app; lookups and a streamed onboarding go over HTTP/2 (nginx's access
-- log says which protocol each request used).
-- (A sandbox option for HTTP/2 would make this simpler: see the report of issue 3.)
local sandbox = require "helpers.sandbox"
local cdp = require "cdp"
local cjson = require "cjson"

local read = require("helpers.files").read

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

describe("cdp.client over HTTP/2", function()
  local sb, pid_file

  setup(function()
    sb = sandbox.start{}
  end)

  teardown(function()
    local pid = pid_file and read(pid_file)
    if pid and pid:match("^%d+") then os.execute("kill " .. pid:match("^%d+")) end
    if sb then sb:stop() end
  end)

  it("uses HTTP/2 for lookups and a streamed onboarding when the server offers it", function()
    local conf = read(sb.dir .. "/nginx.conf")
    local port = sb.port + 1
    local listens, pids
    conf, listens = conf:gsub("listen 127%.0%.0%.1:" .. sb.port .. " ssl;",
      "listen 127.0.0.1:" .. port .. " ssl http2;")
    pid_file = sb.dir .. "/nginx-h2.pid"
    conf, pids = conf:gsub('pid "[^"]+";', 'pid "' .. pid_file .. '";')
    conf = conf:gsub('access_log "[^"]+";', 'access_log "' .. sb.dir .. '/access-h2.log";')
    if listens ~= 1 or pids ~= 1 then
      pending("the sandbox's nginx.conf changed shape: no listen/pid line to adapt")
      return
    end
    write(sb.dir .. "/nginx-h2.conf", conf)
    -- nginx's path as the sandbox's (not on every PATH: /usr/sbin); true
    -- (Lua 5.4) or 0 (LuaJIT) when it started.
    local ok = os.execute(("/usr/sbin/nginx -p %s/ -c %s/nginx-h2.conf -e %s/error-h2.log"):format(
      sb.dir, sb.dir, sb.dir))
    if ok ~= true and ok ~= 0 then
      pending("a second nginx on port " .. port .. " did not start")
      return
    end

    local e = sb.env
    local c = cdp.client{ base_url = "https://127.0.0.1:" .. port, ca_file = sb.ca_file,
      client_id = e.CDP_CLIENT_ID, client_secret = e.CDP_CLIENT_SECRET, username = e.CDP_USERNAME,
      password = e.CDP_PASSWORD, scope = "openid " .. e.CDP_SCOPE }
    for _ = 1, 3 do
      assert.are.equal(45001, select(2, c:lookup(4, "784199554586061")).code)
    end
    -- A body of text and one document from memory, streamed over HTTP/2.
    local t = sandbox.example_payload("784199554586061")
    local photo = assert(read("examples/images/face.jpg"))
    t.customer_classification.profile_photo = { base64_data = "@@PHOTO@@", content_type = "image/jpeg" }
    local before, after = cjson.encode(t):match("^(.-)@@PHOTO@@(.*)$")
    local parts = { before, cdp.bytes(photo, "image/jpeg"), after }
    local customer = setmetatable({ data = t, parts = function() return parts end }, {})
    local data = assert(c:onboard(customer))
    local stats = c:stats()
    c:close()

    -- The second nginx keeps its own customers: ask its admin API.
    local sb2 = setmetatable({ base_url = "https://127.0.0.1:" .. port, ca_file = sb.ca_file }, getmetatable(sb))
    local stored = assert(sb2:customer(data.ecrn))
    assert.are.equal(sandbox.sha256_file("examples/images/face.jpg"),
      stored.documents["customer_classification.profile_photo"].sha256)
    local log = assert(read(sb.dir .. "/access-h2.log"))
    local h2, other = 0, 0
    for line in log:gmatch("[^\n]+") do
      if line:find('"POST /', 1, true) then
        if line:find(" HTTP/2.0\"", 1, true) then h2 = h2 + 1 else other = other + 1 end
      end
    end
    assert.are.equal(5, h2)  -- token, 3 lookups, onboarding
    assert.are.equal(0, other)
    assert.are.equal(1, stats.connects)  -- the onboarding reuses the lookups' connection
  end)
end)
