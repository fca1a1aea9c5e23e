/* HTTP transport: one libcurl easy handle per client, reused for every call
 * (keep-alive, TLS session reuse, HTTP/2 when the server offers it), TLS 1.2
 * or newer with peer and host verification always on. Blocking; one thread
 * at a time per handle. */
#ifndef CDP_HTTP_H
#define CDP_HTTP_H

#include <stddef.h>

#include "body.h"

typedef struct {
    const char *ca_file;     /* NULL: the system's CA store */
    const char *client_cert; /* mTLS, PEM; NULL: none */
    const char *client_key;
    const char *proxy;       /* NULL: libcurl's default (environment) */
    const char *user_agent;
    long timeout_ms;         /* whole transfer; 0: none */
    long connect_timeout_ms;
    size_t max_response;     /* bytes of response body accepted */
} cdp_http_config;

/* Why a transfer failed; CDP_HTTP_OK means a response arrived (any status). */
typedef enum {
    CDP_HTTP_OK = 0,
    CDP_HTTP_CONNECT,   /* DNS or TCP connect failed: nothing was sent */
    CDP_HTTP_TLS,       /* handshake, verification, certificates */
    CDP_HTTP_TIMEOUT,
    CDP_HTTP_TRANSPORT, /* reset, broken connection, garbled answer */
    CDP_HTTP_TOO_LARGE, /* the response passed max_response */
    CDP_HTTP_BODY,      /* our own body failed (a document file vanished) */
    CDP_HTTP_INTERNAL   /* out of memory, bad option */
} cdp_http_fail;

typedef struct {
    cdp_http_fail fail;
    long status;       /* HTTP status when fail == CDP_HTTP_OK */
    char *body;        /* response body, NUL-terminated; owned, see clear */
    size_t len, cap;
    int request_sent;  /* some of the request left this process */
    long curl_code;
    long connects;     /* new connections this transfer made */
    char message[256];
} cdp_http_result;

typedef struct cdp_http cdp_http;

/* Returns NULL with `err` set when libcurl refuses an option. */
cdp_http *cdp_http_new(const cdp_http_config *cfg, char *err, size_t errlen);
void cdp_http_free(cdp_http *h);

/* A handle with the same options as `h` (for a transfer of its own, e.g. in
 * a curl multi handle), sharing its TLS session cache: a new connection
 * resumes a session instead of a full handshake. The cache has no lock: `h`
 * and all its duplicates are used from one thread at a time, together. NULL with `err` set on failure. Only while `h` is
 * idle: between transfers it holds no pointer into a caller's memory. */
cdp_http *cdp_http_dup(const cdp_http *h, char *err, size_t errlen);

/* Perform one request. `headers` are "Name: value" lines; `body` may be NULL
 * (GET). The body is rewound to 0 first. A body under 64 KiB is read whole
 * and goes out with the headers in one write; a longer one streams.
 * Returns 0 when a response arrived, -1 otherwise; details in `res`
 * (cleared first).
 * `send_once`: the request must never be sent twice (onboarding). libcurl
 * re-sends a request by itself when a reused connection dies before any
 * answer, which cannot tell "never arrived" from "processed, then reset";
 * so once any of such a request has left, libcurl's re-send is refused (the
 * transfer fails with "not sent again") and the caller finds out what
 * happened. A request that never left may still go on a new connection. */
int cdp_http_perform(cdp_http *h, const char *method, const char *url,
                     const char *const *headers, size_t nheaders,
                     cdp_body *body, int send_once, cdp_http_result *res);

/* cdp_http_perform in two halves, for a driver of its own (curl multi):
 * begin sets the transfer up on the handle (-1: out of memory, or a document
 * of a small body, read here, could not be read; `res` says so); the driver
 * runs cdp_http_easy(h) to completion; finish takes its CURLcode and fills
 * the `res` given to begin (0: a response arrived). `body` and `res` must
 * live until finish. */
int cdp_http_begin(cdp_http *h, const char *method, const char *url,
                   const char *const *headers, size_t nheaders,
                   cdp_body *body, int send_once, cdp_http_result *res);
int cdp_http_finish(cdp_http *h, long curl_code);
void *cdp_http_easy(cdp_http *h); /* the CURL * easy handle */

/* Free the response body; with `wipe`, zero it first (token answers). */
void cdp_http_result_clear(cdp_http_result *res, int wipe);

/* Connections opened by this handle so far. */
long cdp_http_connects(const cdp_http *h);

#endif
