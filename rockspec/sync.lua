-- Rewrites the module lists of the rockspec from the tree: `make rockspec`.
-- (rockspecs cannot glob; spec/rockspec_spec.lua fails when the lists are stale)
local ROCKSPEC = "rockspec/cdp-scm-1.rockspec"

local function lines_of(cmd)
  local out = {}
  local p = assert(io.popen(cmd))
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  table.sort(out)
  return out
end

local c_sources, lua_modules = {}, {}
for _, path in ipairs(lines_of("ls src/*.c")) do
  c_sources[#c_sources + 1] = ('        "%s",'):format(path)
end
for _, path in ipairs(lines_of("find lua -name '*.lua'")) do
  local name = path:gsub("^lua/", ""):gsub("/init%.lua$", ""):gsub("%.lua$", ""):gsub("/", ".")
  lua_modules[#lua_modules + 1] = ('    ["%s"] = "%s",'):format(name, path)
end

local f = assert(io.open(ROCKSPEC))
local text = f:read("a")
f:close()
local function replace(marker, body)
  local pattern = "(%-%- " .. marker .. ":begin\n).-([ \t]*%-%- " .. marker .. ":end)"
  local n
  text, n = text:gsub(pattern, function(a, b) return a .. body .. "\n" .. b end)
  assert(n == 1, "marker " .. marker .. " not found")
end
replace("sources", table.concat(c_sources, "\n"))
replace("modules", table.concat(lua_modules, "\n"))
f = assert(io.open(ROCKSPEC, "w"))
f:write(text)
f:close()
