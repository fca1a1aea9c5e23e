#include "token.h"
#include "digest.h"
#include "jsonflat.h"
#include "secret.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cdp_token_entry {
    cdp_token_entry *next;
    long refs; /* guarded by registry_lock */
    /* Immutable after creation. */
    char *token_url, *client_id, *client_secret, *username, *password, *scope;
    char fingerprint[CDP_SHA256_HEX_LEN + 1];
    double skew;
    /* Guarded by lock. */
    pthread_mutex_t lock;
    pthread_cond_t done;
    char *access, *refresh;
    double access_expires, refresh_expires, lifetime;
    int in_flight;
    unsigned long generation, failed_generation;
    cdp_token_error last_error;
    cdp_token_stats stats;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static cdp_token_entry *registry;

static double now_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int same_text(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* SHA-256 over secret and password, so the key tells credentials apart
 * without keeping a second copy of them. */
static int fingerprint(const cdp_token_config *cfg, char *hex)
{
    const char *secret = cfg->client_secret ? cfg->client_secret : "";
    const char *password = cfg->password ? cfg->password : "";
    size_t ls = strlen(secret), lp = strlen(password);
    char *joined = malloc(ls + lp + 2);
    if (joined == NULL)
        return -1;
    memcpy(joined, secret, ls + 1);
    memcpy(joined + ls + 1, password, lp + 1);
    int rc = cdp_sha256_hex(joined, ls + lp + 2, hex);
    cdp_wipe(joined, ls + lp + 2);
    free(joined);
    return rc;
}

static void entry_free(cdp_token_entry *e)
{
    if (e == NULL)
        return;
    free(e->token_url);
    free(e->client_id);
    cdp_secret_free(e->client_secret);
    free(e->username);
    cdp_secret_free(e->password);
    free(e->scope);
    cdp_secret_free(e->access);
    cdp_secret_free(e->refresh);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->done);
    cdp_wipe(e, sizeof *e);
    free(e);
}

static cdp_token_entry *entry_new(const cdp_token_config *cfg, const char *print)
{
    cdp_token_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    if (pthread_mutex_init(&e->lock, NULL) != 0) {
        free(e);
        return NULL;
    }
    if (pthread_cond_init(&e->done, NULL) != 0) {
        pthread_mutex_destroy(&e->lock);
        free(e);
        return NULL;
    }
    e->token_url = cdp_strdup(cfg->token_url ? cfg->token_url : "");
    e->client_id = cdp_strdup(cfg->client_id ? cfg->client_id : "");
    e->client_secret = cdp_strdup(cfg->client_secret ? cfg->client_secret : "");
    e->username = cdp_strdup(cfg->username ? cfg->username : "");
    e->password = cdp_strdup(cfg->password ? cfg->password : "");
    e->scope = cdp_strdup(cfg->scope ? cfg->scope : "");
    if (!e->token_url || !e->client_id || !e->client_secret || !e->username || !e->password ||
        !e->scope) {
        entry_free(e);
        return NULL;
    }
    memcpy(e->fingerprint, print, sizeof e->fingerprint);
    e->skew = cfg->skew > 0 ? cfg->skew : 30;
    return e;
}

cdp_token_entry *cdp_token_acquire(const cdp_token_config *cfg)
{
    char print[CDP_SHA256_HEX_LEN + 1];
    if (fingerprint(cfg, print) != 0)
        return NULL;
    pthread_mutex_lock(&registry_lock);
    cdp_token_entry *e;
    for (e = registry; e != NULL; e = e->next) {
        if (same_text(e->token_url, cfg->token_url) && same_text(e->client_id, cfg->client_id) &&
            same_text(e->username, cfg->username) && same_text(e->scope, cfg->scope) &&
            strcmp(e->fingerprint, print) == 0)
            break;
    }
    if (e == NULL) {
        e = entry_new(cfg, print);
        if (e != NULL) {
            e->next = registry;
            registry = e;
        }
    }
    if (e != NULL)
        e->refs++;
    pthread_mutex_unlock(&registry_lock);
    cdp_wipe(print, sizeof print);
    return e;
}

void cdp_token_retain(cdp_token_entry *e)
{
    pthread_mutex_lock(&registry_lock);
    e->refs++;
    pthread_mutex_unlock(&registry_lock);
}

