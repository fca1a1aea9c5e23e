--- cdp.cli.bytecode: the CLI's modules precompiled by `make`, loaded in place
-- of their source. Parsing some 300 KB of Lua (ours and argparse) was about
-- 9 ms of the CLI's start, the larger part of it; loading the same modules
-- precompiled takes under 1 ms.
--
--   make                      -> build/5.4/bytecode/cdp.mapping.luac, … (and luajit)
--   bin/cdp-onboard           -> bytecode.install(top .. "/build/5.4/bytecode")
--
-- A precompiled module is used only when it is newer than its source, to
-- the second: a source edited since `make` (or checked out again) is loaded
-- as ever, never hidden behind an older build of it. One that does not
-- load (another interpreter's, a cut file) leaves its source to load too.
-- Compiled with debug information: errors and tracebacks name the source
-- file and line, as before.
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

--- A searcher (package.searchers) for the modules compiled in `dir`:
-- module `name`'s chunk when it is newer than the source package.path
-- finds for it; otherwise nil, and the next searcher loads the source.
function bytecode.searcher(dir)
  return function(name)
    local source = searchpath(name, package.path)
    if not source then return nil end
    local compiled = compiled_path(dir, name)
    local built = modified(compiled)
    if not built or built <= (modified(source) or math.huge) then return nil end
    local chunk = loadfile(compiled, "b")
    if not chunk then return nil end
    return chunk, source
  end
end

--- Put the searcher of `dir` before the one of Lua sources.
function bytecode.install(dir)
  local searchers = package.searchers or package.loaders  -- luacheck: ignore 143 (LuaJIT)
  table.insert(searchers, 2, bytecode.searcher(dir))
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

--- Compile, for the running interpreter, every module under `lua_dir` and
-- the `extra` modules package.path finds (argparse) into `dir`, each one
-- whose chunk is missing or not newer than its source. Returns how many it
-- compiled; raises on a source that does not compile or a file it cannot write.
function bytecode.compile(lua_dir, dir, extra)
  assert(lfs.attributes(dir, "mode") == "directory" or lfs.mkdir(dir))
  local list = modules_under(lua_dir, "", {})
  for _, module in ipairs(extra or {}) do
    local source = searchpath(module, package.path)
    if source then list[#list + 1] = { module = module, source = source } end
  end
  local count = 0
  for _, m in ipairs(list) do
    local target = compiled_path(dir, m.module)
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
  return count
end

return bytecode
