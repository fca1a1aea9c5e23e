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

  it("file_stamp tells a file as it is: any write gives another, a missing file none", function()
    local path = os.tmpname()
    local stamp = assert(core.file_stamp(path))
    assert.matches("^%d+:%d+:0:%d+%.%d%d%d%d%d%d%d%d%d:%d+%.%d%d%d%d%d%d%d%d%d$", stamp)
    assert.equal(stamp, core.file_stamp(path))
    local f = assert(io.open(path, "w"))
    f:write("x")
    f:close()
    local written = assert(core.file_stamp(path))
    assert.not_equal(stamp, written)
    -- The same bytes written again, the modification time put back: the
    -- change time still moves.
    local mtime = require("lfs").attributes(path, "modification")
    f = assert(io.open(path, "w"))
    f:write("x")
    f:close()
    assert(require("lfs").touch(path, mtime, mtime))
    assert.not_equal(written, core.file_stamp(path))
    os.remove(path)
    local none, err = core.file_stamp(path)
    assert.is_nil(none)
    assert.matches("No such file", err)
  end)

  it("new_table gives an empty table with room, and refuses sizes out of range", function()
    local t = core.new_table(4, 20)
    assert.same({}, t)
    assert.is_nil(next(t))
    assert.is_nil(getmetatable(t))
    for i = 1, 4 do t[i] = i end
    for i = 1, 20 do t["k" .. i] = i end
    assert.equal(4, #t)
    assert.equal(20, t.k20)
    assert.same({}, core.new_table(0, 0))
    assert.has_error(function() core.new_table(-1, 0) end)
    assert.has_error(function() core.new_table(0, 65537) end)
    assert.has_error(function() core.new_table("x", 0) end)
  end)

  it("isatty says no for a file", function()
    local f = assert(io.tmpfile())
    assert.is_false(core.isatty(f))
    f:close()
  end)

  it("keep_freed_memory keeps freed heap in the process, and refuses sizes out of range", function()
    -- In a fresh process each: 3 MB of Lua strings (each under malloc's
    -- mmap threshold, so on the heap) freed, and how much of the heap went
    -- back to the system (VmData, KiB).
    local lua = os.getenv("CDP_LUA") or "lua5.4"
    local script = [[
      local core = require "cdp.core"
      local kept = os.getenv("KEEP") and core.keep_freed_memory(8 * 1024 * 1024)
      local function vm_data()
        for line in io.lines("/proc/self/status") do
          local kib = line:match("^VmData:%s*(%d+)")
          if kib then return tonumber(kib) end
        end
      end
      local t = {}
      for i = 1, 30 do t[i] = ("x"):rep(100000) .. i end
      local before = vm_data()
      t = nil
      collectgarbage()
      collectgarbage()
      io.write(tostring(kept), " ", before - vm_data())
    ]]
    local function run(keep)
      local p = assert(io.popen(("%s%s -e '%s'"):format(keep and "KEEP=1 " or "", lua, script)))
      local out = p:read("a")
      p:close()
      local kept, back = out:match("^(%a+) (%-?%d+)$")
      assert(kept, out)
      return kept, tonumber(back)
    end
    local kept, back = run(true)
    if lua:find("/asan%-") then  -- CDP_LUA: build/asan-*/bin/...
      assert.equal("false", kept)  -- ASan's malloc takes no such setting
    else
      assert.equal("true", kept)
      -- LuaJIT allocates its values itself (mmap), not through malloc: there
      -- only the C core's and libcurl's allocations are kept.
      if not lua:find("luajit") then
        assert.equal(0, back)
        local _, default_back = run(false)
        assert.is_true(default_back > 1024, default_back)
      end
    end
    assert.has_error(function() core.keep_freed_memory(1024) end)
    assert.has_error(function() core.keep_freed_memory(2 * 1024 * 1024 * 1024) end)
    assert.has_error(function() core.keep_freed_memory("x") end)
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
