/* Lua bindings of the transport and token cache: core.client{...}, and the
 * pieces of a request that core.batch (lbatch.c) shares with it. */
#ifndef CDP_LCLIENT_H
#define CDP_LCLIENT_H

#include "body.h"
#include "compat.h"
#include "http.h"
#include "lopts.h"
#include "token.h"

/* Adds client, sleep and jitter to the table on top. */
void cdp_lclient_register(lua_State *L);

/* The connection of the core.client at `idx`; raises when it is not one or
 * is closed. */
cdp_conn *cdp_lclient_check(lua_State *L, int idx);

/* Build *out from the parts table at `idx` (see core.client's request).
 * Returns 0, or -1 with a message (a document that cannot be read) pushed
 * and *bad_part set to that document's index in the parts.
 * *out is set first: the caller frees it on every path. */
int cdp_lclient_build_body(lua_State *L, cdp_body **out, int idx, int *bad_part);

/* A request's header lines: the static ones, Accept, Content-Type when there
 * is a body. Returns their count n; headers[n] is left for the bearer line,
 * so `headers` needs CDP_REQUEST_HEADERS entries. */
#define CDP_REQUEST_HEADERS (CDP_MAX_STATIC_HEADERS + 4)
size_t cdp_conn_request_headers(const cdp_conn *conn, int has_body, const char **headers);

/* "Authorization: Bearer <token>", to be freed with cdp_secret_free. */
char *cdp_bearer_line(const char *token);

/* Push the outcome of a transfer: a response table (returns 1) or nil and a
 * failure table (returns 2). See core.client's request for the shapes. */
int cdp_lclient_push_result(lua_State *L, const cdp_http_result *res, long connects, int retried);
int cdp_lclient_push_failure(lua_State *L, const char *kind, const char *phase, const char *message);
/* The failure of a body that could not be built: phase "body", with `part`,
 * the index in the parts of the document that could not be read. */
int cdp_lclient_push_body_failure(lua_State *L, const char *message, int part);
int cdp_lclient_push_token_failure(lua_State *L, const cdp_token_error *err);

#endif