void cdp_token_release(cdp_token_entry *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&registry_lock);
    int last = --e->refs == 0;
    if (last) {
        for (cdp_token_entry **at = &registry; *at != NULL; at = &(*at)->next) {
            if (*at == e) {
                *at = e->next;
                break;
            }
        }
    }
    pthread_mutex_unlock(&registry_lock);
    if (last)
        entry_free(e);
}

/* Refresh this long before expiry: the configured skew, but at most a
 * quarter of the token's lifetime, so 5-second tokens are not refreshed on
 * every call. */
static double margin(const cdp_token_entry *e)
{
    double quarter = e->lifetime / 4;
    return e->skew < quarter ? e->skew : quarter;
}

/* --- the form ----------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
    int oom;
} form_buf;

static void form_put(form_buf *f, const char *s, size_t n)
{
    if (f->oom)
        return;
    if (f->len + n + 1 > f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        while (cap < f->len + n + 1)
            cap *= 2;
        char *grown = malloc(cap);
        if (grown == NULL) {
            f->oom = 1;
            return;
        }
        if (f->data != NULL) {
            memcpy(grown, f->data, f->len);
            cdp_wipe(f->data, f->cap);
            free(f->data);
        }
        f->data = grown;
        f->cap = cap;
    }
    memcpy(f->data + f->len, s, n);
    f->len += n;
    f->data[f->len] = '\0';
}

/* application/x-www-form-urlencoded: unreserved bytes as is, the rest %XX. */
static void form_field(form_buf *f, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    if (f->len > 0)
        form_put(f, "&", 1);
    form_put(f, name, strlen(name));
    form_put(f, "=", 1);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        char enc[3];
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            form_put(f, (const char *)p, 1);
        } else {
            enc[0] = '%';
            enc[1] = hex[*p >> 4];
            enc[2] = hex[*p & 15];
            form_put(f, enc, 3);
        }
    }
}

static void form_free(form_buf *f)
{
    if (f->data != NULL) {
        cdp_wipe(f->data, f->cap);
        free(f->data);
    }
}

/* --- one grant ---------------------------------------------------------- */

typedef struct {
    char *access, *refresh;
    double expires_in, refresh_expires_in;
} grant_reply;

static void reply_clear(grant_reply *r)
{
    cdp_secret_free(r->access);
    cdp_secret_free(r->refresh);
    memset(r, 0, sizeof *r);
}

static void set_error(cdp_token_error *err, cdp_token_status status, const char *message)
{
    err->status = status;
    snprintf(err->message, sizeof err->message, "%s", message);
}

/* Read Keycloak's {"error", "error_description"} into err. */
static void read_refusal(const cdp_http_result *res, cdp_token_error *err)
{
    char *text = NULL;
    if (cdp_json_string(res->body, res->len, "error", &text, NULL) == 1) {
        snprintf(err->error, sizeof err->error, "%s", text);
        free(text);
        text = NULL;
    }
    if (cdp_json_string(res->body, res->len, "error_description", &text, NULL) == 1) {
        snprintf(err->message, sizeof err->message, "%s", text);
        free(text);
    }
}

/* POST the grant. `refresh` NULL: password grant. Returns 0 or -1 (err). */
#define MAX_GRANT_HEADERS 40

