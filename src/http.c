#include "http.h"
#include "secret.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

/* TLS sessions shared by a handle and its duplicates (a batch's slots), so
 * that each new connection resumes the first one's session instead of a
 * full handshake (certificate chain verified once). Locked (libcurl's lock
 * callbacks, and `refs`): a duplicate may run in another thread while the
 * others run here (batch:prefetch_token). Recursive, so that libcurl taking
 * the share's lock inside another of its locks cannot deadlock. */
typedef struct {
    CURLSH *share;
    pthread_mutex_t lock;
    int refs;
} tls_sessions;

struct cdp_http {
    CURL *curl;
    tls_sessions *sessions;
    size_t max_response;
    long connects;
    int too_large;
    int out_of_memory; /* on_write could not grow the response buffer */
    int send_once;
    int resend_refused;   /* on_prereq stopped libcurl's own re-send */
    cdp_body *body;       /* the transfer in progress, when streamed */
    char *inline_body;    /* or the whole body, sent with the headers */
    size_t inline_len;
    cdp_http_result *res;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    cdp_http *h = userp;
    cdp_http_result *res = h->res;
    size_t n = size * nmemb;
    if (res->len + n > h->max_response) {
        h->too_large = 1;
        return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    }
    if (res->len + n + 1 > res->cap) {
        size_t cap = res->cap ? res->cap : 4096;
        while (cap < res->len + n + 1)
            cap *= 2;
        char *grown = malloc(cap);
        if (grown == NULL) {
            h->out_of_memory = 1;
            return 0;
        }
        /* Not realloc: the old buffer may hold a token; wipe it before freeing. */
        if (res->body != NULL) {
            memcpy(grown, res->body, res->len);
            cdp_wipe(res->body, res->cap);
            free(res->body);
        }
        res->body = grown;
        res->cap = cap;
    }
    memcpy(res->body + res->len, data, n);
    res->len += n;
    res->body[res->len] = '\0';
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userp)
{
    cdp_http *h = userp;
    size_t n = cdp_body_read(h->body, buf, size * nitems);
    return n == CDP_BODY_READ_ERROR ? CURL_READFUNC_ABORT : n;
}

static int on_seek(void *userp, curl_off_t offset, int origin)
{
    cdp_http *h = userp;
    if (origin != SEEK_SET || offset < 0 || h->body == NULL)
        return CURL_SEEKFUNC_CANTSEEK;
    if (h->send_once && cdp_body_high_water(h->body) > 0)
        return CURL_SEEKFUNC_FAIL; /* a re-send: see cdp_http_perform */
    return cdp_body_seek(h->body, (uint64_t)offset) == 0 ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
}

/* libcurl calls this before each attempt to send the request: a second call
 * in one transfer is its own re-send on a new connection after a reused one
 * died unanswered. A send-once request that already left is not sent again
 * (the streamed body refuses its rewind for the same reason, in on_seek). */
