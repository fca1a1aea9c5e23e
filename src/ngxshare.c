/* core.token_share(config) -> share userdata
 *   config: the token and transport keys of core.client's config
 *           (token_url, client_id, client_secret, username, password, scope,
 *           token_skew, ca_file, client_cert, client_key, proxy, user_agent,
 *           timeout, connect_timeout, headers), so that the share and the
 *           clients made with the same config use one cache entry.
 * share:fetch([stale]) -> token, expires_in, lifetime | nil, failure
 *   a valid token, fetched when needed (blocking: run it in a worker thread);
 *   `stale`: the token the caller wants replaced, dropped first when it is
 *   still the current one, so that a new grant is made (a refresh grant when
 *   this process holds a refresh token).
 *   failure: { kind, phase = "token", message, reason, http_status, oauth_error }
 * share:seed(token, expires_in [, lifetime]) -> installed
 *   install a token fetched by another process, unless the cache holds one
 *   that lives longer. The refresh token stays this process's own.
 * share:peek() -> token, expires_in, lifetime | nil
 * share:stats() -> { password_grants, refresh_grants, refused, fetches, clients }
 * share:close()
 * core.token_sharing: false when the token cache cannot seed or peek.
 *
 * Tokens cross into Lua only as return values; they are never put into a
 * message. Every failure path releases what was taken. */
#include "ngxshare.h"
#include "http.h"
#include "lopts.h"
#include "secret.h"
#include "token.h"

#include <string.h>

#define SHARE_MT "cdp.core.token_share"

typedef struct {
    cdp_conn conn;
    /* Tokens on their way into Lua: held here so that a Lua error while
     * pushing (out of memory) leaks nothing; wiped after the push. */
    char *held[2];
} share;

static void release_held(share *s)
{
    cdp_secret_free(s->held[0]);
    cdp_secret_free(s->held[1]);
    s->held[0] = s->held[1] = NULL;
}

static void share_close(share *s)
{
    release_held(s);
    cdp_conn_close(&s->conn);
}

static share *check_share(lua_State *L)
{
    share *s = luaL_checkudata(L, 1, SHARE_MT);
    if (s->conn.token == NULL)
        luaL_argerror(L, 1, "token share is closed");
    return s;
}

static int l_share_new(lua_State *L)
{
    cdp_lopts o;
    cdp_lopts_read(L, 1, "core.token_share", &o);

    share *s = lua_newuserdata(L, sizeof *s);
    memset(s, 0, sizeof *s);
    luaL_getmetatable(L, SHARE_MT);
    lua_setmetatable(L, -2);
    /* From here __gc frees whatever was taken. */
    cdp_conn_open(L, &o, "core.token_share", &s->conn);
    return 1;
}

#ifdef CDP_TOKEN_SHARE

#define TOKEN_SHARING 1

static void set_string(lua_State *L, const char *name, const char *value)
{
    lua_pushstring(L, value);
    lua_setfield(L, -2, name);
}

static int push_failure(lua_State *L, const cdp_token_error *err)
{
    lua_pushnil(L);
    lua_createtable(L, 0, 6);
    set_string(L, "kind", cdp_token_fail_kind(err));
    set_string(L, "phase", "token");
    set_string(L, "message", err->message);
    if (err->status == CDP_TOKEN_HTTP)
        set_string(L, "reason", err->http_fail == CDP_HTTP_CONNECT ? "connect" : "transport");
    if (err->http_status) {
        lua_pushinteger(L, err->http_status);
        lua_setfield(L, -2, "http_status");
    }
    if (err->error[0])
        set_string(L, "oauth_error", err->error);
    return 2;
}


/* Push the current token with its expiry: the one just fetched, or a newer
 * one another thread installed meanwhile. Wipes the C copies. */
