/* The Lua options of a connection to the CDP, read the same way for
 * core.client and core.token_share: HTTP settings, token credentials and the
 * static header lines, checked before anything is allocated. */
#ifndef CDP_LOPTS_H
#define CDP_LOPTS_H

#include "compat.h"
#include "http.h"
#include "token.h"

#define CDP_MAX_STATIC_HEADERS 32

typedef struct {
    cdp_http_config http;
    cdp_token_config token;
    int headers_at;  /* stack index of the headers table (nil when none) */
    size_t nheaders;
} cdp_lopts;

/* Read the options table at `idx`; raises (naming `who`) on a wrong type, a
 * missing token_url or a malformed header line. The strings stay anchored by
 * the options table, which must stay on the stack while they are used. */
void cdp_lopts_read(lua_State *L, int idx, const char *who, cdp_lopts *o);

/* What core.client and core.token_share hold: a transfer handle, a
 * reference to the token cache entry, and copies of the static headers. */
typedef struct {
    cdp_http *http;
    cdp_token_entry *token;
    char *headers[CDP_MAX_STATIC_HEADERS];
    size_t nheaders;
} cdp_conn;

/* Open a zeroed `conn` from the options: on failure, closes what it took and
 * raises naming `who`. */
void cdp_conn_open(lua_State *L, const cdp_lopts *o, const char *who, cdp_conn *conn);

/* A copy of `from` for another thread: its own transfer handle, a reference
 * to the same token cache entry, copies of the headers. Returns 0, or -1
 * with `err` filled and nothing taken. */
int cdp_conn_copy(const cdp_conn *from, cdp_conn *to, char *err, size_t errlen);

/* Free and wipe what `conn` holds; safe to call twice. */
void cdp_conn_close(cdp_conn *conn);

/* The error kind of the SDK ("transport", "tls", "timeout", "auth", ...) for
 * a failed transfer or a failed token request. */
const char *cdp_http_fail_kind(cdp_http_fail f);
const char *cdp_token_fail_kind(const cdp_token_error *err);

#endif
