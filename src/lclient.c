/* core.client(config) -> client userdata
 *   config: token_url, client_id, client_secret, username, password, scope,
 *           token_skew, ca_file, client_cert, client_key, proxy, user_agent,
 *           timeout, connect_timeout (seconds), max_response_bytes,
 *           headers (array of "Name: value")
 * client:request(method, url [, parts [, send_once]]) -> response | nil, failure
 *   parts: array of strings (sent as is) and documents ({kind = "file", path}
 *   or {kind = "bytes", data}: sent as their base64). send_once: never let
 *   libcurl re-send it (see cdp_http_perform).
 *   response: { status, body, connects, retried_401, request_sent }
 *   failure:  { kind, phase = "body"|"token"|"request", message, http_status,
 *               oauth_error, request_sent, curl_code, part (phase "body": the
 *               index in parts of the document that could not be read) }
 * client:stats() -> { connects, password_grants, refresh_grants, refused, fetches, clients }
 * client:token_status() -> { expires_in, lifetime } | nil, failure: a valid
 *   token is held (fetched when needed); the token itself never reaches Lua.
 * client:close()
 * core.sleep(seconds), core.jitter() -> [0, 1)
 *
 * Everything a request allocates is owned by the client userdata until the
 * next request or its __gc, so a Lua error (out of memory while pushing the
 * result) leaks nothing. No Lua code runs during a transfer. */
#include "lclient.h"
#include "body.h"
#include "doctype.h"
#include "http.h"
#include "lopts.h"
#include "secret.h"
#include "wirecheck.h"
#include "token.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#define CLIENT_MT "cdp.core.client"

typedef struct {
    cdp_conn conn;
    /* Owned by the request in progress or last finished. */
    cdp_body *body;
    cdp_http_result res;
    char *bearer;       /* "Authorization: Bearer ..." */
} lclient;

static void request_state_free(lclient *c)
{
    cdp_body_free(c->body);
    c->body = NULL;
    cdp_http_result_clear(&c->res, 1);
    cdp_secret_free(c->bearer);
    c->bearer = NULL;
}

static void client_close(lclient *c)
{
    request_state_free(c);
    cdp_conn_close(&c->conn);
}

static lclient *check_client(lua_State *L)
{
    lclient *c = luaL_checkudata(L, 1, CLIENT_MT);
    if (c->conn.http == NULL)
        luaL_argerror(L, 1, "client is closed");
    return c;
}

static int l_client_new(lua_State *L)
{
    cdp_lopts o;
    cdp_lopts_read(L, 1, "core.client", &o);

    lclient *c = lua_newuserdata(L, sizeof *c);
    memset(c, 0, sizeof *c);
    luaL_getmetatable(L, CLIENT_MT);
    lua_setmetatable(L, -2);
    /* From here the userdata's __gc frees whatever was taken. */
    cdp_conn_open(L, &o, "core.client", &c->conn);
    return 1;
}

/* The file document at the top of the stack, as its base64. The file is
 * opened here, just before sending, so that one removed or emptied since
 * validation is refused with nothing sent. A document opened only when sent
 * (left unopened by validation: see cdp.document) is typed by its first
 * bytes, read in the same open, on every send: the type follows the base64
 * in the body (its parts never hold it), and the document is given it.
 * Returns 0, or -1 with the message pushed. */
static int add_file_document(lua_State *L, cdp_body *body, int i)
{
    lua_getfield(L, -1, "path");
    const char *path = lua_tostring(L, -1);
    lua_pop(L, 1); /* anchored by the document table */
    if (path == NULL)
        return luaL_error(L, "parts[%d]: a file document needs a path", i);
    lua_getfield(L, -1, "opened_when_sent");
    int typed = !lua_toboolean(L, -1);
    lua_pop(L, 1);
    char err[512];
    unsigned char head[CDP_DOCTYPE_HEAD] = {0};
    size_t head_len = 0;
    uint64_t before = cdp_body_length(body);
    if (cdp_body_add_file_b64_head(body, path, typed ? NULL : head, sizeof head, &head_len, err,
                                   sizeof err) != 0) {
        lua_pushstring(L, err);
        return -1;
    }
    if (cdp_body_length(body) == before) {
        lua_pushfstring(L, "file is empty: %s", path);
        return -1;
    }
    if (typed)
        return 0;
    const cdp_doctype *found = cdp_doctype_sniff(head, head_len);
    if (found == NULL) {
        lua_pushfstring(L, "unknown content type of %s (not JPEG, PNG or PDF); give one", path);
        return -1;
    }
    lua_pushstring(L, found->type);
    lua_setfield(L, -2, "content_type");
    if (cdp_body_add_text(body, found->member, found->member_len) != 0)
        return luaL_error(L, "out of memory");
    return 0;
}

