local bytecode = require "cdp.cli.bytecode"
local core = require "cdp.core"
local files = require "helpers.files"
local fs = require "cdp.sandbox.fs"
local lfs = require "lfs"

local read = files.read

-- A source tree in a fresh temporary folder.
local function tree()
  local top = files.tmpname()
  assert(lfs.mkdir(top))
  assert(lfs.mkdir(top .. "/lua"))
  assert(lfs.mkdir(top .. "/lua/pkg"))
  return top
end

local function write(path, text, mtime)
  assert(fs.write(path, text))
  if mtime then assert(lfs.touch(path, mtime, mtime)) end
end

-- A compiled file as `make` writes it: the stamp of the file at `source`
-- as it is now, then the chunk of `code` (which need not be that file's
-- text: the specs tell them apart).
local function chunk_file(source, code)
  return assert(core.file_stamp(source)) .. "\n" .. string.dump(assert(load(code)))
end

local function listing(dir)
  local out = {}
  for entry in lfs.dir(dir) do
    if entry ~= "." and entry ~= ".." then out[#out + 1] = entry end
  end
  table.sort(out)
  return out
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
    assert(fs.run("rm -rf " .. fs.quote(top)))
  end)

  it("compiles each module of a tree, named as require names it, keeping its file and lines", function()
    write(top .. "/lua/pkg/init.lua", "return 'pkg'")
    write(top .. "/lua/pkg/util.lua", "local x = 1\nreturn function() error('util failed') end")
    assert.equal(2, bytecode.compile(top .. "/lua", top .. "/bc"))
    assert.same({ "pkg.luac", "pkg.util.luac" }, listing(top .. "/bc"))
    assert.equal(0, bytecode.compile(top .. "/lua", top .. "/bc"))  -- nothing changed since
    local loader = assert(bytecode.searcher(top .. "/lua", top .. "/bc")("pkg.util"))
    local ok, err = pcall(loader())
    assert.is_false(ok)
    assert.matches("/lua/pkg/util%.lua:2: util failed", err)
    -- A source changed since: compiled again, whatever its file's time.
    local mtime = lfs.attributes(top .. "/lua/pkg/util.lua", "modification")
    write(top .. "/lua/pkg/util.lua", "return 2", mtime - 100)
    assert.equal(1, bytecode.compile(top .. "/lua", top .. "/bc"))
    -- A module gone from the tree: its chunk goes too, as does a left-over
    -- file of an interrupted `make`.
    os.remove(top .. "/lua/pkg/util.lua")
    write(top .. "/bc/pkg.luac.tmp", "half")
    assert.equal(0, bytecode.compile(top .. "/lua", top .. "/bc"))
    assert.same({ "pkg.luac" }, listing(top .. "/bc"))
    -- Two sources of one module (which one require finds depends on the
    -- path): refused before anything is written.
    assert(lfs.mkdir(top .. "/lua/pkg/twice"))
    write(top .. "/lua/pkg/twice.lua", "return 1")
    write(top .. "/lua/pkg/twice/init.lua", "return 2")
    assert.has_error(function() bytecode.compile(top .. "/lua", top .. "/bc") end)
    assert.same({ "pkg.luac" }, listing(top .. "/bc"))
    os.remove(top .. "/lua/pkg/twice.lua")
    -- A source that does not compile stops `make`.
    write(top .. "/lua/pkg/broken.lua", "return (")
    assert.has_error(function() bytecode.compile(top .. "/lua", top .. "/bc") end)
  end)

  it("loads a compiled module only for its source file as it was when compiled", function()
    local now = os.time()
    write(top .. "/lua/pkg/mod.lua", "return 'source'", now - 10)
    assert(lfs.mkdir(top .. "/bc"))
    write(top .. "/bc/pkg.mod.luac", chunk_file(top .. "/lua/pkg/mod.lua", "return 'compiled'"), now - 20)
    local search = bytecode.searcher(top .. "/lua", top .. "/bc")
    local loader, where = search("pkg.mod")
    assert.equal("compiled", loader())
    assert.equal(top .. "/lua/pkg/mod.lua", where)
    -- Another text of the same size, its modification time set back (a copy
    -- kept with `cp -p`, put back): its own text loads, not the chunk.
    write(top .. "/lua/pkg/mod.lua", "return 'SOURCE'", now - 10)
    assert.is_nil(search("pkg.mod"))
    -- A chunk that does not load (cut short, another interpreter's): the source.
    write(top .. "/bc/pkg.mod.luac", assert(core.file_stamp(top .. "/lua/pkg/mod.lua")) .. "\n\27Lua garbage")
    assert.is_nil(search("pkg.mod"))
    write(top .. "/bc/pkg.mod.luac", "not even a digest")
    assert.is_nil(search("pkg.mod"))
    -- No chunk, or no source: nothing to say (the other searchers speak).
    assert.is_nil(search("pkg.other"))
    write(top .. "/bc/pkg.gone.luac", chunk_file(top .. "/lua/pkg/mod.lua", "return 1"))
    assert.is_nil(search("pkg.gone"))
  end)

  it("never runs an older text put back after `make`, and `make` compiles it again", function()
    local path = top .. "/lua/pkg/restored.lua"
    write(path, "return 'old'", os.time() - 100)
    local old_time = lfs.attributes(path, "modification")
    write(path, "return 'new'")
    bytecode.compile(top .. "/lua", top .. "/bc")
    write(path, "return 'old'", old_time)  -- the backup, with its old time
    local search = bytecode.searcher(top .. "/lua", top .. "/bc")
    assert.is_nil(search("pkg.restored"))
    assert.equal(1, bytecode.compile(top .. "/lua", top .. "/bc"))
    assert.equal("old", assert(search("pkg.restored"))())
  end)

  it("compiles again what was compiled where the tree was before it moved", function()
    write(top .. "/lua/pkg/moved.lua", "return debug.getinfo(1, 'S').source")
    assert.equal(1, bytecode.compile(top .. "/lua", top .. "/bc"))
    assert(lfs.mkdir(top .. "/copy"))
    write(top .. "/copy/moved.lua", read(top .. "/lua/pkg/moved.lua"))
    assert(lfs.mkdir(top .. "/copy-bc"))
    write(top .. "/copy-bc/moved.luac", read(top .. "/bc/pkg.moved.luac"))
    -- The copy's chunk names where it was compiled, until `make` runs there.
    assert.equal(1, bytecode.compile(top .. "/copy", top .. "/copy-bc"))
    package.path = top .. "/copy/?.lua;" .. package.path
    local loader = assert(bytecode.searcher(top .. "/copy", top .. "/copy-bc")("moved"))
    assert.equal("@" .. top .. "/copy/moved.lua", loader())
  end)

  it("loads nothing for a source found outside the tree it was compiled from", function()
    -- Another copy of a module earlier in package.path (or the tree's own
    -- gone) is that copy's business: its source loads, never the chunk.
    assert(lfs.mkdir(top .. "/elsewhere"))
    write(top .. "/elsewhere/shadow.lua", "return 'tree'")
    write(top .. "/lua/shadow.lua", "return 'tree'")
    assert(lfs.mkdir(top .. "/bc"))
    write(top .. "/bc/shadow.luac", chunk_file(top .. "/lua/shadow.lua", "return 'compiled'"))
    package.path = top .. "/elsewhere/?.lua;" .. package.path
    assert.is_nil(bytecode.searcher(top .. "/lua", top .. "/bc")("shadow"))
  end)

  it("puts its searcher before the one of Lua sources, so require takes the chunk", function()
    write(top .. "/lua/pkg/fresh.lua", "return 'source'")
    assert(lfs.mkdir(top .. "/bc"))
    write(top .. "/bc/pkg.fresh.luac", chunk_file(top .. "/lua/pkg/fresh.lua", "return 'compiled'"))
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
