/* Lua bindings of concurrent requests over libcurl's multi interface:
 * core.batch(client, n). */
#ifndef CDP_LBATCH_H
#define CDP_LBATCH_H

#include "compat.h"

/* Adds batch and monotonic to the table on top. */
void cdp_lbatch_register(lua_State *L);

#endif
