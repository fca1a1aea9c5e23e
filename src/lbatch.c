/* core.batch(client, n [, queued]) -> batch: up to n requests in flight at
 * once through one libcurl multi handle, sharing the client's token and the
 * multi's connection cache (kept-alive connections are reused across
 * requests); up to `queued` more wait here, their bodies built, and the
 * first of them goes out as soon as a request in flight ends, inside wait,
 * before Lua runs again.
 *
 * batch:start(method, url [, parts [, send_once]]) -> id
 *   Starts a request like client:request (same arguments), or queues it when
 *   n are in flight; raises when all n + queued slots are busy. Nothing is
 *   reported here: every outcome, failures to read a document or to get a
 *   token included, comes out of wait.
 * batch:wait(seconds) -> { {id, response | false, failure | nil}, ... }
 *   Runs the transfers until at least one ends or `seconds` pass; returns
 *   the ended ones (possibly none), each shaped as client:request's results.
 *   A 401 is retried once with a fresh token, as client:request does.
 *   Once the token endpoint has refused the credentials, the batch's other
 *   requests end with that same answer without asking it again.
 * batch:active() -> requests started (or queued) and not yet returned by wait
 * batch:drop_queued() -> { id, ... }: the queued requests, dropped unsent
 * batch:fsync(file) -> true | nil, message
 *   Flushes the Lua file's buffer, then syncs it to disk in a thread of its
 *   own while the transfers go on; wait returns (early) when it has ended.
 *   One at a time.
 * batch:prefetch_token() -> true | false | nil, message
 *   Fetches the client's token in a thread of its own, on a copy of the
 *   client's connection, while Lua goes on (reading the first records): the
 *   first requests then find it in the process's token cache, or wait there
 *   for that one fetch. Its failure is not reported here: a request that
 *   waited for it ends with that failure, one after a refusal with the
 *   refusal, and one after another failure fetches again. false when one
 *   was asked for already (once a batch) or a request was started.
 * batch:fsync_state() -> "none" | "running" | "ended"
 * batch:fsync_wait() -> true | nil, message: the fsync's result, once it has
 *   ended (blocks until then); the state is "none" again after.
 * batch:close()  (also on __gc; waits for a running fsync or token fetch)
 * core.monotonic() -> seconds on a clock that never jumps (for schedulers)
 *
 * Lua runs only between calls: no callback enters Lua during a transfer.
 * Every slot owns what its request allocated until wait has returned it or
 * the batch is closed, so a Lua error while pushing leaks nothing. */
#include "lbatch.h"
#include "lclient.h"
#include "secret.h"
#include "sys.h"
#include "wirecheck.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define BATCH_MT "cdp.core.batch"
#define BATCH_MAX 64 /* requests in flight; as many more may be queued */

typedef enum { SLOT_IDLE = 0, SLOT_QUEUED, SLOT_RUNNING, SLOT_ENDED } slot_state;

/* Why a request ended before any transfer. */
typedef enum { EARLY_NONE = 0, EARLY_BODY, EARLY_TOKEN } early_failure;

typedef struct {
    slot_state state;
    lua_Integer id; /* also the queue's order: the oldest goes first */
    cdp_http *http;
    cdp_body *body;
    int parts_ref; /* anchors the parts' strings while the body streams them */
    char *url;
    char method[8];
    int send_once, retried;
    long connects;
    char *token;  /* the token the request carries: invalidated on its 401 */
    char *bearer;
    cdp_http_result res;
    early_failure early;
    cdp_token_error token_error;
    char body_error[512];
    int body_part; /* the document body_error is about */
} slot;

/* An fsync in a thread of its own. `ended` and `err` are written by the
 * thread and read by the batch's thread once `ended` is seen set. */
typedef struct {
    pthread_t thread;
    int started; /* a thread runs or has ended, not yet joined */
    int fd;      /* a duplicate of the file's, closed by the thread */
    int ended;
    int err;     /* fsync's errno, 0 when it succeeded */
} fsync_job;