static int grant(cdp_token_entry *e, cdp_http *h, const char *const *extra, size_t nextra,
                 const char *refresh, grant_reply *out, cdp_token_error *err)
{
    const char *headers[MAX_GRANT_HEADERS];
    size_t nh = 0;
    headers[nh++] = "Content-Type: application/x-www-form-urlencoded";
    headers[nh++] = "Accept: application/json";
    for (size_t i = 0; i < nextra && nh < MAX_GRANT_HEADERS; i++)
        headers[nh++] = extra[i];
    form_buf form = {0};
    form_field(&form, "grant_type", refresh ? "refresh_token" : "password");
    if (refresh == NULL && e->scope[0])
        form_field(&form, "scope", e->scope);
    form_field(&form, "client_id", e->client_id);
    form_field(&form, "client_secret", e->client_secret);
    if (refresh != NULL) {
        form_field(&form, "refresh_token", refresh);
    } else {
        form_field(&form, "username", e->username);
        form_field(&form, "password", e->password);
    }
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    cdp_body *body = form.oom ? NULL : cdp_body_new();
    if (body == NULL || cdp_body_add_text(body, form.data, form.len) != 0) {
        cdp_body_free(body);
        form_free(&form);
        set_error(err, CDP_TOKEN_INTERNAL, "out of memory");
        return -1;
    }
    cdp_http_result res;
    int rc = cdp_http_perform(h, "POST", e->token_url, headers, nh, body, 0, &res);
    cdp_body_free(body);
    form_free(&form);
    if (rc != 0) {
        err->http_fail = res.fail;
        set_error(err, CDP_TOKEN_HTTP, res.message);
        cdp_http_result_clear(&res, 1);
        return -1;
    }
    err->http_status = res.status;
    if (res.status == 200) {
        int got = cdp_json_string(res.body, res.len, "access_token", &out->access, NULL);
        if (got != 1 || out->access[0] == '\0') {
            set_error(err, CDP_TOKEN_PROTOCOL, "the token endpoint answered 200 without an access token");
            reply_clear(out);
            cdp_http_result_clear(&res, 1);
            return -1;
        }
        if (cdp_json_string(res.body, res.len, "refresh_token", &out->refresh, NULL) < 0)
            out->refresh = NULL;
        if (cdp_json_number(res.body, res.len, "expires_in", &out->expires_in) != 1 ||
            out->expires_in <= 0)
            out->expires_in = 60; /* no lifetime given: assume a short one */
        if (cdp_json_number(res.body, res.len, "refresh_expires_in", &out->refresh_expires_in) != 1)
            out->refresh_expires_in = 0; /* 0: unknown, try it until refused */
        cdp_http_result_clear(&res, 1);
        return 0;
    }
    if (res.status == 400 || res.status == 401) {
        set_error(err, CDP_TOKEN_REFUSED, "the token endpoint refused the credentials");
        read_refusal(&res, err);
    } else {
        char msg[64];
        snprintf(msg, sizeof msg, "the token endpoint answered HTTP %ld", res.status);
        set_error(err, CDP_TOKEN_SERVER, msg);
    }
    cdp_http_result_clear(&res, 1);
    return -1;
}

/* --- the cache ---------------------------------------------------------- */