static int on_prereq(void *userp, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
    (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
    cdp_http *h = userp;
    long sent = 0;
    if (h->send_once && h->inline_body != NULL &&
        curl_easy_getinfo(h->curl, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK && sent > 0) {
        h->resend_refused = 1;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

#define SET(opt, val)                                                 \
    do {                                                              \
        CURLcode rc_ = curl_easy_setopt(h->curl, opt, val);           \
        if (rc_ != CURLE_OK) {                                        \
            snprintf(err, errlen, "libcurl option %s: %s", #opt,      \
                     curl_easy_strerror(rc_));                        \
            goto fail;                                                \
        }                                                             \
    } while (0)

/* The options that point at `h` itself: set again on a duplicate. */
static int bind_handle(cdp_http *h, char *err, size_t errlen)
{
    SET(CURLOPT_ERRORBUFFER, h->errbuf);
    SET(CURLOPT_WRITEDATA, h);
    SET(CURLOPT_READDATA, h);
    SET(CURLOPT_SEEKDATA, h);
    SET(CURLOPT_PREREQDATA, h);
    return 0;
fail:
    return -1;
}

static void sessions_lock(CURL *curl, curl_lock_data data, curl_lock_access access, void *t)
{
    (void)curl;
    (void)data;
    (void)access;
    pthread_mutex_lock(&((tls_sessions *)t)->lock);
}

static void sessions_unlock(CURL *curl, curl_lock_data data, void *t)
{
    (void)curl;
    (void)data;
    pthread_mutex_unlock(&((tls_sessions *)t)->lock);
}

static tls_sessions *sessions_new(void)
{
    tls_sessions *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0) {
        free(t);
        return NULL;
    }
    int rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    if (rc == 0)
        rc = pthread_mutex_init(&t->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0) {
        free(t);
        return NULL;
    }
    t->share = curl_share_init();
    if (t->share == NULL || curl_share_setopt(t->share, CURLSHOPT_USERDATA, (void *)t) != CURLSHE_OK ||
        curl_share_setopt(t->share, CURLSHOPT_LOCKFUNC, sessions_lock) != CURLSHE_OK ||
        curl_share_setopt(t->share, CURLSHOPT_UNLOCKFUNC, sessions_unlock) != CURLSHE_OK ||
        curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        if (t->share)
            curl_share_cleanup(t->share);
        pthread_mutex_destroy(&t->lock);
        free(t);
        return NULL;
    }
    t->refs = 1;
    return t;
}

static void sessions_retain(tls_sessions *t)
{
    pthread_mutex_lock(&t->lock);
    t->refs++;
    pthread_mutex_unlock(&t->lock);
}

/* After the handle using it is cleaned up (libcurl refuses to free a share
 * still in use). */
static void sessions_release(tls_sessions *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->lock);
    int last = --t->refs == 0;
    pthread_mutex_unlock(&t->lock);
    if (!last)
        return;
    curl_share_cleanup(t->share);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

static cdp_http *http_alloc(char *err, size_t errlen)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        snprintf(err, errlen, "curl_global_init: %s", curl_easy_strerror(global_rc));
        return NULL;
    }
    cdp_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        snprintf(err, errlen, "out of memory");
    return h;
}

cdp_http *cdp_http_new(const cdp_http_config *cfg, char *err, size_t errlen)
{
    cdp_http *h = http_alloc(err, errlen);
    if (h == NULL)
        return NULL;
    h->curl = curl_easy_init();
    if (h->curl == NULL) {
        snprintf(err, errlen, "curl_easy_init failed");
        goto fail;
    }
    h->max_response = cfg->max_response ? cfg->max_response : 1024 * 1024;
    if (bind_handle(h, err, errlen) != 0)
        goto fail;
    h->sessions = sessions_new();
    if (h->sessions == NULL) {
        snprintf(err, errlen, "libcurl: no shared TLS session cache (out of memory, or a libcurl without TLS)");
        goto fail;
    }
    SET(CURLOPT_SHARE, h->sessions->share);
    SET(CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    SET(CURLOPT_PROTOCOLS_STR, "https,http");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_READFUNCTION, on_read);
    SET(CURLOPT_SEEKFUNCTION, on_seek);
    SET(CURLOPT_PREREQFUNCTION, on_prereq);
    SET(CURLOPT_UPLOAD_BUFFERSIZE, 64L * 1024);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->max_response);
    if (cfg->ca_file)
        SET(CURLOPT_CAINFO, cfg->ca_file);
    if (cfg->client_cert)
        SET(CURLOPT_SSLCERT, cfg->client_cert);
    if (cfg->client_key)
        SET(CURLOPT_SSLKEY, cfg->client_key);
    if (cfg->proxy)
        SET(CURLOPT_PROXY, cfg->proxy);
    if (cfg->user_agent)
        SET(CURLOPT_USERAGENT, cfg->user_agent);
    if (cfg->timeout_ms > 0)
        SET(CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
    if (cfg->connect_timeout_ms > 0)
        SET(CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms);
    return h;
fail:
    cdp_http_free(h);
    return NULL;
}

cdp_http *cdp_http_dup(const cdp_http *orig, char *err, size_t errlen)
{
    cdp_http *h = http_alloc(err, errlen);
    if (h == NULL)
        return NULL;
    h->max_response = orig->max_response;
    h->curl = curl_easy_duphandle(orig->curl);
    if (h->curl == NULL) {
        snprintf(err, errlen, "curl_easy_duphandle failed");
        goto fail;
    }
    if (bind_handle(h, err, errlen) != 0)
        goto fail;
    /* duphandle leaves the share out: the duplicate joins it here. */
    h->sessions = orig->sessions;
    sessions_retain(h->sessions);
    SET(CURLOPT_SHARE, h->sessions->share);
    return h;
fail:
    cdp_http_free(h);
    return NULL;
}

static void transfer_reset(cdp_http *h);

void cdp_http_free(cdp_http *h)
{
    if (h == NULL)
        return;
    transfer_reset(h);
    if (h->curl)
        curl_easy_cleanup(h->curl);
    sessions_release(h->sessions);
    free(h);
}

long cdp_http_connects(const cdp_http *h)
{
    return h->connects;
}

void cdp_http_result_clear(cdp_http_result *res, int wipe)
{
    if (res->body != NULL) {
        if (wipe)
            cdp_wipe(res->body, res->cap);
        free(res->body);
    }
    memset(res, 0, sizeof *res);
}

static cdp_http_fail classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return CDP_HTTP_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return CDP_HTTP_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return CDP_HTTP_TLS;
    case CURLE_FILESIZE_EXCEEDED:
        return CDP_HTTP_TOO_LARGE;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return CDP_HTTP_INTERNAL;
    default:
        return CDP_HTTP_TRANSPORT;
    }
}