/* A token fetched ahead (batch:prefetch_token). The thread owns `conn`, a
 * copy of the client's, until it is joined. */
typedef struct {
    pthread_t thread;
    int asked;   /* once a batch */
    int started; /* a thread runs or has ended, not yet joined */
    int ended;   /* written by the thread, read with acquire */
    cdp_conn conn;
    int refused; /* the credentials were refused: `error` says how */
    cdp_token_error error;
} prefetch_job;

typedef struct {
    CURLM *multi;
    fsync_job sync;
    prefetch_job prefetch;
    /* The token endpoint refused the client's credentials: the batch's
     * other requests end with that answer, unasked (a partner's identity
     * provider may lock the account after a few failed logins). */
    int refused;
    cdp_token_error refusal;
    cdp_conn *conn;  /* the client's: alive while client_ref holds it */
    int client_ref;
    int n;         /* slots: in flight + queued */
    int in_flight; /* at most this many running */
    lua_Integer next_id;
    slot slots[]; /* in flight + queued */
} lbatch;

static void slot_clear(lua_State *L, slot *s)
{
    cdp_body_free(s->body);
    s->body = NULL;
    if (s->parts_ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, s->parts_ref);
        s->parts_ref = LUA_NOREF;
    }
    free(s->url);
    s->url = NULL;
    cdp_secret_free(s->token);
    s->token = NULL;
    cdp_secret_free(s->bearer);
    s->bearer = NULL;
    cdp_http_result_clear(&s->res, 1);
    s->early = EARLY_NONE;
    s->retried = 0;
    s->connects = 0;
    s->state = SLOT_IDLE;
}

static int fsync_ended(const lbatch *b)
{
    return b->sync.started && __atomic_load_n(&b->sync.ended, __ATOMIC_ACQUIRE);
}

/* The fsync's errno (0: synced), once its thread has been joined. */
static int fsync_join(lbatch *b)
{
    pthread_join(b->sync.thread, NULL);
    b->sync.started = 0;
    return b->sync.err;
}

/* Join the token's thread and free its connection: once it has ended, or
 * (`block`) whatever it is doing. */
static void prefetch_reap(lbatch *b, int block)
{
    if (!b->prefetch.started || (!block && !__atomic_load_n(&b->prefetch.ended, __ATOMIC_ACQUIRE)))
        return;
    pthread_join(b->prefetch.thread, NULL);
    b->prefetch.started = 0;
    cdp_conn_close(&b->prefetch.conn);
    if (b->prefetch.refused && !b->refused) {
        b->refused = 1;
        b->refusal = b->prefetch.error;
    }
}

static void batch_close(lua_State *L, lbatch *b)
{
    prefetch_reap(b, 1);
    if (b->sync.started)
        fsync_join(b); /* its thread wakes the multi handle */
    for (int i = 0; i < b->n; i++) {
        slot *s = &b->slots[i];
        if (s->state == SLOT_RUNNING && b->multi != NULL)
            curl_multi_remove_handle(b->multi, cdp_http_easy(s->http));
        slot_clear(L, s);
        cdp_http_free(s->http);
        s->http = NULL;
    }
    b->n = 0;
    if (b->multi != NULL) {
        curl_multi_cleanup(b->multi);
        b->multi = NULL;
    }
    if (b->client_ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, b->client_ref);
        b->client_ref = LUA_NOREF;
    }
    b->conn = NULL;
}

static lbatch *check_batch(lua_State *L)
{
    lbatch *b = luaL_checkudata(L, 1, BATCH_MT);
    if (b->multi == NULL)
        luaL_argerror(L, 1, "batch is closed");
    if (b->conn->http == NULL)
        luaL_argerror(L, 1, "the batch's client is closed");
    return b;
}

