/* Base64 encoding throughput: the C core's encoder (src/b64.c) against
 * OpenSSL's EVP_EncodeBlock (the baseline) and a plain table-driven encoder,
 * at 1 KiB, 64 KiB and 16 MiB of random input. `make bench` builds and runs
 * it (build/bench/b64_bench); by hand:
 *
 *   cc -O2 -Isrc bench/b64_bench.c src/b64.c -lcrypto -o build/bench/b64_bench
 *   build/bench/b64_bench [seconds-per-trial]
 *
 * Each trial encodes the same buffer repeatedly for about the given time
 * (default 0.05 s) per encoder, the encoders taking turns; the best of 7
 * trials counts (the machines are noisy: the best is the least disturbed).
 * The outputs are compared byte for byte first. One line per size:
 *
 *   b64 <bytes> <core MB/s> <openssl MB/s> <table MB/s>
 *
 * MB = 10^6 bytes of input. The core's streamed form (cdp_b64_update over
 * 64 KiB chunks, as src/body.c feeds it) is also timed at 16 MiB: "b64s". */
#include "b64.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The plain table-driven encoder: one group of three bytes at a time. */
static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t table_encode(const unsigned char *in, size_t n, char *out)
{
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    return (size_t)(o - out);
}

static size_t core_encode(const unsigned char *in, size_t n, char *out)
{
    return cdp_b64_encode(in, n, out);
}

static size_t openssl_encode(const unsigned char *in, size_t n, char *out)
{
    return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* As src/body.c drives it: resumable updates over 64 KiB chunks. */
static size_t core_stream(const unsigned char *in, size_t n, char *out)
{
    cdp_b64_state st;
    cdp_b64_init(&st);
    size_t w = 0;
    for (size_t at = 0; at < n; at += 65536)
        w += cdp_b64_update(&st, in + at, n - at < 65536 ? n - at : 65536, out + w);
    return w + cdp_b64_final(&st, out + w);
}

typedef size_t (*encoder)(const unsigned char *, size_t, char *);

static volatile size_t sink;

/* Input MB/s of one encoder over about `seconds`. */
static double trial(encoder enc, const unsigned char *in, size_t n, char *out, double seconds)
{
    size_t reps = 0, batch = n >= (1u << 20) ? 1 : (1u << 20) / n;
    double start = now(), t;
    do {
        for (size_t i = 0; i < batch; i++)
            sink += enc(in, n, out);
        reps += batch;
        t = now() - start;
    } while (t < seconds);
    return (double)reps * (double)n / t / 1e6;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0.05;
    if (seconds <= 0)
        seconds = 0.05;
    static const size_t sizes[] = {1024, 64 * 1024, 16 * 1024 * 1024};
    size_t max = sizes[2];
    unsigned char *in = malloc(max);
    char *out = malloc(cdp_b64_encoded_len(max) + 1);
    char *want = malloc(cdp_b64_encoded_len(max) + 1);
    if (in == NULL || out == NULL || want == NULL) {
        fprintf(stderr, "b64_bench: out of memory\n");
        return 1;
    }
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < max; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        in[i] = (unsigned char)x;
    }
    /* Same bytes from all three (and every tail length) before any timing. */
    encoder all[] = {core_encode, table_encode, core_stream};
    for (size_t n = 0; n < 200; n++) {
        size_t wn = openssl_encode(in + 1, n, want);
        for (size_t e = 0; e < sizeof all / sizeof all[0]; e++) {
            size_t got = all[e](in + 1, n, out);
            if (got != wn || memcmp(out, want, wn) != 0) {
                fprintf(stderr, "b64_bench: encoder %zu differs from OpenSSL at %zu bytes\n", e, n);
                return 1;
            }
        }
    }
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        size_t wn = openssl_encode(in, n, want);
        for (size_t e = 0; e < sizeof all / sizeof all[0]; e++) {
            if (all[e](in, n, out) != wn || memcmp(out, want, wn) != 0) {
                fprintf(stderr, "b64_bench: encoder %zu differs from OpenSSL at %zu bytes\n", e, n);
                return 1;
            }
        }
    }
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        double best[4] = {0, 0, 0, 0};
        encoder timed[] = {core_encode, openssl_encode, table_encode, core_stream};
        size_t ntimed = n == max ? 4 : 3;
        for (int t = 0; t < 7; t++) {
            for (size_t e = 0; e < ntimed; e++) {
                double r = trial(timed[e], in, n, out, seconds);
                if (r > best[e])
                    best[e] = r;
            }
        }
        printf("b64 %zu %.1f %.1f %.1f\n", n, best[0], best[1], best[2]);
        if (ntimed == 4)
            printf("b64s %zu %.1f %.1f\n", n, best[3], best[1]);
    }
    free(in);
    free(out);
    free(want);
    return 0;
}
