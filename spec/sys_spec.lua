local core = require "cdp.core"

describe("core process helpers", function()
  it("fsync flushes a Lua file to disk and refuses a closed one", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write("durable")
    assert.is_true(core.fsync(f))
    local r = assert(io.open(path))
    assert.equal("durable", r:read("a"))  -- visible before close: it left Lua's buffer
    r:close()
    f:close()
    assert.has_error(function() core.fsync(f) end)
    assert.has_error(function() core.fsync("not a file") end)
    os.remove(path)
  end)

  it("isatty says no for a file", function()
    local f = assert(io.tmpfile())
    assert.is_false(core.isatty(f))
    f:close()
  end)

  it("trap_interrupt turns Ctrl-C into a flag the process can read", function()
    local lua = os.getenv("CDP_LUA") or "lua5.4"
    local script = [[
      local core = require "cdp.core"
      io.write(tostring(core.interrupted()), " ")
      core.trap_interrupt()
      -- system() ignores SIGINT while it runs: send it from a background shell
      os.execute("(sleep 0.1; kill -INT $PPID) &")
      local deadline = os.time() + 10
      while not core.interrupted() and os.time() < deadline do end
      io.write(tostring(core.interrupted()))
      os.exit(7)
    ]]
    local p = assert(io.popen(lua .. " -e '" .. script .. "'; echo \" rc=$?\""))
    local out = p:read("a")
    p:close()
    assert.equal("false true rc=7\n", out)
  end)
end)