/* The header lines may hold a bearer token: wipe them before freeing. */
static void free_headers(struct curl_slist *list)
{
    for (struct curl_slist *it = list; it != NULL; it = it->next)
        cdp_wipe(it->data, strlen(it->data));
    curl_slist_free_all(list);
}

/* Back to idle: the header lines (they may hold a token) are wiped and freed. */
static void transfer_reset(cdp_http *h)
{
    if (h->curl != NULL) {
        /* No pointer into the caller's memory outlives the transfer (a
         * duplicate made later would copy it). */
        curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
    }
    free_headers(h->headers);
    h->headers = NULL;
    if (h->inline_body != NULL) {
        cdp_wipe(h->inline_body, h->inline_len); /* a customer's data */
        free(h->inline_body);
        h->inline_body = NULL;
    }
    h->inline_len = 0;
    h->res = NULL;
    h->body = NULL;
}

/* Bodies shorter than this go out in one piece with the headers: libcurl
 * appends POSTFIELDS under 64 KiB to the request head (one write, one wake-up
 * of the server), while a streamed body always goes in writes of its own.
 * Longer bodies stream, so memory stays flat whatever the documents' size. */
#define INLINE_BODY_MAX (64 * 1024)

/* The whole body in h->inline_body. -1 when a document cannot be read
 * (`res` says why) or memory runs out. */
static int read_inline(cdp_http *h, cdp_body *body, size_t len, cdp_http_result *res)
{
    h->inline_body = malloc(len + 1);
    if (h->inline_body == NULL) {
        snprintf(res->message, sizeof res->message, "out of memory");
        return -1;
    }
    h->inline_len = len;
    size_t got = 0;
    while (got < len) {
        size_t n = cdp_body_read(body, h->inline_body + got, len - got);
        if (n == CDP_BODY_READ_ERROR || n == 0) {
            res->fail = CDP_HTTP_BODY;
            snprintf(res->message, sizeof res->message, "%s",
                     n == 0 ? "a document ended early" : cdp_body_error(body));
            return -1;
        }
        got += n;
    }
    return 0;
}

static int out_of_memory(cdp_http *h, cdp_http_result *res)
{
    transfer_reset(h);
    res->fail = CDP_HTTP_INTERNAL;
    snprintf(res->message, sizeof res->message, "out of memory");
    return -1;
}