int cdp_lclient_build_body(lua_State *L, cdp_body **out, int idx, int *bad_part)
{
    cdp_body *body = *out = cdp_body_new();
    if (body == NULL)
        return luaL_error(L, "out of memory");
    size_t n = lua_rawlen(L, idx);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (int)i);
        int rc = 0;
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            rc = cdp_body_add_text(body, s, len); /* anchored by the parts table */
        } else if (lua_type(L, -1) == LUA_TTABLE) {
            lua_getfield(L, -1, "kind");
            const char *kind = lua_tostring(L, -1);
            lua_pop(L, 1);
            if (kind != NULL && strcmp(kind, "file") == 0) {
                if (add_file_document(L, body, (int)i) != 0) {
                    lua_remove(L, -2); /* the document: the message is left */
                    *bad_part = (int)i;
                    return -1;
                }
            } else if (kind != NULL && strcmp(kind, "bytes") == 0) {
                lua_getfield(L, -1, "data");
                size_t len;
                const char *data = lua_tolstring(L, -1, &len);
                lua_pop(L, 1); /* anchored by the document table */
                if (data == NULL)
                    return luaL_error(L, "parts[%d]: a bytes document needs data", (int)i);
                rc = cdp_body_add_memory_b64(body, data, len);
            } else {
                return luaL_error(L, "parts[%d]: unknown document kind", (int)i);
            }
        } else {
            return luaL_error(L, "parts[%d]: string or document expected, got %s", (int)i,
                              luaL_typename(L, -1));
        }
        lua_pop(L, 1);
        if (rc != 0)
            return luaL_error(L, "out of memory");
    }
    return 0;
}

static const char *http_fail_reason(cdp_http_fail f)
{
    switch (f) {
    case CDP_HTTP_CONNECT: return "connect";
    case CDP_HTTP_TLS: return "tls";
    case CDP_HTTP_TIMEOUT: return "timeout";
    case CDP_HTTP_TOO_LARGE: return "too_large";
    case CDP_HTTP_BODY: return "body";
    case CDP_HTTP_INTERNAL: return "internal";
    case CDP_HTTP_TRANSPORT:
    case CDP_HTTP_OK:
    default: return "transport";
    }
}

static void set_field_string(lua_State *L, const char *name, const char *value)
{
    lua_pushstring(L, value);
    lua_setfield(L, -2, name);
}

int cdp_lclient_push_failure(lua_State *L, const char *kind, const char *phase, const char *message)
{
    lua_pushnil(L);
    lua_createtable(L, 0, 8);
    set_field_string(L, "kind", kind);
    set_field_string(L, "phase", phase);
    set_field_string(L, "message", message);
    return 2;
}

int cdp_lclient_push_body_failure(lua_State *L, const char *message, int part)
{
    int n = cdp_lclient_push_failure(L, "validation", "body", message);
    lua_pushinteger(L, part);
    lua_setfield(L, -2, "part");
    return n;
}

int cdp_lclient_push_token_failure(lua_State *L, const cdp_token_error *err)
{
    const char *kind = cdp_token_fail_kind(err);
    cdp_lclient_push_failure(L, kind, "token", err->message);
    if (err->status == CDP_TOKEN_HTTP) {
        set_field_string(L, "reason", http_fail_reason(err->http_fail));
    }
    if (err->http_status) {
        lua_pushinteger(L, err->http_status);
        lua_setfield(L, -2, "http_status");
    }
    if (err->error[0])
        set_field_string(L, "oauth_error", err->error);
    return 2;
}

