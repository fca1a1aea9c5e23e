/* Sharing the process-wide token cache with other processes (OpenResty's
 * workers): a handle on the cache entry of one set of credentials that can
 * fetch a token (forcing a new grant when told which token went stale),
 * install a token another process fetched, and tell the current one.
 * The Lua side (cdp.ngx) keeps the one token of an nginx in a shared dict. */
#ifndef CDP_NGXSHARE_H
#define CDP_NGXSHARE_H

#include "compat.h"

/* Adds token_share to the table on top. */
void cdp_ngxshare_register(lua_State *L);

#endif
