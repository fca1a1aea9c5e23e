/* The process-wide token cache. One entry per token URL, client id, user,
 * scope and credentials (a SHA-256 of secret and password, so that clients
 * with different passwords never share a token), shared by every client of
 * the process and safe across threads:
 * - a token is refreshed ahead of expiry by a margin (token_skew, shrunk to a
 *   quarter of the lifetime for short-lived tokens);
 * - one fetch in flight per entry; other threads wait for it, or go on with
 *   the current token while it is still valid;
 * - refresh grant first, password grant when the refresh is refused;
 * - expiry counts from when the token request started, on CLOCK_MONOTONIC;
 * - after a 401, only the token that failed is dropped (compare-and-invalidate);
 * - secrets and tokens are wiped and freed when the last client releases it. */
#ifndef CDP_TOKEN_H
#define CDP_TOKEN_H

#include "http.h"

typedef struct {
    const char *token_url, *client_id, *client_secret, *username, *password, *scope;
    double skew; /* seconds; <= 0: 30 */
} cdp_token_config;

typedef enum {
    CDP_TOKEN_OK = 0,
    CDP_TOKEN_REFUSED,  /* the token endpoint refused the credentials */
    CDP_TOKEN_HTTP,     /* no answer: see http_fail */
    CDP_TOKEN_SERVER,   /* an answer that is neither a token nor a refusal (5xx, ...) */
    CDP_TOKEN_PROTOCOL, /* 200 without a usable token */
    CDP_TOKEN_INTERNAL
} cdp_token_status;

typedef struct {
    cdp_token_status status;
    cdp_http_fail http_fail;
    long http_status;
    char error[64];     /* Keycloak's "error", e.g. invalid_grant */
    char message[256];  /* Keycloak's "error_description" or the transport's message */
} cdp_token_error;

typedef struct {
    long password_grants, refresh_grants, refused, fetches, clients;
} cdp_token_stats;

typedef struct cdp_token_entry cdp_token_entry;

/* Find or create the entry for cfg and take a reference; NULL: out of memory. */
cdp_token_entry *cdp_token_acquire(const cdp_token_config *cfg);
/* Take one more reference to an entry already held (for another thread). */
void cdp_token_retain(cdp_token_entry *e);
/* Drop a reference; the last one wipes and frees the entry. */
void cdp_token_release(cdp_token_entry *e);

/* A valid access token (malloc'd; free it with cdp_secret_free), fetched with
 * `h` when needed, sending the caller's static `headers` too (a gateway's
 * X-API-Key). Returns 0, or -1 with `err` filled. */
int cdp_token_get(cdp_token_entry *e, cdp_http *h, const char *const *headers, size_t nheaders,
                  char **token, cdp_token_error *err);

/* The API refused `token` (401): forget it if it is still the current one. */
void cdp_token_invalidate(cdp_token_entry *e, const char *token);

cdp_token_stats cdp_token_get_stats(cdp_token_entry *e);

/* Sharing a token between processes (nginx workers): one process fetches,
 * the others are seeded with its token. Refresh tokens are never shared. */
#define CDP_TOKEN_SHARE 1

/* The current access token while it is valid: 0 and a malloc'd copy (free it
 * with cdp_secret_free), its remaining and whole lifetime in seconds; 1 when
 * there is none (or it expired); -1 out of memory. */
int cdp_token_peek(cdp_token_entry *e, char **token, double *expires_in, double *lifetime);

/* Install `token`, valid for `expires_in` seconds from now (`lifetime`: its
 * whole lifetime, for the refresh margin), unless the cache holds a valid
 * token that lives at least as long. 1 installed, 0 kept the cached one,
 * -1 not a token (empty, spaces or control characters) or out of memory. */
int cdp_token_seed(cdp_token_entry *e, const char *token, double expires_in, double lifetime);

#endif