static int l_batch_new(lua_State *L)
{
    cdp_conn *conn = cdp_lclient_check(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n >= 1 && n <= BATCH_MAX, 2, "between 1 and 64 requests in flight");
    lua_Integer queued = luaL_optinteger(L, 3, 0);
    luaL_argcheck(L, queued >= 0 && queued <= BATCH_MAX, 3, "between 0 and 64 requests queued");

    size_t size = sizeof(lbatch) + (size_t)(n + queued) * sizeof(slot);
    lbatch *b = lua_newuserdata(L, size);
    memset(b, 0, size);
    b->client_ref = LUA_NOREF;
    for (int i = 0; i < n + queued; i++)
        b->slots[i].parts_ref = LUA_NOREF;
    b->in_flight = (int)n;
    luaL_getmetatable(L, BATCH_MT);
    lua_setmetatable(L, -2);
    /* From here __gc frees whatever was taken. */
    lua_pushvalue(L, 1);
    b->client_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    b->conn = conn;
    b->multi = curl_multi_init();
    if (b->multi == NULL)
        return luaL_error(L, "core.batch: curl_multi_init failed");
    curl_multi_setopt(b->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)n);
    /* The cache keeps n connections even while few transfers are added
     * (libcurl sizes it by the handles added at the time, closing the rest). */
    curl_multi_setopt(b->multi, CURLMOPT_MAXCONNECTS, (long)n);
    for (int i = 0; i < n + queued; i++) {
        char err[256];
        slot *s = &b->slots[i];
        s->http = cdp_http_dup(conn->http, err, sizeof err);
        if (s->http == NULL)
            return luaL_error(L, "core.batch: %s", err);
        b->n = i + 1;
        CURL *easy = cdp_http_easy(s->http);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, (void *)s);
        /* Over HTTP/2, wait for the connection being set up and multiplex on it. */
        curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
    }
    return 1;
}

static int count_state(const lbatch *b, slot_state state)
{
    int n = 0;
    for (int i = 0; i < b->n; i++)
        n += b->slots[i].state == state;
    return n;
}

/* Get a token and start (or restart, after a 401) the slot's transfer.
 * On failure the slot has ended with the reason recorded. */
static void slot_launch(lbatch *b, slot *s)
{
    cdp_secret_free(s->token);
    s->token = NULL;
    prefetch_reap(b, 0); /* a prefetch that was refused counts */
    if (b->refused) {
        s->token_error = b->refusal;
        s->early = EARLY_TOKEN;
        s->state = SLOT_ENDED;
        return;
    }
    if (cdp_token_get(b->conn->token, b->conn->http, (const char *const *)b->conn->headers,
                      b->conn->nheaders, &s->token, &s->token_error) != 0) {
        if (s->token_error.status == CDP_TOKEN_REFUSED) {
            b->refused = 1;
            b->refusal = s->token_error;
        }
        s->early = EARLY_TOKEN;
        s->state = SLOT_ENDED;
        return;
    }
    cdp_secret_free(s->bearer);
    s->bearer = cdp_bearer_line(s->token);
    const char *headers[CDP_REQUEST_HEADERS];
    size_t nh = cdp_conn_request_headers(b->conn, s->body != NULL, headers);
    headers[nh++] = s->bearer;
    cdp_http_result_clear(&s->res, 1);
    if (s->bearer == NULL) {
        s->res.fail = CDP_HTTP_INTERNAL;
        snprintf(s->res.message, sizeof s->res.message, "out of memory");
        s->state = SLOT_ENDED;
        return;
    }
    if (cdp_http_begin(s->http, s->method, s->url, headers, nh, s->body, s->send_once, &s->res) != 0) {
        s->state = SLOT_ENDED; /* begin said why in s->res */
        return;
    }
    /* The header lines are copied by begin: the bearer line can go now. */
    cdp_secret_free(s->bearer);
    s->bearer = NULL;
    CURLMcode mc = curl_multi_add_handle(b->multi, cdp_http_easy(s->http));
    if (mc != CURLM_OK) {
        cdp_http_finish(s->http, (long)CURLE_FAILED_INIT);
        s->res.fail = CDP_HTTP_INTERNAL;
        snprintf(s->res.message, sizeof s->res.message, "curl_multi_add_handle: %s",
                 curl_multi_strerror(mc));
        s->state = SLOT_ENDED;
        return;
    }
    s->state = SLOT_RUNNING;
}

