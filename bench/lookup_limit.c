/* The limit for the SDK's per-call overhead: N lookups
 * (POST /caas/api/v2/customer/validate) with raw libcurl on one easy handle,
 * so one kept-alive connection, with the headers and body cdp.client sends
 * (Authorization, Accept, Content-Type, an empty Expect, its User-Agent; HTTP/2
 * where the server offers it, TLS 1.2 or later, the same CA).
 *
 *   BENCH_TOKEN=<access token> build/bench/lookup_limit URL CA_FILE BODY N
 *
 * The token comes from the environment (never the command line). One call
 * first opens the connection (not timed); then N calls are timed, each
 * answer collected in memory and checked for HTTP 200. Prints
 *
 *   limit <N> <seconds>
 *
 * bench/lookup.lua runs it between its own batches of SDK lookups. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char *data;
    size_t len, cap;
} buffer;

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    buffer *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (p == NULL)
            return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int call(CURL *curl, buffer *b)
{
    b->len = 0;
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200) {
        fprintf(stderr, "lookup_limit: %s, HTTP %ld\n", curl_easy_strerror(rc), status);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *token = getenv("BENCH_TOKEN");
    if (argc != 5 || token == NULL || token[0] == '\0') {
        fprintf(stderr, "usage: BENCH_TOKEN=... lookup_limit URL CA_FILE BODY N\n");
        return 2;
    }
    const char *url = argv[1], *ca = argv[2], *body = argv[3];
    long n = atol(argv[4]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return 1;
    size_t auth_len = strlen(token) + 32;
    char *auth = malloc(auth_len);
    if (auth == NULL)
        return 1;
    snprintf(auth, auth_len, "Authorization: Bearer %s", token);
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, auth);
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    buffer b = {NULL, 0, 0};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "cdp-lua/0.1");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    int rc = 0;
    if (call(curl, &b) != 0) {
        rc = 1;
    } else {
        double start = now();
        for (long i = 0; i < n && rc == 0; i++)
            if (call(curl, &b) != 0)
                rc = 1;
        double t = now() - start;
        long connects = 0;
        curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
        if (rc == 0)
            printf("limit %ld %.6f %ld\n", n, t, connects);
    }
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    free(auth);
    free(b.data);
    curl_global_cleanup();
    return rc;
}