int cdp_http_begin(cdp_http *h, const char *method, const char *url,
                   const char *const *headers, size_t nheaders,
                   cdp_body *body, int send_once, cdp_http_result *res)
{
    memset(res, 0, sizeof *res);
    res->fail = CDP_HTTP_INTERNAL;
    transfer_reset(h);
    for (size_t i = 0; i < nheaders; i++) {
        struct curl_slist *next = curl_slist_append(h->headers, headers[i]);
        if (next == NULL)
            return out_of_memory(h, res);
        h->headers = next;
    }
    if (body != NULL) {
        /* No 100-continue wait: libcurl would pause up to a second on big bodies. */
        struct curl_slist *next = curl_slist_append(h->headers, "Expect:");
        if (next == NULL)
            return out_of_memory(h, res);
        h->headers = next;
        cdp_body_restart(body);
    }
    h->errbuf[0] = '\0';
    h->too_large = 0;
    h->out_of_memory = 0;
    h->resend_refused = 0;
    h->res = res;
    h->body = body;
    h->send_once = send_once;
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
    size_t text_len = 0;
    const char *text = body != NULL && !send_once ? cdp_body_single_text(body, &text_len) : NULL;
    if (text == NULL && body != NULL && cdp_body_length(body) < INLINE_BODY_MAX) {
        if (read_inline(h, body, (size_t)cdp_body_length(body), res) != 0) {
            transfer_reset(h);
            return -1;
        }
        text = h->inline_body;
        text_len = h->inline_len;
    }
    if (text != NULL) {
        /* Out with the headers in one write. libcurl may re-send it by
         * itself: harmless for a lookup; on_prereq stops it for send-once. */
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)text_len);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, text);
        h->body = NULL;
    } else if (body != NULL) {
        /* Streamed through on_read; POSTFIELDS NULL so that libcurl reads. */
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)cdp_body_length(body));
    } else {
        curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    }
    /* Only GET and POST are used; anything else is named explicitly. */
    curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST,
                     strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0 ? NULL : method);
    return 0;
}

int cdp_http_finish(cdp_http *h, long curl_code)
{
    CURLcode rc = (CURLcode)curl_code;
    cdp_http_result *res = h->res;
    cdp_body *body = h->body;
    int resend_refused = h->resend_refused;
    transfer_reset(h);

    long connects = 0;
    curl_easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &connects);
    h->connects += connects;
    res->connects = connects;
    curl_off_t request_size = 0;
    curl_easy_getinfo(h->curl, CURLINFO_REQUEST_SIZE, &request_size);
    res->request_sent = body != NULL ? cdp_body_high_water(body) > 0 : request_size > 0;
    res->curl_code = (long)rc;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &res->status);
        res->fail = CDP_HTTP_OK;
        if (res->body == NULL) {
            /* An empty body is still a body: callers get "". */
            res->body = calloc(1, 1);
            if (res->body == NULL)
                return out_of_memory(h, res);
            res->cap = 1;
        }
        return 0;
    }
    if (h->out_of_memory) {
        res->fail = CDP_HTTP_INTERNAL;
        snprintf(res->message, sizeof res->message, "out of memory for the response");
    } else if (h->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        res->fail = CDP_HTTP_TOO_LARGE;
        snprintf(res->message, sizeof res->message, "response larger than %zu bytes", h->max_response);
    } else if (rc == CURLE_SEND_FAIL_REWIND || (rc == CURLE_ABORTED_BY_CALLBACK && resend_refused)) {
        res->fail = CDP_HTTP_TRANSPORT;
        snprintf(res->message, sizeof res->message,
                 "the connection broke after the request was sent; not sent again");
    } else if (rc == CURLE_ABORTED_BY_CALLBACK || rc == CURLE_READ_ERROR) {
        res->fail = body && cdp_body_error(body)[0] ? CDP_HTTP_BODY : CDP_HTTP_TRANSPORT;
        snprintf(res->message, sizeof res->message, "%s",
                 body && cdp_body_error(body)[0] ? cdp_body_error(body) : curl_easy_strerror(rc));
    } else {
        res->fail = classify(rc);
        snprintf(res->message, sizeof res->message, "%s",
                 h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
    }
    return -1;
}

int cdp_http_perform(cdp_http *h, const char *method, const char *url,
                     const char *const *headers, size_t nheaders,
                     cdp_body *body, int send_once, cdp_http_result *res)
{
    if (cdp_http_begin(h, method, url, headers, nheaders, body, send_once, res) != 0)
        return -1;
    return cdp_http_finish(h, (long)curl_easy_perform(h->curl));
}

void *cdp_http_easy(cdp_http *h)
{
    return h->curl;
}