static int l_start(lua_State *L)
{
    lbatch *b = check_batch(L);
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
    slot *s = NULL;
    for (int i = 0; i < b->n && s == NULL; i++)
        if (b->slots[i].state == SLOT_IDLE)
            s = &b->slots[i];
    if (s == NULL)
        return luaL_error(L, "batch:start: all %d slots are busy (wait for one to end)", b->n);

    slot_clear(L, s); /* what an earlier start left when it raised */
    s->id = ++b->next_id;
    s->send_once = send_once;
    strcpy(s->method, method);
    s->url = strdup(url);
    if (s->url == NULL)
        return luaL_error(L, "out of memory");
    if (has_body) {
        lua_pushvalue(L, 4);
        s->parts_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        /* May raise on malformed parts: the slot stays idle, cleared on reuse. */
        if (cdp_lclient_build_body(L, &s->body, 4, &s->body_part) != 0) {
            snprintf(s->body_error, sizeof s->body_error, "%s", lua_tostring(L, -1));
            s->early = EARLY_BODY;
            s->state = SLOT_ENDED;
            lua_pushinteger(L, s->id);
            return 1;
        }
    }
    if (count_state(b, SLOT_RUNNING) < b->in_flight)
        slot_launch(b, s);
    else
        s->state = SLOT_QUEUED;
    lua_pushinteger(L, s->id);
    return 1;
}

static slot *slot_of(CURL *easy)
{
    char *p = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &p);
    return (slot *)(void *)p;
}

/* Collect the transfers libcurl has finished; a first 401 goes out again
 * with a new token. Returns how many slots ended. */
static int collect(lbatch *b)
{
    int ended = 0, left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(b->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        slot *s = slot_of(easy);
        curl_multi_remove_handle(b->multi, easy);
        cdp_http_finish(s->http, (long)rc);
        s->connects += s->res.connects;
        s->state = SLOT_ENDED;
        if (s->res.fail == CDP_HTTP_OK && s->res.status == 401 && !s->retried) {
            /* Drop only the token that failed, then try once more. */
            cdp_token_invalidate(b->conn->token, s->token);
            s->retried = 1;
            slot_launch(b, s);
        }
        if (s->state == SLOT_ENDED)
            ended++;
    }
    return ended;
}

/* Start the oldest queued requests while fewer than in_flight run.
 * Returns how many started (or ended at once: no token). */
static int launch_queued(lbatch *b)
{
    int launched = 0;
    while (count_state(b, SLOT_RUNNING) < b->in_flight) {
        slot *oldest = NULL;
        for (int i = 0; i < b->n; i++)
            if (b->slots[i].state == SLOT_QUEUED && (oldest == NULL || b->slots[i].id < oldest->id))
                oldest = &b->slots[i];
        if (oldest == NULL)
            break;
        slot_launch(b, oldest);
        launched++;
    }
    return launched;
}

/* One pass of libcurl; the transfers it ended are collected, and their
 * places go to queued requests at once, put on the wire by a second pass
 * before Lua runs again: Lua's bookkeeping overlaps their transfers. */
static CURLMcode perform_and_refill(lbatch *b)
{
    int running = 0;
    CURLMcode mc = curl_multi_perform(b->multi, &running);
    if (mc != CURLM_OK)
        return mc;
    collect(b);
    if (launch_queued(b) > 0) {
        mc = curl_multi_perform(b->multi, &running);
        if (mc == CURLM_OK)
            collect(b);
    }
    return mc;
}