static int copy_access(cdp_token_entry *e, char **token, cdp_token_error *err)
{
    *token = cdp_strdup(e->access);
    if (*token == NULL) {
        set_error(err, CDP_TOKEN_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}

int cdp_token_get(cdp_token_entry *e, cdp_http *h, const char *const *headers, size_t nheaders,
                  char **token, cdp_token_error *err)
{
    *token = NULL;
    memset(err, 0, sizeof *err);
    pthread_mutex_lock(&e->lock);
    for (;;) {
        double now = now_monotonic();
        if (e->access != NULL && now < e->access_expires - margin(e)) {
            int rc = copy_access(e, token, err);
            pthread_mutex_unlock(&e->lock);
            return rc;
        }
        if (!e->in_flight)
            break;
        /* Another thread is fetching. A token still valid serves meanwhile. */
        if (e->access != NULL && now < e->access_expires) {
            int rc = copy_access(e, token, err);
            pthread_mutex_unlock(&e->lock);
            return rc;
        }
        unsigned long gen = e->generation;
        while (e->in_flight && e->generation == gen)
            pthread_cond_wait(&e->done, &e->lock);
        if (e->generation != gen && e->failed_generation == e->generation &&
            (e->access == NULL || now_monotonic() >= e->access_expires)) {
            /* That fetch failed: report its error rather than asking again. */
            *err = e->last_error;
            pthread_mutex_unlock(&e->lock);
            return -1;
        }
    }

    /* This thread fetches. The credentials are immutable; the refresh token
     * is copied, as another thread may replace it once we unlock. */
    e->in_flight = 1;
    double now = now_monotonic();
    char *refresh = NULL;
    int refresh_usable = e->refresh != NULL &&
                         (e->refresh_expires == 0 || now < e->refresh_expires);
    if (refresh_usable)
        refresh = cdp_strdup(e->refresh);
    pthread_mutex_unlock(&e->lock);

    grant_reply reply;
    int rc = -1;
    int refused_refresh = 0;
    long refresh_grants = 0, password_grants = 0, refused = 0;
    double started = now_monotonic();
    if (refresh != NULL) {
        rc = grant(e, h, headers, nheaders, refresh, &reply, err);
        if (rc == 0) {
            refresh_grants++;
        } else if (err->status == CDP_TOKEN_REFUSED) {
            refused++;
            refused_refresh = 1;
        }
    }
    if (refresh == NULL || refused_refresh) {
        started = now_monotonic();
        rc = grant(e, h, headers, nheaders, NULL, &reply, err);
        if (rc == 0)
            password_grants++;
        else if (err->status == CDP_TOKEN_REFUSED)
            refused++;
    }
    cdp_secret_free(refresh);

    pthread_mutex_lock(&e->lock);
    e->stats.fetches++;
    e->stats.refresh_grants += refresh_grants;
    e->stats.password_grants += password_grants;
    e->stats.refused += refused;
    if (rc == 0) {
        cdp_secret_free(e->access);
        e->access = reply.access;
        e->lifetime = reply.expires_in;
        e->access_expires = started + reply.expires_in;
        if (reply.refresh != NULL) {
            cdp_secret_free(e->refresh);
            e->refresh = reply.refresh;
            e->refresh_expires = reply.refresh_expires_in > 0 ? started + reply.refresh_expires_in : 0;
        }
        reply.access = reply.refresh = NULL;
    } else if (err->status == CDP_TOKEN_REFUSED) {
        /* The credentials are refused: nothing cached is worth keeping. */
        cdp_secret_free(e->access);
        cdp_secret_free(e->refresh);
        e->access = e->refresh = NULL;
    } else if (refused_refresh) {
        cdp_secret_free(e->refresh);
        e->refresh = NULL;
    }
    e->in_flight = 0;
    e->generation++;
    if (rc != 0) {
        e->last_error = *err;
        e->failed_generation = e->generation;
    }
    pthread_cond_broadcast(&e->done);
    /* A failed refresh while the old token still works: use the old one. */
    if (rc != 0 && e->access != NULL && now_monotonic() < e->access_expires) {
        memset(err, 0, sizeof *err);
        rc = copy_access(e, token, err);
    }
    else if (rc == 0)
        rc = copy_access(e, token, err);
    pthread_mutex_unlock(&e->lock);
    return rc;
}

void cdp_token_invalidate(cdp_token_entry *e, const char *token)
{
    pthread_mutex_lock(&e->lock);
    if (e->access != NULL && token != NULL && cdp_secret_equal(e->access, token)) {
        cdp_secret_free(e->access);
        e->access = NULL;
    }
    pthread_mutex_unlock(&e->lock);
}

cdp_token_stats cdp_token_get_stats(cdp_token_entry *e)
{
    pthread_mutex_lock(&e->lock);
    cdp_token_stats s = e->stats;
    pthread_mutex_unlock(&e->lock);
    pthread_mutex_lock(&registry_lock);
    s.clients = e->refs;
    pthread_mutex_unlock(&registry_lock);
    return s;
}

int cdp_token_peek(cdp_token_entry *e, char **token, double *expires_in, double *lifetime)
{
    *token = NULL;
    pthread_mutex_lock(&e->lock);
    double now = now_monotonic();
    if (e->access == NULL || now >= e->access_expires) {
        pthread_mutex_unlock(&e->lock);
        return 1;
    }
    *token = cdp_strdup(e->access);
    *expires_in = e->access_expires - now;
    *lifetime = e->lifetime;
    pthread_mutex_unlock(&e->lock);
    return *token != NULL ? 0 : -1;
}

int cdp_token_seed(cdp_token_entry *e, const char *token, double expires_in, double lifetime)
{
    if (token == NULL || token[0] == '\0' || !(expires_in > 0))
        return -1;
    for (const unsigned char *p = (const unsigned char *)token; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return -1;
    char *copy = cdp_strdup(token);
    if (copy == NULL)
        return -1;
    pthread_mutex_lock(&e->lock);
    double now = now_monotonic();
    int installed = 0;
    if (e->access == NULL || now >= e->access_expires || e->access_expires < now + expires_in) {
        cdp_secret_free(e->access);
        e->access = copy;
        copy = NULL;
        e->access_expires = now + expires_in;
        e->lifetime = lifetime > 0 ? lifetime : expires_in;
        installed = 1;
    }
    pthread_mutex_unlock(&e->lock);
    cdp_secret_free(copy);
    return installed;
}
