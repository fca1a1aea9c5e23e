--- cdp.cli.bytecode: the checkout's modules precompiled by `make`, loaded by
-- bin/cdp-onboard in place of their source. Parsing them (about 250 KB of
-- Lua) was the larger part of the CLI's start; loading them precompiled
-- takes a fraction of that.
--
--   make             -> build/5.4/bytecode/cdp.mapping.luac, … (and build/luajit/…)
--   bin/cdp-onboard  -> bytecode.install(top .. "/lua", top .. "/build/5.4/bytecode")
--
-- A chunk starts with the stamp of the source file it was compiled from
-- (core.file_stamp: device, inode, size, change and modification times to
-- the nanosecond; any write moves the change time, which nothing sets
-- back), and is used only for a source package.path finds in the
-- checkout's lua folder with that very stamp: a source edited, checked out
-- again or restored from a copy since `make` loads from its text until
-- `make` compiles it again. A chunk that does not load (another
-- interpreter's, a cut file) leaves its source to load too. Chunks keep
-- their debug information: errors and tracebacks name the source file
-- (where `make` found it) and line.
local lfs = require "lfs"
local read = require("cdp.sandbox.fs").read
local core_loaded, core = pcall(require, "cdp.core")

local bytecode = {}

local searchpath = package.searchpath

-- Where module `name`'s compiled chunk goes in `dir`.
local function compiled_path(dir, name)
  return dir .. "/" .. name .. ".luac"
end


-- The source's stamp and the chunk's bytes of a compiled file's contents
-- (the stamp's line, then the chunk), or nil.
local function split(data)
  local newline = data and data:find("\n", 1, true)
  if not newline then return nil end
  return data:sub(1, newline - 1), data:sub(newline + 1)
end

--- A searcher (package.searchers) for the modules of `lua_dir` compiled in
-- `dir`: module `name`'s chunk when package.path finds its source in
-- `lua_dir` with the stamp it had when compiled; otherwise nil, and the
-- next searcher loads the source.
function bytecode.searcher(lua_dir, dir)
  local prefix = lua_dir .. "/"
  return function(name)
    local source = searchpath(name, package.path)
    if not source or source:sub(1, #prefix) ~= prefix then return nil end
    local stamp, dump = split(read(compiled_path(dir, name)))
    if not stamp or core.file_stamp(source) ~= stamp then return nil end
    local chunk = load(dump, "=" .. name, "b")
    if not chunk then return nil end
    return chunk, source
  end
end

--- Put the searcher of `lua_dir`'s chunks in `dir` before the one of Lua
-- sources (without the C core, which stamps the sources: nothing).
function bytecode.install(lua_dir, dir)
  if not core_loaded then return end
  local searchers = package.searchers or package.loaders  -- luacheck: ignore 143 (LuaJIT)
  table.insert(searchers, 2, bytecode.searcher(lua_dir, dir))
end

-- The modules under `dir` (lua/cdp/x/y.lua is cdp.x.y, lua/cdp/x/init.lua
-- is cdp.x), each as {module = name, source = path}, added to `out`.
local function modules_under(dir, prefix, out)
  for entry in lfs.dir(dir) do
    local path = dir .. "/" .. entry
    local mode = lfs.attributes(path, "mode")
    if mode == "directory" and entry:sub(1, 1) ~= "." then
      modules_under(path, prefix .. entry .. ".", out)
    elseif mode == "file" then
      local name = entry:match("^(.+)%.lua$")
      if name then
        out[#out + 1] = { module = name == "init" and prefix:sub(1, -2) or prefix .. name, source = path }
      end
    end
  end
  return out
end

-- Whether the file `target` holds the chunk of `source` as it is (`stamp`),
-- compiled there.
local function up_to_date(target, stamp, source)
  local had, dump = split(read(target))
  if had ~= stamp then return false end
  local chunk = load(dump, "=check", "b")
  return chunk ~= nil and debug.getinfo(chunk, "S").source == "@" .. source
end

--- Compile, for the running interpreter, every module under `lua_dir` into
-- `dir`: each whose chunk is missing, of the source as it was or compiled
-- where the source was before (a checkout moved); and remove the files of modules that
-- are gone. Returns how many it compiled; raises, before writing anything,
-- on two sources of one module (x.lua and x/init.lua), and on a source
-- that does not compile or a file it cannot write.
function bytecode.compile(lua_dir, dir)
  assert(core_loaded, "cdp.cli.bytecode: the C core (cdp.core) is needed to stamp the sources")
  assert(lfs.attributes(dir, "mode") == "directory" or lfs.mkdir(dir))
  local modules, sources = modules_under(lua_dir, "", {}), {}
  for _, m in ipairs(modules) do
    m.target = compiled_path(dir, m.module)
    if sources[m.target] then
      error(("two sources of module %s: %s and %s"):format(m.module, sources[m.target], m.source))
    end
    sources[m.target] = m.source
  end
  local count = 0
  for _, m in ipairs(modules) do
    -- Stamped before it is read: a write while `make` runs moves the
    -- stamp, and the chunk is then never used.
    local stamp = assert(core.file_stamp(m.source))
    if not up_to_date(m.target, stamp, m.source) then
      local chunk = assert(loadfile(m.source, "t"))
      local temporary = m.target .. ".tmp"
      local f = assert(io.open(temporary, "wb"))
      assert(f:write(stamp, "\n", string.dump(chunk)))
      assert(f:close())
      assert(os.rename(temporary, m.target))
      count = count + 1
    end
  end
  for entry in lfs.dir(dir) do
    local path = dir .. "/" .. entry
    if (entry:match("%.luac$") and not sources[path]) or entry:match("%.luac%.tmp$") then assert(os.remove(path)) end
  end
  return count
end

return bytecode