static int push_token(lua_State *L, share *s, char *fetched)
{
    double expires_in = 0, lifetime = 0;
    s->held[0] = fetched;
    int rc = cdp_token_peek(s->conn.token, &s->held[1], &expires_in, &lifetime);
    if (rc == 0) {
        lua_pushstring(L, s->held[1]);
    } else {
        /* Dropped already (a 401 elsewhere): hand it out without an expiry. */
        expires_in = lifetime = 0;
        lua_pushstring(L, fetched);
    }
    release_held(s);
    lua_pushnumber(L, expires_in);
    lua_pushnumber(L, lifetime);
    return 3;
}

static int l_fetch(lua_State *L)
{
    share *s = check_share(L);
    const char *stale = luaL_optstring(L, 2, NULL);
    if (stale != NULL)
        cdp_token_invalidate(s->conn.token, stale);
    char *token = NULL;
    cdp_token_error err;
    release_held(s);
    if (cdp_token_get(s->conn.token, s->conn.http, (const char *const *)s->conn.headers, s->conn.nheaders, &token,
                      &err) != 0)
        return push_failure(L, &err);
    return push_token(L, s, token);
}

static int l_seed(lua_State *L)
{
    share *s = check_share(L);
    const char *token = luaL_checkstring(L, 2);
    double expires_in = luaL_checknumber(L, 3);
    double lifetime = luaL_optnumber(L, 4, expires_in);
    int rc = cdp_token_seed(s->conn.token, token, expires_in, lifetime);
    if (rc < 0)
        return luaL_error(L, "token_share:seed: out of memory or not a token");
    lua_pushboolean(L, rc == 1);
    return 1;
}

static int l_peek(lua_State *L)
{
    share *s = check_share(L);
    double expires_in = 0, lifetime = 0;
    release_held(s);
    int rc = cdp_token_peek(s->conn.token, &s->held[0], &expires_in, &lifetime);
    if (rc < 0)
        return luaL_error(L, "token_share:peek: out of memory");
    if (rc > 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushstring(L, s->held[0]);
    release_held(s);
    lua_pushnumber(L, expires_in);
    lua_pushnumber(L, lifetime);
    return 3;
}

#else /* the core's token cache cannot share yet */

static int unsupported(lua_State *L)
{
    check_share(L);
    return luaL_error(L, "token_share: this core's token cache cannot seed or peek tokens");
}

#define TOKEN_SHARING 0
#define l_fetch unsupported
#define l_seed unsupported
#define l_peek unsupported

#endif

static int l_stats(lua_State *L)
{
    share *s = check_share(L);
    cdp_token_stats st = cdp_token_get_stats(s->conn.token);
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, st.password_grants);
    lua_setfield(L, -2, "password_grants");
    lua_pushinteger(L, st.refresh_grants);
    lua_setfield(L, -2, "refresh_grants");
    lua_pushinteger(L, st.refused);
    lua_setfield(L, -2, "refused");
    lua_pushinteger(L, st.fetches);
    lua_setfield(L, -2, "fetches");
    lua_pushinteger(L, st.clients);
    lua_setfield(L, -2, "clients");
    return 1;
}

static int l_close(lua_State *L)
{
    share *s = luaL_checkudata(L, 1, SHARE_MT);
    share_close(s);
    return 0;
}

static int l_tostring(lua_State *L)
{
    share *s = luaL_checkudata(L, 1, SHARE_MT);
    lua_pushstring(L, s->conn.token ? "cdp.core.token_share" : "cdp.core.token_share (closed)");
    return 1;
}

static const luaL_Reg share_methods[] = {
    {"fetch", l_fetch},
    {"seed", l_seed},
    {"peek", l_peek},
    {"stats", l_stats},
    {"close", l_close},
    {NULL, NULL},
};

void cdp_ngxshare_register(lua_State *L)
{
    if (luaL_newmetatable(L, SHARE_MT)) {
        lua_newtable(L);
        luaL_setfuncs(L, share_methods, 0);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_share_new);
    lua_setfield(L, -2, "token_share");
    /* false: a core whose token cache cannot seed or peek (cdp.ngx then
     * lets each worker fetch its own token). */
    lua_pushboolean(L, TOKEN_SHARING);
    lua_setfield(L, -2, "token_sharing");
}
