-- LuaRocks settings to install cdp for OpenResty's LuaJIT (Debian's luajit2):
--   LUAROCKS_CONFIG=rockspec/luarocks-luajit.lua luarocks --lua-version 5.1 make rockspec/cdp-scm-1.rockspec --deps-mode=none
-- Without it LuaRocks builds against plain Lua 5.1's headers and wraps the CLI
-- in lua5.1, which cannot load a core built for LuaJIT 2.1's API.
lua_version = "5.1"
lua_interpreter = "luajit"
variables = {
  LUA_DIR = "/usr",
  LUA_BINDIR = "/usr/bin",
  LUA_INCDIR = "/usr/include/luajit-2.1",
  LUA = "/usr/bin/luajit",
}
