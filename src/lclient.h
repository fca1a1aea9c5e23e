/* Lua bindings of the transport and token cache: core.client{...}. */
#ifndef CDP_LCLIENT_H
#define CDP_LCLIENT_H

#include "compat.h"

/* Adds client and sleep to the table on top. */
void cdp_lclient_register(lua_State *L);

#endif
