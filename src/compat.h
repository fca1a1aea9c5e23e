/* Lua 5.1 ABI (OpenResty's LuaJIT 2.1) to 5.4: the few calls the core needs.
 * OpenResty's LuaJIT already has luaL_newlib, luaL_setfuncs, luaL_testudata. */
#ifndef CDP_COMPAT_H
#define CDP_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502
#define lua_rawlen(L, i) lua_objlen(L, (i))
#define lua_absindex(L, i) \
    (((i) > 0 || (i) <= LUA_REGISTRYINDEX) ? (i) : lua_gettop(L) + (i) + 1)
#endif

#endif
