/* 8 threads share one expired token: exactly one token request is made,
 * and every thread gets the new token. A tiny HTTP/1.1 server on loopback
 * plays the token endpoint and counts the grants; it answers slowly so the
 * threads pile up behind the one refresh in flight. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../src/http.h"
#include "../../src/secret.h"
#include "../../src/token.h"

#define THREADS 8

static pthread_mutex_t counts_lock = PTHREAD_MUTEX_INITIALIZER;
static int password_grants, refresh_grants, other_requests;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Serve token requests on one connection until the client closes it. */
static void *serve(void *arg)
{
    int fd = (int)(long)arg;
    char buf[8192];
    buf[0] = '\0';
    size_t have = 0;
    for (;;) {
        char *end = NULL;
        while ((end = strstr(buf, "\r\n\r\n")) == NULL) {
            if (have >= sizeof buf - 1)
                goto out;
            ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
            if (n <= 0)
                goto out;
            have += (size_t)n;
            buf[have] = '\0';
        }
        size_t head = (size_t)(end - buf) + 4;
        const char *cl = strstr(buf, "Content-Length: ");
        size_t body_len = cl && cl < end ? (size_t)atol(cl + 16) : 0;
        while (have < head + body_len) {
            if (have >= sizeof buf - 1)
                goto out;
            ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
            if (n <= 0)
                goto out;
            have += (size_t)n;
            buf[have] = '\0';
        }
        char body[sizeof buf];
        memcpy(body, buf + head, body_len);
        body[body_len] = '\0';
        int n;
        pthread_mutex_lock(&counts_lock);
        if (strstr(body, "grant_type=password"))
            password_grants++;
        else if (strstr(body, "grant_type=refresh_token"))
            refresh_grants++;
        else
            other_requests++;
        n = password_grants + refresh_grants + other_requests;
        pthread_mutex_unlock(&counts_lock);
        if (n > 1)
            sleep_ms(300); /* a slow refresh: the other threads must wait for it */
        char json[256], reply[512];
        /* The first token lives 1 s, so the test can let it expire. */
        int jl = snprintf(json, sizeof json,
                          "{\"access_token\":\"tok-%d\",\"expires_in\":%d,\"refresh_token\":\"rt-%d\","
                          "\"refresh_expires_in\":600,\"token_type\":\"bearer\"}",
                          n, n == 1 ? 1 : 300, n);
        int rl = snprintf(reply, sizeof reply,
                          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Content-Length: %d\r\n\r\n%s", jl, json);
        if (send(fd, reply, (size_t)rl, MSG_NOSIGNAL) != rl)
            goto out;
        memmove(buf, buf + head + body_len, have - head - body_len);
        have -= head + body_len;
        buf[have] = '\0';
    }
out:
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    int lfd = (int)(long)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_t t;
        if (pthread_create(&t, NULL, serve, (void *)(long)fd) != 0) {
            close(fd);
            continue;
        }
        pthread_detach(t);
    }
}

static cdp_token_entry *entry;
static pthread_barrier_t start_line;
static char *got[THREADS];
static cdp_http *handles[THREADS];

static void *worker(void *arg)
{
    long i = (long)arg;
    cdp_token_error err;
    pthread_barrier_wait(&start_line);
    if (cdp_token_get(entry, handles[i], NULL, 0, &got[i], &err) != 0)
        fprintf(stderr, "thread %ld: %s\n", i, err.message);
    return NULL;
}

int main(void)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof addr;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) {
        perror("listen");
        return 2;
    }
    pthread_t server;
    pthread_create(&server, NULL, accept_loop, (void *)(long)lfd);
    pthread_detach(server);

    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/token", ntohs(addr.sin_port));
    cdp_token_config cfg = {url, "client", "secret", "user", "password", "scope", 30};
    entry = cdp_token_acquire(&cfg);
    cdp_http_config hc;
    memset(&hc, 0, sizeof hc);
    hc.timeout_ms = 10000;
    char err[256];
    cdp_http *prime = cdp_http_new(&hc, err, sizeof err);
    for (int i = 0; i < THREADS; i++)
        handles[i] = cdp_http_new(&hc, err, sizeof err);
    if (entry == NULL || prime == NULL) {
        fprintf(stderr, "setup failed: %s\n", err);
        return 2;
    }

    /* Prime the cache with the 1-second token, then let it expire. */
    char *first = NULL;
    cdp_token_error terr;
    if (cdp_token_get(entry, prime, NULL, 0, &first, &terr) != 0) {
        fprintf(stderr, "first token: %s\n", terr.message);
        return 2;
    }
    sleep_ms(1200);

    pthread_barrier_init(&start_line, NULL, THREADS);
    pthread_t threads[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&threads[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);

    int failures = 0;
    pthread_mutex_lock(&counts_lock);
    printf("token_threads: first=%s password_grants=%d refresh_grants=%d other=%d\n", first,
           password_grants, refresh_grants, other_requests);
    if (strcmp(first, "tok-1") != 0 || password_grants != 1 || refresh_grants != 1 ||
        other_requests != 0) {
        fprintf(stderr, "FAIL: expected one password grant, then exactly one refresh grant\n");
        failures++;
    }
    pthread_mutex_unlock(&counts_lock);
    for (int i = 0; i < THREADS; i++) {
        if (got[i] == NULL || strcmp(got[i], "tok-2") != 0) {
            fprintf(stderr, "FAIL: thread %d got %s, expected tok-2\n", i, got[i] ? got[i] : "(none)");
            failures++;
        }
        cdp_secret_free(got[i]);
        cdp_http_free(handles[i]);
    }
    /* Seeding and peeking (tokens shared between processes). */
    char *peeked = NULL;
    double left = 0, whole = 0;
    if (cdp_token_peek(entry, &peeked, &left, &whole) != 0 || strcmp(peeked, "tok-2") != 0 ||
        whole != 300 || left <= 0 || left > 300) {
        fprintf(stderr, "FAIL: peek\n");
        failures++;
    }
    cdp_secret_free(peeked);
    if (cdp_token_seed(entry, "shorter", 10, 10) != 0 || cdp_token_seed(entry, "bad token", 900, 900) != -1 ||
        cdp_token_seed(entry, "longer", 900, 900) != 1) {
        fprintf(stderr, "FAIL: seed keeps the longer-living token only\n");
        failures++;
    }
    peeked = NULL;
    if (cdp_token_peek(entry, &peeked, &left, &whole) != 0 || strcmp(peeked, "longer") != 0) {
        fprintf(stderr, "FAIL: peek after seed\n");
        failures++;
    }
    cdp_secret_free(peeked);
    cdp_token_invalidate(entry, "longer");
    if (cdp_token_peek(entry, &peeked, &left, &whole) != 1) {
        fprintf(stderr, "FAIL: peek after invalidate\n");
        failures++;
    }

    cdp_token_stats st = cdp_token_get_stats(entry);
    if (st.fetches != 2 || st.clients != 1) {
        fprintf(stderr, "FAIL: stats fetches=%ld clients=%ld\n", st.fetches, st.clients);
        failures++;
    }
    cdp_secret_free(first);
    cdp_http_free(prime);
    cdp_token_release(entry);
    pthread_barrier_destroy(&start_line);
    close(lfd);
    printf("token_threads: %s\n", failures ? "FAIL" : "ok");
    return failures ? 1 : 0;
}
