-- The rockspec must install every module, the C core and the CLI, offline.
local ROCKSPEC = "rockspec/cdp-scm-1.rockspec"

local function load_rockspec()
  local env = {}
  local chunk
  if setfenv then
    chunk = assert(loadfile(ROCKSPEC))
    setfenv(chunk, env)
  else
    chunk = assert(loadfile(ROCKSPEC, "t", env))
  end
  chunk()
  return env
end

local function listing(cmd)
  local out = {}
  local p = assert(io.popen(cmd))
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  table.sort(out)
  return out
end

local function sorted_keys(t, filter)
  local out = {}
  for k, v in pairs(t) do if filter(k, v) then out[#out + 1] = v end end
  table.sort(out)
  return out
end

describe("rockspec", function()
  local spec = load_rockspec()

  it("builds the C core from every src/*.c", function()
    local sources = spec.build.modules["cdp.core"].sources
    table.sort(sources)
    assert.same(listing("ls src/*.c"), sources)
  end)

  it("installs every Lua module under lua/", function()
    local files = sorted_keys(spec.build.modules, function(name) return name ~= "cdp.core" end)
    assert.same(listing("cd . && find lua -name '*.lua'"), files)
    for name, path in pairs(spec.build.modules) do
      if name ~= "cdp.core" then
        local expected = path:gsub("^lua/", ""):gsub("/init%.lua$", ""):gsub("%.lua$", ""):gsub("/", ".")
        assert.equal(expected, name)
      end
    end
  end)

  it("installs with luarocks make --deps-mode=none, offline, and the result works", function()
    local abi = (type(jit) == "table") and "5.1" or "5.4"
    local lua = (type(jit) == "table") and "luajit" or "lua5.4"
    local tree = os.tmpname()
    os.remove(tree)
    local log = tree .. ".log"
    -- LuaJIT: luajit2's headers and interpreter, not plain Lua 5.1's (README says so too).
    local config = (type(jit) == "table") and "LUAROCKS_CONFIG=rockspec/luarocks-luajit.lua " or ""
    local ok = os.execute(("%sluarocks --lua-version %s make %s --tree %s --deps-mode=none >%s 2>&1")
      :format(config, abi, ROCKSPEC, tree, log))
    local f = io.open(log)
    local text = f and f:read("a") or ""
    if f then f:close() end
    os.remove(log)
    assert(ok == true or ok == 0, "luarocks make failed:\n" .. text)
    -- A non-default tree needs `luarocks path`, as for any rock installed with --tree.
    local paths = ("eval \"$(luarocks --lua-version %s --tree %s path)\"; "):format(abi, tree)
    local p = io.popen(paths .. lua .. [[ -e 'local cdp = require "cdp"; ]]
      .. [[assert(package.searchpath("cdp.core", package.cpath):find("]] .. tree .. [[", 1, true)); ]]
      .. [[assert(require("cdp.core").sha256("")); io.write(cdp._VERSION)' 2>&1]])
    local version = p:read("a")
    p:close()
    assert.equal(require("cdp")._VERSION, version)
    local help = io.popen(paths .. tree .. "/bin/cdp-onboard --help 2>&1")
    local usage = help:read("a")
    help:close()
    assert.matches("Usage: cdp%-onboard", usage)
    os.execute("rm -rf '" .. tree .. "'")
  end)
end)