char *cdp_bearer_line(const char *token)
{
    static const char prefix[] = "Authorization: Bearer ";
    size_t lp = sizeof prefix - 1, lt = strlen(token);
    char *line = malloc(lp + lt + 1);
    if (line == NULL)
        return NULL;
    memcpy(line, prefix, lp);
    memcpy(line + lp, token, lt + 1);
    return line;
}

size_t cdp_conn_request_headers(const cdp_conn *conn, int has_body, const char **headers)
{
    size_t nh = 0;
    for (size_t i = 0; i < conn->nheaders; i++)
        headers[nh++] = conn->headers[i];
    headers[nh++] = "Accept: application/json";
    if (has_body)
        headers[nh++] = "Content-Type: application/json";
    headers[nh] = NULL;
    return nh;
}

int cdp_lclient_push_result(lua_State *L, const cdp_http_result *res, long connects, int retried)
{
    if (res->fail != CDP_HTTP_OK) {
        cdp_lclient_push_failure(L, cdp_http_fail_kind(res->fail), "request", res->message);
        set_field_string(L, "reason", http_fail_reason(res->fail));
        lua_pushboolean(L, res->request_sent);
        lua_setfield(L, -2, "request_sent");
        lua_pushinteger(L, res->curl_code);
        lua_setfield(L, -2, "curl_code");
        lua_pushboolean(L, retried);
        lua_setfield(L, -2, "retried_401");
        return 2;
    }
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, res->status);
    lua_setfield(L, -2, "status");
    lua_pushlstring(L, res->body, res->len);
    lua_setfield(L, -2, "body");
    lua_pushinteger(L, connects);
    lua_setfield(L, -2, "connects");
    lua_pushboolean(L, retried);
    lua_setfield(L, -2, "retried_401");
    lua_pushboolean(L, res->request_sent);
    lua_setfield(L, -2, "request_sent");
    return 1;
}

cdp_conn *cdp_lclient_check(lua_State *L, int idx)
{
    lclient *c = luaL_checkudata(L, idx, CLIENT_MT);
    if (c->conn.http == NULL)
        luaL_argerror(L, idx, "client is closed");
    return &c->conn;
}

static int l_request(lua_State *L)
{
    lclient *c = check_client(L);
    const char *method = luaL_checkstring(L, 2);
    size_t url_len;
    const char *url = luaL_checklstring(L, 3, &url_len);
    /* As libcurl will read it: an embedded NUL would cut it short unseen. */
    luaL_argcheck(L, cdp_url_ok(url, url_len), 3, "an http(s) URL without spaces or control bytes expected");
    int has_body = !lua_isnoneornil(L, 4);
    if (has_body)
        luaL_checktype(L, 4, LUA_TTABLE);
    int send_once = lua_toboolean(L, 5);
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        luaL_argerror(L, 2, "GET or POST expected");

    request_state_free(c);
    int bad_part = 0;
    if (has_body && cdp_lclient_build_body(L, &c->body, 4, &bad_part) != 0) {
        const char *msg = lua_tostring(L, -1);
        request_state_free(c);
        return cdp_lclient_push_body_failure(L, msg, bad_part);
    }

    const char *headers[CDP_REQUEST_HEADERS];
    size_t bearer_at = cdp_conn_request_headers(&c->conn, has_body, headers);
    size_t nh = bearer_at + 1;

    int retried = 0;
    long connects = 0;
    for (;;) {
        char *token = NULL;
        cdp_token_error terr;
        if (cdp_token_get(c->conn.token, c->conn.http, (const char *const *)c->conn.headers, c->conn.nheaders, &token, &terr) != 0) {
            request_state_free(c);
            return cdp_lclient_push_token_failure(L, &terr);
        }
        cdp_secret_free(c->bearer);
        c->bearer = cdp_bearer_line(token);
        if (c->bearer == NULL) {
            cdp_secret_free(token);
            request_state_free(c);
            return luaL_error(L, "out of memory");
        }
        headers[bearer_at] = c->bearer;
        cdp_http_result_clear(&c->res, 1);
        int rc = cdp_http_perform(c->conn.http, method, url, headers, nh, c->body, send_once, &c->res);
        cdp_secret_free(c->bearer);
        c->bearer = NULL;
        connects += c->res.connects;
        if (rc == 0 && c->res.status == 401 && !retried) {
            /* Drop only the token that failed (another thread may have a
             * newer one already), then try once more. */
            cdp_token_invalidate(c->conn.token, token);
            cdp_secret_free(token);
            retried = 1;
            continue;
        }
        cdp_secret_free(token);
        break;
    }

    /* The result lives in c->res until the next request: pushing may raise. */
    int n = cdp_lclient_push_result(L, &c->res, connects, retried);
    request_state_free(c);
    return n;
}

