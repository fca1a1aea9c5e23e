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
#include "secret.h"
#include "token.h"

#include <string.h>

#define SHARE_MT "cdp.core.token_share"
#define MAX_HEADERS 32

typedef struct {
    cdp_http *http;
    cdp_token_entry *token;
    char *headers[MAX_HEADERS];
    size_t nheaders;
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
    cdp_http_free(s->http);
    s->http = NULL;
    cdp_token_release(s->token);
    s->token = NULL;
    for (size_t i = 0; i < s->nheaders; i++)
        cdp_secret_free(s->headers[i]);
    s->nheaders = 0;
}

static share *check_share(lua_State *L)
{
    share *s = luaL_checkudata(L, 1, SHARE_MT);
    if (s->token == NULL)
        luaL_argerror(L, 1, "token share is closed");
    return s;
}

static const char *opt_string(lua_State *L, const char *name)
{
    lua_getfield(L, 1, name);
    const char *v = NULL;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "core.token_share: %s must be a string", name);
        v = lua_tostring(L, -1);
    }
    lua_pop(L, 1); /* anchored by the config table */
    return v;
}

static double opt_number(lua_State *L, const char *name, double dflt)
{
    lua_getfield(L, 1, name);
    double v = dflt;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "core.token_share: %s must be a number", name);
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static int l_share_new(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    cdp_http_config hc;
    memset(&hc, 0, sizeof hc);
    hc.ca_file = opt_string(L, "ca_file");
    hc.client_cert = opt_string(L, "client_cert");
    hc.client_key = opt_string(L, "client_key");
    hc.proxy = opt_string(L, "proxy");
    hc.user_agent = opt_string(L, "user_agent");
    hc.timeout_ms = (long)(opt_number(L, "timeout", 60) * 1000);
    hc.connect_timeout_ms = (long)(opt_number(L, "connect_timeout", 10) * 1000);
    hc.max_response = (size_t)opt_number(L, "max_response_bytes", 1024 * 1024);

    cdp_token_config tc;
    memset(&tc, 0, sizeof tc);
    tc.token_url = opt_string(L, "token_url");
    tc.client_id = opt_string(L, "client_id");
    tc.client_secret = opt_string(L, "client_secret");
    tc.username = opt_string(L, "username");
    tc.password = opt_string(L, "password");
    tc.scope = opt_string(L, "scope");
    tc.skew = opt_number(L, "token_skew", 30);
    if (tc.token_url == NULL)
        return luaL_error(L, "core.token_share: token_url is required");

    lua_getfield(L, 1, "headers");
    int headers_at = lua_gettop(L);
    size_t nheaders = 0;
    if (!lua_isnil(L, headers_at)) {
        luaL_checktype(L, headers_at, LUA_TTABLE);
        nheaders = lua_rawlen(L, headers_at);
        if (nheaders > MAX_HEADERS)
            return luaL_error(L, "core.token_share: at most %d headers", MAX_HEADERS);
        for (size_t i = 1; i <= nheaders; i++) {
            lua_rawgeti(L, headers_at, (int)i);
            if (lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "core.token_share: headers[%d] must be a string", (int)i);
            const char *line = lua_tostring(L, -1);
            if (strchr(line, '\r') || strchr(line, '\n'))
                return luaL_error(L, "core.token_share: headers[%d] must be one line", (int)i);
            lua_pop(L, 1);
        }
    }

    share *s = lua_newuserdata(L, sizeof *s);
    memset(s, 0, sizeof *s);
    luaL_getmetatable(L, SHARE_MT);
    lua_setmetatable(L, -2);
    /* From here __gc frees whatever was taken. */
    char err[256] = "out of memory";
    s->http = cdp_http_new(&hc, err, sizeof err);
    if (s->http == NULL)
        return luaL_error(L, "core.token_share: %s", err);
    s->token = cdp_token_acquire(&tc);
    if (s->token == NULL) {
        share_close(s);
        return luaL_error(L, "core.token_share: out of memory");
    }
    for (size_t i = 1; i <= nheaders; i++) {
        lua_rawgeti(L, headers_at, (int)i);
        s->headers[i - 1] = cdp_strdup(lua_tostring(L, -1));
        lua_pop(L, 1);
        if (s->headers[i - 1] == NULL) {
            share_close(s);
            return luaL_error(L, "core.token_share: out of memory");
        }
        s->nheaders = i;
    }
    return 1;
}

#ifdef CDP_TOKEN_SHARE

#define TOKEN_SHARING 1

static const char *failure_kind(const cdp_token_error *err)
{
    switch (err->status) {
    case CDP_TOKEN_REFUSED: return "auth";
    case CDP_TOKEN_SERVER: return "server";
    case CDP_TOKEN_PROTOCOL: return "protocol";
    case CDP_TOKEN_HTTP:
        if (err->http_fail == CDP_HTTP_TLS)
            return "tls";
        if (err->http_fail == CDP_HTTP_TIMEOUT)
            return "timeout";
        return "transport";
    case CDP_TOKEN_INTERNAL:
    case CDP_TOKEN_OK:
    default: return "transport";
    }
}

static void set_string(lua_State *L, const char *name, const char *value)
{
    lua_pushstring(L, value);
    lua_setfield(L, -2, name);
}

static int push_failure(lua_State *L, const cdp_token_error *err)
{
    lua_pushnil(L);
    lua_createtable(L, 0, 6);
    set_string(L, "kind", failure_kind(err));
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
    int rc = cdp_token_peek(s->token, &s->held[1], &expires_in, &lifetime);
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
        cdp_token_invalidate(s->token, stale);
    char *token = NULL;
    cdp_token_error err;
    release_held(s);
    if (cdp_token_get(s->token, s->http, (const char *const *)s->headers, s->nheaders, &token,
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
    int rc = cdp_token_seed(s->token, token, expires_in, lifetime);
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
    int rc = cdp_token_peek(s->token, &s->held[0], &expires_in, &lifetime);
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
    cdp_token_stats st = cdp_token_get_stats(s->token);
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
    lua_pushstring(L, s->token ? "cdp.core.token_share" : "cdp.core.token_share (closed)");
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
