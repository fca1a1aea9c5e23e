#include "lopts.h"
#include "secret.h"
#include "wirecheck.h"

#include <stdio.h>
#include <string.h>

static const char *opt_string(lua_State *L, int t, const char *who, const char *name)
{
    lua_getfield(L, t, name);
    const char *s = NULL;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s: %s must be a string", who, name);
        s = lua_tostring(L, -1);
    }
    lua_pop(L, 1); /* still anchored by the options table */
    return s;
}

static double opt_number(lua_State *L, int t, const char *who, const char *name, double dflt)
{
    lua_getfield(L, t, name);
    double v = dflt;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "%s: %s must be a number", who, name);
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

void cdp_lopts_read(lua_State *L, int idx, const char *who, cdp_lopts *o)
{
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    memset(o, 0, sizeof *o);
    cdp_http_config *hc = &o->http;
    hc->ca_file = opt_string(L, idx, who, "ca_file");
    hc->client_cert = opt_string(L, idx, who, "client_cert");
    hc->client_key = opt_string(L, idx, who, "client_key");
    hc->proxy = opt_string(L, idx, who, "proxy");
    hc->user_agent = opt_string(L, idx, who, "user_agent");
    hc->timeout_ms = (long)(opt_number(L, idx, who, "timeout", 60) * 1000);
    hc->connect_timeout_ms = (long)(opt_number(L, idx, who, "connect_timeout", 10) * 1000);
    double max_response = opt_number(L, idx, who, "max_response_bytes", 1024 * 1024);
    if (max_response < 256)
        luaL_error(L, "%s: max_response_bytes must be at least 256", who);
    hc->max_response = (size_t)max_response;

    cdp_token_config *tc = &o->token;
    tc->token_url = opt_string(L, idx, who, "token_url");
    tc->client_id = opt_string(L, idx, who, "client_id");
    tc->client_secret = opt_string(L, idx, who, "client_secret");
    tc->username = opt_string(L, idx, who, "username");
    tc->password = opt_string(L, idx, who, "password");
    tc->scope = opt_string(L, idx, who, "scope");
    tc->skew = opt_number(L, idx, who, "token_skew", 30);
    if (tc->token_url == NULL)
        luaL_error(L, "%s: token_url is required", who);
    lua_getfield(L, idx, "token_url");
    size_t url_len = 0;
    lua_tolstring(L, -1, &url_len);
    lua_pop(L, 1);
    if (!cdp_url_ok(tc->token_url, url_len))
        luaL_error(L, "%s: token_url must be an http(s) URL without spaces or control characters", who);

    lua_getfield(L, idx, "headers");
    o->headers_at = lua_gettop(L);
    if (lua_isnil(L, o->headers_at))
        return;
    luaL_checktype(L, o->headers_at, LUA_TTABLE);
    o->nheaders = lua_rawlen(L, o->headers_at);
    if (o->nheaders > CDP_MAX_STATIC_HEADERS)
        luaL_error(L, "%s: at most %d headers", who, CDP_MAX_STATIC_HEADERS);
    for (size_t i = 1; i <= o->nheaders; i++) {
        lua_rawgeti(L, o->headers_at, (int)i);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s: headers[%d] must be a string", who, (int)i);
        size_t len = 0;
        const char *line = lua_tolstring(L, -1, &len);
        if (!cdp_header_line_ok(line, len))
            luaL_error(L, "%s: headers[%d] must be one \"Name: value\" line", who, (int)i);
        lua_pop(L, 1);
    }
}

void cdp_conn_open(lua_State *L, const cdp_lopts *o, const char *who, cdp_conn *conn)
{
    char err[256] = "out of memory";
    conn->http = cdp_http_new(&o->http, err, sizeof err);
    if (conn->http == NULL)
        luaL_error(L, "%s: %s", who, err);
    conn->token = cdp_token_acquire(&o->token);
    if (conn->token == NULL) {
        cdp_conn_close(conn);
        luaL_error(L, "%s: out of memory", who);
    }
    for (size_t i = 1; i <= o->nheaders; i++) {
        lua_rawgeti(L, o->headers_at, (int)i);
        conn->headers[i - 1] = cdp_strdup(lua_tostring(L, -1));
        lua_pop(L, 1);
        if (conn->headers[i - 1] == NULL) {
            cdp_conn_close(conn);
            luaL_error(L, "%s: out of memory", who);
        }
        conn->nheaders = i;
    }
}

int cdp_conn_copy(const cdp_conn *from, cdp_conn *to, char *err, size_t errlen)
{
    memset(to, 0, sizeof *to);
    to->http = cdp_http_dup(from->http, err, errlen);
    if (to->http == NULL)
        return -1;
    cdp_token_retain(from->token);
    to->token = from->token;
    for (size_t i = 0; i < from->nheaders; i++) {
        to->headers[i] = cdp_strdup(from->headers[i]);
        if (to->headers[i] == NULL) {
            cdp_conn_close(to);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        to->nheaders = i + 1;
    }
    return 0;
}

void cdp_conn_close(cdp_conn *conn)
{
    cdp_http_free(conn->http);
    conn->http = NULL;
    cdp_token_release(conn->token);
    conn->token = NULL;
    for (size_t i = 0; i < conn->nheaders; i++)
        cdp_secret_free(conn->headers[i]);
    conn->nheaders = 0;
}

const char *cdp_http_fail_kind(cdp_http_fail f)
{
    switch (f) {
    case CDP_HTTP_TLS: return "tls";
    case CDP_HTTP_TIMEOUT: return "timeout";
    case CDP_HTTP_TOO_LARGE: return "protocol";
    case CDP_HTTP_BODY: return "validation";
    case CDP_HTTP_CONNECT:
    case CDP_HTTP_TRANSPORT:
    case CDP_HTTP_INTERNAL:
    case CDP_HTTP_OK:
    default: return "transport";
    }
}

const char *cdp_token_fail_kind(const cdp_token_error *err)
{
    switch (err->status) {
    case CDP_TOKEN_REFUSED: return "auth";
    case CDP_TOKEN_HTTP: return cdp_http_fail_kind(err->http_fail);
    case CDP_TOKEN_SERVER: return "server";
    case CDP_TOKEN_PROTOCOL: return "protocol";
    case CDP_TOKEN_INTERNAL:
    case CDP_TOKEN_OK:
    default: return "transport";
    }
}
