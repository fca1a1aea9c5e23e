local config = require "cdp.config"

local function write(content, mode)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(content)
  f:close()
  os.execute("chmod " .. (mode or "600") .. " " .. path)
  return path
end

describe("cdp.config", function()
  it("reads NAME=value lines, `export`, quotes and comments", function()
    local path = write(table.concat({
      "# sandbox",
      "export CDP_BASE_URL=https://127.0.0.1:8443",
      "CDP_CLIENT_ID='partner-app'",
      'CDP_CLIENT_SECRET="s3cr=t with spaces"',
      "",
      "CDP_SCOPE=",
    }, "\n"))
    local options = assert(config.load(path))
    os.remove(path)
    assert.same({
      base_url = "https://127.0.0.1:8443",
      client_id = "partner-app",
      client_secret = "s3cr=t with spaces",
    }, options)
  end)

  it("refuses a file other users can read, without showing its content", function()
    local path = write("CDP_PASSWORD=hunter2\n", "644")
    local options, err = config.load(path)
    os.remove(path)
    assert.is_nil(options)
    assert.matches("readable by other users", err)
    assert.matches("chmod 600", err)
    assert.is_nil(err:find("hunter2", 1, true))
  end)

  it("names the line of an unknown setting or a malformed line, never the value", function()
    local path = write("CDP_PASWORD=hunter2\n")
    local _, err = config.load(path)
    assert.matches(":1: unknown setting CDP_PASWORD", err)
    assert.is_nil(err:find("hunter2", 1, true))
    os.remove(path)
    path = write("CDP_USERNAME=u\nhunter2\n")
    _, err = config.load(path)
    os.remove(path)
    assert.matches(":2: expected NAME=value", err)
    assert.is_nil(err:find("hunter2", 1, true))
  end)

  it("reports a missing file and raises on misuse", function()
    local options, err = config.load("/no/such/cdp.conf")
    assert.is_nil(options)
    assert.matches("No such file", err)
    assert.has_error(function() config.load(nil) end)
  end)
end)
