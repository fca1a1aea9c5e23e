local bytecode = require "cdp.cli.bytecode"
local lfs = require "lfs"

-- A source tree and a folder for its compiled chunks, in a fresh temporary folder.
local function tree()
  local top = os.tmpname()
  os.remove(top)
  assert(lfs.mkdir(top))
  assert(lfs.mkdir(top .. "/lua"))
  assert(lfs.mkdir(top .. "/lua/pkg"))
  return top
end

local function write(path, text, mtime)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  if mtime then assert(lfs.touch(path, mtime, mtime)) end
end

local function remove_tree(path)
  for entry in lfs.dir(path) do
    if entry ~= "." and entry ~= ".." then
      local p = path .. "/" .. entry
      if lfs.attributes(p, "mode") == "directory" then remove_tree(p) else os.remove(p) end
    end
  end
  lfs.rmdir(path)
end

describe("cdp.cli.bytecode", function()
  local top, saved_path
  before_each(function()
    top = tree()
    saved_path = package.path
    package.path = top .. "/lua/?.lua;" .. top .. "/lua/?/init.lua;" .. package.path
  end)
  after_each(function()
    package.path = saved_path
    remove_tree(top)
  end)

  it("compiles each module of a tree, named as require names it, keeping its file and lines", function()
    local now = os.time()
    write(top .. "/lua/pkg/init.lua", "return 'pkg'", now - 10)
    write(top .. "/lua/pkg/util.lua", "local x = 1\nreturn function() error('util failed') end", now - 10)
    assert.equal(2, bytecode.compile(top .. "/lua", top .. "/bc"))
    assert.equal(0, bytecode.compile(top .. "/lua", top .. "/bc"))  -- nothing changed since
    local chunk = assert(loadfile(top .. "/bc/pkg.util.luac", "b"))
    local ok, err = pcall(chunk())
    assert.is_false(ok)
    assert.matches("/lua/pkg/util%.lua:2: util failed", err)
    assert.equal("pkg", assert(loadfile(top .. "/bc/pkg.luac", "b"))())
    -- A source changed since: compiled again.
    write(top .. "/lua/pkg/util.lua", "return 2", now + 5)
    assert.equal(1, bytecode.compile(top .. "/lua", top .. "/bc"))
    -- A module gone from the tree: its chunk goes too.
    os.remove(top .. "/lua/pkg/util.lua")
    assert.equal(0, bytecode.compile(top .. "/lua", top .. "/bc"))
    assert.is_nil(lfs.attributes(top .. "/bc/pkg.util.luac"))
    assert.truthy(lfs.attributes(top .. "/bc/pkg.luac"))
    -- Two sources of one module: which one require finds depends on the path.
    assert(lfs.mkdir(top .. "/lua/pkg/twice"))
    write(top .. "/lua/pkg/twice.lua", "return 1", now + 5)
    write(top .. "/lua/pkg/twice/init.lua", "return 2", now + 5)
    assert.has_error(function() bytecode.compile(top .. "/lua", top .. "/bc") end)
    os.remove(top .. "/lua/pkg/twice.lua")
    -- A source that does not compile stops `make`.
    write(top .. "/lua/pkg/broken.lua", "return (", now + 5)
    assert.has_error(function() bytecode.compile(top .. "/lua", top .. "/bc") end)
  end)

  it("loads a compiled module only when it is newer than its source, to the second", function()
    local now = os.time()
    write(top .. "/lua/pkg/mod.lua", "return 'source'", now - 10)
    assert(lfs.mkdir(top .. "/bc"))
    write(top .. "/bc/pkg.mod.luac", string.dump(assert(load("return 'compiled'"))), now - 5)
    local search = bytecode.searcher(top .. "/lua", top .. "/bc")
    local loader, where = search("pkg.mod")
    assert.equal("compiled", loader())
    assert.equal(top .. "/lua/pkg/mod.lua", where)
    -- The source edited after `make`: it loads, not the older chunk.
    assert(lfs.touch(top .. "/lua/pkg/mod.lua", now, now))
    assert.is_nil(search("pkg.mod"))
    -- Edited in the same second as the chunk was written: the source too.
    assert(lfs.touch(top .. "/bc/pkg.mod.luac", now, now))
    assert.is_nil(search("pkg.mod"))
    -- A chunk that does not load (cut short, another interpreter's): the source.
    write(top .. "/bc/pkg.mod.luac", "\27Lua garbage", now + 5)
    assert.is_nil(search("pkg.mod"))
    -- No chunk, or no source: nothing to say (the other searchers speak).
    assert.is_nil(search("pkg.other"))
    write(top .. "/bc/pkg.gone.luac", string.dump(assert(load("return 1"))), now + 5)
    assert.is_nil(search("pkg.gone"))
  end)

  it("loads nothing for a source found outside the tree it was compiled from", function()
    -- Another copy of a module earlier in package.path (or the tree's own
    -- gone) is that copy's business: its source loads, never the chunk.
    local now = os.time()
    assert(lfs.mkdir(top .. "/elsewhere"))
    write(top .. "/elsewhere/shadow.lua", "return 'elsewhere'", now - 10)
    write(top .. "/lua/shadow.lua", "return 'tree'", now - 10)
    assert(lfs.mkdir(top .. "/bc"))
    write(top .. "/bc/shadow.luac", string.dump(assert(load("return 'compiled'"))), now - 5)
    package.path = top .. "/elsewhere/?.lua;" .. package.path
    assert.is_nil(bytecode.searcher(top .. "/lua", top .. "/bc")("shadow"))
  end)

  it("puts its searcher before the one of Lua sources, so require takes the newer chunk", function()
    local now = os.time()
    write(top .. "/lua/pkg/fresh.lua", "return 'source'", now - 10)
    assert(lfs.mkdir(top .. "/bc"))
    write(top .. "/bc/pkg.fresh.luac", string.dump(assert(load("return 'compiled'"))), now - 5)
    local searchers = package.searchers or package.loaders  -- luacheck: ignore 143 (LuaJIT)
    local before = #searchers
    bytecode.install(top .. "/lua", top .. "/bc")
    finally(function()
      table.remove(searchers, 2)
      package.loaded["pkg.fresh"] = nil
    end)
    assert.equal(before + 1, #searchers)
    assert.equal("compiled", require("pkg.fresh"))
  end)
end)
