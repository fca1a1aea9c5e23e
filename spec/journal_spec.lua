local journal = require "cdp.journal"

local function tmp()
  local path = os.tmpname()
  os.remove(path)
  return path
end

describe("cdp.journal", function()
  it("writes every kind of entry so that it reads back as it was", function()
    local cjson = require "cjson"
    local path = tmp()
    local j = assert(journal.open(path))
    local entries = {  -- flat ones go through core.json_line, the others through lua-cjson
      { key = "k1", number = 1, id_type = 4, id_number = "784197809873413", time = 1795758742 },
      { key = 'k"2\\', message = "a \"quoted\" \\ thing\n\1\127 caf\195\169 / \226\128\168", skipped = true },
      { key = "k3", big = 2 ^ 60, negative = -3, zero = 0, no = false },
      { key = "k4", code = 1.5, message = "a fraction goes to lua-cjson" },
      { key = "k5", message = "invalid UTF-8 \255 goes to lua-cjson as it is" },
      { key = "k6", details = { { path = "x", message = "nested" } } },
    }
    for _, e in ipairs(entries) do assert(j:write(e)) end
    j:close()
    local i = 0
    for line in io.lines(path) do
      i = i + 1
      local back = cjson.decode(line)
      if i == 5 then
        assert.equal(entries[5].message, back.message)
      else
        assert.are.same(entries[i], back)
      end
    end
    assert.equal(#entries, i)
    -- The flat lines are the C writer's: "/" as it is (lua-cjson writes "\/"),
    -- 2^60 in full (lua-cjson: 1.1529215046068e+18).
    local text = assert(io.open(path)):read("a")
    assert.truthy(text:find("caf\195\169 / ", 1, true))
    assert.truthy(text:find('"big":1152921504606846976', 1, true))
    os.remove(path)
  end)

  it("keeps outcomes across reopen and tells what is done, unknown and new", function()
    local path = tmp()
    local j = assert(journal.open(path))
    assert(j:start("784-1", { number = 1, id_type = "4", id_number = "7841" }))
    assert(j:finish("784-1", { outcome = "created", ecrn = "7841000000000001" }))
    assert(j:start("784-2", { number = 2 }))
    assert(j:start("784-3", { number = 3 }))
    assert(j:finish("784-3", { outcome = "unknown" }))
    assert(j:start("784-4", { number = 4 }))
    assert(j:finish("784-4", { outcome = "failed", error = { kind = "business", code = 45051 } }))
    assert(j:start("784-6", { number = 6 }))
    assert(j:finish("784-6", { outcome = "failed", error_kind = "validation", nothing_sent = true }))
    -- Unknown, then an attempt that sent nothing: still unknown (looked up first).
    assert(j:start("784-7", { number = 7 }))
    assert(j:finish("784-7", { outcome = "unknown" }))
    assert(j:start("784-7", { number = 7 }))
    assert(j:finish("784-7", { outcome = "failed", nothing_sent = true }))
    assert(j:start("784-7", { number = 7 }))
    assert(j:finish("784-7", { outcome = "failed", nothing_sent = true }))
    assert.equal(journal.UNKNOWN, j:state("784-7"))
    j:close()

    local again = assert(journal.open(path))
    assert.equal(journal.DONE, again:state("784-1"))
    assert.equal("7841000000000001", again:entry("784-1").ecrn)
    assert.equal(journal.UNKNOWN, again:state("784-2"))
    assert.equal(journal.UNKNOWN, again:state("784-3"))
    assert.equal(journal.DONE, again:state("784-4"))
    assert.equal(journal.NEW, again:state("784-5"))
    -- Refused with nothing sent (an image missing when it was to go): new again.
    assert.equal(journal.NEW, again:state("784-6"))
    assert.equal(journal.UNKNOWN, again:state("784-7"))
    again:close()
    os.remove(path)
  end)

  it("syncs deferred entries together, once, and only when something was written", function()
    local core = require "cdp.core"
    local real, syncs = core.fsync, 0
    core.fsync = function(file) syncs = syncs + 1 return real(file) end
    local path = tmp()
    local j = assert(journal.open(path))
    local ok, err = pcall(function()
      assert(j:start("a", { number = 1 }, true))
      assert(j:start("b", { number = 2 }, true))
      assert(j:finish("c", { outcome = "created" }, true))
      assert.equal(0, syncs)
      assert.equal(journal.UNKNOWN, j:state("a"))
      assert(j:sync())
      assert.equal(1, syncs)
      assert(j:sync())          -- nothing new: no second fsync
      assert.equal(1, syncs)
      assert(j:finish("a", { outcome = "created" }))  -- not deferred: synced at once
      assert.equal(2, syncs)
    end)
    core.fsync = real
    assert(ok, err)
    j:close()
    local again = assert(journal.open(path))
    assert.equal(journal.DONE, again:state("a"))
    assert.equal(journal.UNKNOWN, again:state("b"))
    assert.equal(journal.DONE, again:state("c"))
    again:close()
    os.remove(path)
  end)

  it("hands out its file for a sync of one's own only when something was written since", function()
    local path = tmp()
    local j = assert(journal.open(path))
    assert.is_nil(j:begin_sync())
    assert(j:start("a", { number = 1 }, true))
    local file = j:begin_sync()
    assert.equal("userdata", type(file))
    assert.is_nil(j:begin_sync())   -- what was written is that sync's
    assert(j:sync())                -- clean: its own sync has nothing to do
    assert(j:finish("a", { outcome = "created" }, true))
    assert.equal(file, j:begin_sync())
    j:close()
    os.remove(path)
  end)

  it("reads past a line torn by a crash, and the record stays unknown", function()
    local path = tmp()
    local j = assert(journal.open(path))
    assert(j:start("a", {}))
    j:close()
    local f = assert(io.open(path, "ab"))
    f:write('{"event":"end","key":"a","outco')  -- killed mid-write
    f:close()
    local again = assert(journal.open(path))
    assert.equal(1, again.torn)
    assert.equal(journal.UNKNOWN, again:state("a"))
    assert(again:finish("a", { outcome = "reconciled", ecrn = "1" }))
    again:close()
    local third = assert(journal.open(path))
    assert.equal(journal.DONE, third:state("a"))
    third:close()
    os.remove(path)
  end)

  it("reports a failed flush instead of syncing what was dropped", function()
    local path = tmp()
    local j = assert(journal.open(path))
    assert(j:start("784-9", { number = 9 }, true))
    local real = j.file
    -- A flush that fails (a full disk): the C library drops its buffer, so a
    -- sync that went on would report entries that never reached the file.
    j.file = setmetatable({ flush = function() return nil, "No space left on device" end },
      { __index = function(_, k) return function(_, ...) return real[k](real, ...) end end })
    local ok, err = j:sync()
    assert.is_nil(ok)
    assert.equal("No space left on device", err)
    j.file = real
    j:close()
    os.remove(path)
  end)

  it("returns nil, message when the journal cannot be written", function()
    local j, err = journal.open("/no/such/dir/journal.jsonl")
    assert.is_nil(j)
    assert.matches("No such file", err)
  end)
end)