static int l_token_status(lua_State *L)
{
    lclient *c = check_client(L);
    char *token = NULL;
    cdp_token_error terr;
    if (cdp_token_get(c->conn.token, c->conn.http, (const char *const *)c->conn.headers, c->conn.nheaders, &token, &terr) != 0)
        return cdp_lclient_push_token_failure(L, &terr);
    cdp_secret_free(token);
    token = NULL;
    double expires_in = 0, lifetime = 0;
    int rc = cdp_token_peek(c->conn.token, &token, &expires_in, &lifetime);
    cdp_secret_free(token);
    if (rc < 0)
        return luaL_error(L, "out of memory");
    lua_createtable(L, 0, 2);
    lua_pushnumber(L, rc == 0 ? expires_in : 0);
    lua_setfield(L, -2, "expires_in");
    lua_pushnumber(L, rc == 0 ? lifetime : 0);
    lua_setfield(L, -2, "lifetime");
    return 1;
}

static int l_stats(lua_State *L)
{
    lclient *c = check_client(L);
    cdp_token_stats s = cdp_token_get_stats(c->conn.token);
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, cdp_http_connects(c->conn.http));
    lua_setfield(L, -2, "connects");
    lua_pushinteger(L, s.password_grants);
    lua_setfield(L, -2, "password_grants");
    lua_pushinteger(L, s.refresh_grants);
    lua_setfield(L, -2, "refresh_grants");
    lua_pushinteger(L, s.refused);
    lua_setfield(L, -2, "refused");
    lua_pushinteger(L, s.fetches);
    lua_setfield(L, -2, "fetches");
    lua_pushinteger(L, s.clients);
    lua_setfield(L, -2, "clients");
    return 1;
}

static int l_close(lua_State *L)
{
    lclient *c = luaL_checkudata(L, 1, CLIENT_MT);
    client_close(c);
    return 0;
}

static int l_tostring(lua_State *L)
{
    lclient *c = luaL_checkudata(L, 1, CLIENT_MT);
    lua_pushstring(L, c->conn.http ? "cdp.core.client" : "cdp.core.client (closed)");
    return 1;
}

static int l_sleep(lua_State *L)
{
    double s = luaL_checknumber(L, 1);
    if (s <= 0)
        return 0;
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return 0;
}

/* core.jitter() -> a number in [0, 1) from OpenSSL's generator: backoff
 * jitter that differs between processes without touching math.random's seed,
 * which belongs to the application. */
static int l_jitter(lua_State *L)
{
    uint32_t r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
        r = (uint32_t)clock();
    lua_pushnumber(L, (lua_Number)r / 4294967296.0);
    return 1;
}

static const luaL_Reg client_methods[] = {
    {"request", l_request},
    {"stats", l_stats},
    {"token_status", l_token_status},
    {"close", l_close},
    {NULL, NULL},
};

void cdp_lclient_register(lua_State *L)
{
    if (luaL_newmetatable(L, CLIENT_MT)) {
        lua_newtable(L);
        luaL_setfuncs(L, client_methods, 0);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_client_new);
    lua_setfield(L, -2, "client");
    lua_pushcfunction(L, l_sleep);
    lua_setfield(L, -2, "sleep");
    lua_pushcfunction(L, l_jitter);
    lua_setfield(L, -2, "jitter");
}
