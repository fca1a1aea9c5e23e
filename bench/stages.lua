--- One stage of submit's Lua pipeline, alone, for bench/instructions.lua:
--   lua bench/stages.lua DIR STAGE
-- over DIR/mapping.lua and DIR/input.csv. STAGE: start (load the modules
-- and the mapping, nothing read), read (also read every record), map (also
-- map each), build (read, then build each: map, validate, cross-field
-- checks, rules), parts (build, then write each body's parts).
-- The modules `make` precompiled, as bin/cdp-onboard loads them (run from
-- the checkout's top, LUA_PATH on its lua folder).
do
  local top = os.getenv("PWD") or "."
  require("cdp.cli.bytecode").install(top .. "/lua", top .. "/build/" .. (jit and "luajit" or "5.4") .. "/bytecode")
end
local mapping = require "cdp.mapping"
local records = require "cdp.records"

local dir, stage = arg[1], arg[2]
local m = assert(mapping.load(dir .. "/mapping.lua"))
m._open_files_when_sent = true  -- as submit builds: images opened only to be sent
if stage == "start" then return end
for _, rec in records.each(dir .. "/input.csv") do
  if stage == "map" then
    assert(m:map(rec.fields))
  elseif stage == "build" or stage == "parts" then
    local c = assert(m:build(rec.fields))
    if stage == "parts" then c:parts() end
  elseif stage ~= "read" then
    error("stages.lua: unknown stage " .. tostring(stage))
  end
end