/* batch:send(): one pass of libcurl over every transfer, without waiting, so
 * that what was started goes on the wire now rather than at the next wait:
 * the caller's work until then (reading, validating, syncing a journal)
 * overlaps the transfers. One pass for many starts: each pass checks every
 * transfer's socket. What ends here is returned by the next wait, and a
 * queued request takes its place at once. */
static int l_send(lua_State *L)
{
    lbatch *b = check_batch(L);
    CURLMcode mc = perform_and_refill(b);
    if (mc != CURLM_OK)
        return luaL_error(L, "curl_multi_perform: %s", curl_multi_strerror(mc));
    return 0;
}

static double monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void push_ended(lua_State *L, lbatch *b)
{
    lua_createtable(L, count_state(b, SLOT_ENDED), 0);
    int k = 0;
    for (int i = 0; i < b->n; i++) {
        slot *s = &b->slots[i];
        if (s->state != SLOT_ENDED)
            continue;
        lua_createtable(L, 3, 0);
        lua_pushinteger(L, s->id);
        lua_rawseti(L, -2, 1);
        int nres;
        if (s->early == EARLY_BODY)
            nres = cdp_lclient_push_body_failure(L, s->body_error, s->body_part);
        else if (s->early == EARLY_TOKEN)
            nres = cdp_lclient_push_token_failure(L, &s->token_error);
        else
            nres = cdp_lclient_push_result(L, &s->res, s->connects, s->retried);
        if (nres == 2) {
            lua_rawseti(L, -3, 3);
            lua_pop(L, 1);
            lua_pushboolean(L, 0);
        }
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, -2, ++k);
        slot_clear(L, s);
    }
}

static int l_wait(lua_State *L)
{
    lbatch *b = check_batch(L);
    double seconds = luaL_optnumber(L, 2, 0);
    double deadline = monotonic_now() + (seconds > 0 ? seconds : 0);
    prefetch_reap(b, 0); /* its connection is not needed once the token is in */
    for (;;) {
        CURLMcode mc = perform_and_refill(b);
        if (mc != CURLM_OK)
            return luaL_error(L, "curl_multi_perform: %s", curl_multi_strerror(mc));
        if (count_state(b, SLOT_ENDED) > 0 || count_state(b, SLOT_RUNNING) == 0 || fsync_ended(b))
            break;
        double left = deadline - monotonic_now();
        if (left <= 0)
            break;
        int numfds = 0;
        mc = curl_multi_poll(b->multi, NULL, 0, (int)(left * 1000) + 1, &numfds);
        if (mc != CURLM_OK)
            return luaL_error(L, "curl_multi_poll: %s", curl_multi_strerror(mc));
    }
    push_ended(L, b);
    return 1;
}

static int l_active(lua_State *L)
{
    lbatch *b = check_batch(L);
    lua_pushinteger(L, b->n - count_state(b, SLOT_IDLE));
    return 1;
}

static int l_drop_queued(lua_State *L)
{
    lbatch *b = check_batch(L);
    lua_createtable(L, count_state(b, SLOT_QUEUED), 0);
    int k = 0;
    for (int i = 0; i < b->n; i++) {
        slot *s = &b->slots[i];
        if (s->state != SLOT_QUEUED)
            continue;
        lua_pushinteger(L, s->id);
        lua_rawseti(L, -2, ++k);
        slot_clear(L, s);
    }
    return 1;
}

static void *fsync_thread(void *arg)
{
    lbatch *b = arg;
    int err = fsync(b->sync.fd) == 0 ? 0 : errno;
    close(b->sync.fd);
    b->sync.err = err;
    __atomic_store_n(&b->sync.ended, 1, __ATOMIC_RELEASE);
    curl_multi_wakeup(b->multi); /* a wait in curl_multi_poll returns now */
    return NULL;
}

static int push_errno(lua_State *L, const char *what, int err)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", what, strerror(err));
    return 2;
}

