--- cdp.cli.bytecode: the checkout's modules precompiled by `make`, loaded by
-- bin/cdp-onboard in place of their source. Parsing them (about 250 KB of
-- Lua) was the larger part of the CLI's start; loading them precompiled
-- takes a tenth of that.
--
--   make             -> build/5.4/bytecode/cdp.mapping.luac, … (and build/luajit/…)
--   bin/cdp-onboard  -> bytecode.install(top .. "/lua", top .. "/build/5.4/bytecode")
--
-- A precompiled module is used only for a source package.path finds in
-- the checkout's lua folder, and only when it is newer than that source,
-- to the second: a source edited since `make` (or checked out again) is
-- loaded as ever, never hidden behind an older build of it. One that does
-- not load (another interpreter's, a cut file) leaves its source to load
-- too. Compiled with debug information: errors and tracebacks name the
-- source file and line, as before.
local lfs = require "lfs"

local bytecode = {}

local searchpath = package.searchpath

-- Where module `name`'s compiled chunk goes in `dir`.
local function compiled_path(dir, name)
  return dir .. "/" .. name .. ".luac"
end

-- Seconds of the last change of `path`, or nil when there is no such file.
local function modified(path)
  return lfs.attributes(path, "modification")
end

--- A searcher (package.searchers) for the modules of `lua_dir` compiled in
-- `dir`: module `name`'s chunk when package.path finds its source in
-- `lua_dir` and the chunk is newer; otherwise nil, and the next searcher
-- loads the source.
function bytecode.searcher(lua_dir, dir)
  local prefix = lua_dir .. "/"
  return function(name)
    local source = searchpath(name, package.path)
    if not source or source:sub(1, #prefix) ~= prefix then return nil end
    local compiled = compiled_path(dir, name)
    local built = modified(compiled)
    if not built or built <= (modified(source) or math.huge) then return nil end
    local chunk = loadfile(compiled, "b")
    if not chunk then return nil end
    return chunk, source
  end
end

--- Put the searcher of `lua_dir`'s chunks in `dir` before the one of Lua sources.
function bytecode.install(lua_dir, dir)
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

--- Compile, for the running interpreter, every module under `lua_dir` into
-- `dir`, each one whose chunk is missing or not newer than its source, and
-- remove the chunks of modules that are gone. Returns how many it compiled;
-- raises on a source that does not compile, on two sources of one module
-- (x.lua and x/init.lua) and on a file it cannot write.
function bytecode.compile(lua_dir, dir)
  assert(lfs.attributes(dir, "mode") == "directory" or lfs.mkdir(dir))
  local count, wanted = 0, {}
  for _, m in ipairs(modules_under(lua_dir, "", {})) do
    local target = compiled_path(dir, m.module)
    if wanted[target] then error(("two sources of module %s: %s and %s"):format(m.module, wanted[target], m.source)) end
    wanted[target] = m.source
    local built = modified(target)
    if not built or built <= modified(m.source) then
      local chunk = assert(loadfile(m.source, "t"))
      local temporary = target .. ".tmp"
      local f = assert(io.open(temporary, "wb"))
      assert(f:write(string.dump(chunk)))
      assert(f:close())
      assert(os.rename(temporary, target))
      count = count + 1
    end
  end
  for entry in lfs.dir(dir) do
    local path = dir .. "/" .. entry
    if entry:match("%.luac$") and not wanted[path] then assert(os.remove(path)) end
  end
  return count
end

return bytecode
