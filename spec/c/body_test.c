/* The streamed body against OpenSSL's base64: every chunk size, random
 * rewinds, files and memory, odd lengths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../../src/b64.h"
#include "../../src/body.h"

static int failures;

#define CHECK(cond, ...)                              \
    do {                                              \
        if (!(cond)) {                                \
            fprintf(stderr, "FAIL: " __VA_ARGS__);    \
            fprintf(stderr, "\n");                    \
            failures++;                               \
        }                                             \
    } while (0)

static char *openssl_b64(const unsigned char *in, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return out;
}

static void test_stream_encoder(void)
{
    unsigned char data[1000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    for (size_t n = 0; n < 40; n++) {
        char *want = openssl_b64(data, n);
        for (size_t step = 1; step <= 5; step++) {
            char out[64];
            size_t w = 0;
            cdp_b64_state st;
            cdp_b64_init(&st);
            for (size_t at = 0; at < n; at += step)
                w += cdp_b64_update(&st, data + at, at + step > n ? n - at : step, out + w);
            w += cdp_b64_final(&st, out + w);
            CHECK(w == strlen(want) && memcmp(out, want, w) == 0, "stream n=%zu step=%zu", n, step);
        }
        free(want);
    }
}

static void test_body(size_t doc_len, size_t chunk)
{
    unsigned char *doc = malloc(doc_len ? doc_len : 1);
    for (size_t i = 0; i < doc_len; i++)
        doc[i] = (unsigned char)rand();
    char path[] = "/tmp/cdp-body-test.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, doc, doc_len) != (ssize_t)doc_len) {
        CHECK(0, "temp file");
        return;
    }
    close(fd);
    char *b64 = openssl_b64(doc, doc_len);
    size_t b64_len = strlen(b64);
    /* Expected: {"a":"<b64>","b":"<b64>"} from file then memory. */
    size_t want_len = 7 + b64_len + 7 + b64_len + 2;
    char *want = malloc(want_len + 1);
    snprintf(want, want_len + 1, "{\"a\":\"%s\",\"b\":\"%s\"}", b64, b64);

    cdp_body *b = cdp_body_new();
    char err[256];
    CHECK(cdp_body_add_text(b, "{\"a\":\"", 6) == 0, "text");
    CHECK(cdp_body_add_file_b64(b, path, err, sizeof err) == 0, "file: %s", err);
    CHECK(cdp_body_add_text(b, "\",\"b\":\"", 7) == 0, "text");
    CHECK(cdp_body_add_memory_b64(b, doc, doc_len) == 0, "memory");
    CHECK(cdp_body_add_text(b, "\"}", 2) == 0, "text");
    CHECK(cdp_body_length(b) == want_len - 1 || cdp_body_length(b) == strlen(want),
          "length %llu vs %zu", (unsigned long long)cdp_body_length(b), strlen(want));
    want_len = strlen(want);

    char *got = malloc(want_len + 1);
    for (int round = 0; round < 4; round++) {
        /* Start anywhere (a rewind to an arbitrary offset), read to the end. */
        size_t from = round == 0 ? 0 : (size_t)rand() % (want_len + 1);
        CHECK(cdp_body_seek(b, from) == 0, "seek");
        size_t have = from;
        for (;;) {
            size_t n = cdp_body_read(b, got + have, chunk);
            CHECK(n != CDP_BODY_READ_ERROR, "read error");
            if (n == 0 || n == CDP_BODY_READ_ERROR)
                break;
            have += n;
        }
        CHECK(have == want_len, "len %zu vs %zu (doc %zu chunk %zu)", have, want_len, doc_len, chunk);
        CHECK(memcmp(got + from, want + from, want_len - from) == 0,
              "bytes differ from %zu (doc %zu chunk %zu)", from, doc_len, chunk);
    }
    CHECK(cdp_body_seek(b, want_len + 1) != 0, "seek past the end refused");
    cdp_body_free(b);

    /* A missing file is refused when added, with nothing leaked. */
    b = cdp_body_new();
    CHECK(cdp_body_add_file_b64(b, "/nonexistent/cdp", err, sizeof err) != 0, "missing file");
    cdp_body_free(b);

    unlink(path);
    free(got);
    free(want);
    free(b64);
    free(doc);
}

int main(void)
{
    srand(42);
    test_stream_encoder();
    size_t lens[] = {0, 1, 2, 3, 4, 5, 47, 48, 49, 49151, 49152, 49153, 200001};
    size_t chunks[] = {1, 3, 7, 1000, 65536};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
        for (size_t j = 0; j < sizeof chunks / sizeof *chunks; j++)
            if (!(lens[i] > 50000 && chunks[j] < 7))
                test_body(lens[i], chunks[j]);
    printf("body_test: %s\n", failures ? "FAIL" : "ok");
    return failures ? 1 : 0;
}