static void *prefetch_thread(void *arg)
{
    prefetch_job *job = arg;
    char *token = NULL;
    cdp_token_error err;
    if (cdp_token_get(job->conn.token, job->conn.http, (const char *const *)job->conn.headers,
                      job->conn.nheaders, &token, &err) == 0) {
        cdp_secret_free(token); /* the cache keeps it */
    } else if (err.status == CDP_TOKEN_REFUSED) {
        job->error = err;
        job->refused = 1;
    }
    __atomic_store_n(&job->ended, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int l_prefetch_token(lua_State *L)
{
    lbatch *b = check_batch(L);
    if (b->prefetch.asked || b->next_id > 0) { /* once a batch, before its first request */
        lua_pushboolean(L, 0);
        return 1;
    }
    char err[256];
    if (cdp_conn_copy(b->conn, &b->prefetch.conn, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    b->prefetch.ended = 0;
    b->prefetch.refused = 0;
    int rc = pthread_create(&b->prefetch.thread, NULL, prefetch_thread, &b->prefetch);
    if (rc != 0) {
        cdp_conn_close(&b->prefetch.conn);
        return push_errno(L, "pthread_create", rc);
    }
    b->prefetch.started = 1;
    b->prefetch.asked = 1;
    lua_pushboolean(L, 1);
    return 1;
}

static int l_fsync(lua_State *L)
{
    lbatch *b = check_batch(L);
    FILE *f = cdp_sys_check_file(L, 2);
    if (b->sync.started)
        return luaL_error(L, "batch:fsync: one is running already (fsync_wait first)");
    /* A failed flush drops the buffer: the fsync after it would succeed
     * with those bytes lost. */
    if (fflush(f) != 0)
        return push_errno(L, "flush", errno);
    b->sync.fd = dup(fileno(f)); /* the file may be closed meanwhile */
    if (b->sync.fd < 0)
        return push_errno(L, "dup", errno);
    b->sync.ended = 0;
    b->sync.err = 0;
    int rc = pthread_create(&b->sync.thread, NULL, fsync_thread, b);
    if (rc != 0) {
        close(b->sync.fd);
        return push_errno(L, "pthread_create", rc);
    }
    b->sync.started = 1;
    lua_pushboolean(L, 1);
    return 1;
}

static int l_fsync_state(lua_State *L)
{
    lbatch *b = check_batch(L);
    lua_pushstring(L, !b->sync.started ? "none" : fsync_ended(b) ? "ended" : "running");
    return 1;
}

static int l_fsync_wait(lua_State *L)
{
    lbatch *b = check_batch(L);
    if (!b->sync.started)
        return luaL_error(L, "batch:fsync_wait: no fsync started");
    int err = fsync_join(b);
    if (err != 0)
        return push_errno(L, "fsync", err);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_close(lua_State *L)
{
    lbatch *b = luaL_checkudata(L, 1, BATCH_MT);
    batch_close(L, b);
    return 0;
}

static int l_monotonic(lua_State *L)
{
    lua_pushnumber(L, monotonic_now());
    return 1;
}

static const luaL_Reg batch_methods[] = {
    {"start", l_start},
    {"wait", l_wait},
    {"send", l_send},
    {"active", l_active},
    {"drop_queued", l_drop_queued},
    {"fsync", l_fsync},
    {"prefetch_token", l_prefetch_token},
    {"fsync_state", l_fsync_state},
    {"fsync_wait", l_fsync_wait},
    {"close", l_close},
    {NULL, NULL},
};

void cdp_lbatch_register(lua_State *L)
{
    if (luaL_newmetatable(L, BATCH_MT)) {
        lua_newtable(L);
        luaL_setfuncs(L, batch_methods, 0);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_batch_new);
    lua_setfield(L, -2, "batch");
    lua_pushcfunction(L, l_monotonic);
    lua_setfield(L, -2, "monotonic");
}
