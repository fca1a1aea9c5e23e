/* Fuzz target for the streamed request body (src/body.c): the input draws an
 * envelope of text parts and documents (in memory, or files written to a
 * temp dir; some big enough to cross the 48 KiB staging chunks), then reads
 * the body in random chunk sizes with seeks and restarts at random points.
 * Every read must give the bytes of the plain concatenation (text + base64 of
 * each document, made with OpenSSL's encoder here); the length, high-water
 * mark and range checks must hold. Sometimes a file shrinks after it was
 * added: reads may then fail (with a reason), but never give wrong bytes.
 * `make fuzz` builds it with libFuzzer; `make test-c` replays spec/fuzz/fuzz_body
 * and random inputs through the same checks (fuzz_main.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../../src/body.h"

#define MAX_PARTS 10

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_body: FAIL: %s\n", what);
        abort();
    }
}

/* The input, read as a stream of numbers; past its end, a PRNG seeded by it. */
typedef struct {
    const uint8_t *data;
    size_t size, at;
    uint32_t seed;
} source;

static uint32_t next_byte(source *s)
{
    if (s->at < s->size)
        return s->data[s->at++];
    s->seed = s->seed * 1103515245u + 12345u;
    return (s->seed >> 16) & 0xff;
}

static uint32_t next_u16(source *s)
{
    uint32_t hi = next_byte(s);
    return (hi << 8) | next_byte(s);
}

static char tmp_dir[64];

static void remove_tmp_dir(void)
{
    char path[128];
    for (int i = 0; i < MAX_PARTS; i++) {
        snprintf(path, sizeof path, "%s/doc%d", tmp_dir, i);
        unlink(path);
    }
    rmdir(tmp_dir);
}

static void ensure_tmp_dir(void)
{
    if (tmp_dir[0])
        return;
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/cdp-fuzz-body.XXXXXX", base && *base && strlen(base) < 30 ? base : "/tmp");
    check(mkdtemp(tmp_dir) != NULL, "mkdtemp");
    atexit(remove_tmp_dir);
}

static void write_file(const char *path, const unsigned char *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    check(fd >= 0, "open a temp file");
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, data + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        check(w > 0, "write a temp file");
        done += (size_t)w;
    }
    check(close(fd) == 0, "close a temp file");
}

typedef struct {
    int kind; /* 0 text, 1 memory document, 2 file document */
    unsigned char *bytes;
    size_t len;
} part;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    source s = {data, size, 0, 0x9e3779b9u ^ (uint32_t)size};
    for (size_t i = 0; i < size && i < 32; i++)
        s.seed = (s.seed ^ data[i]) * 16777619u;

    part parts[MAX_PARTS];
    size_t nparts = 1 + next_byte(&s) % MAX_PARTS;
    size_t expected_len = 0;
    for (size_t i = 0; i < nparts; i++) {
        uint32_t how = next_byte(&s);
        part *p = &parts[i];
        p->kind = (int)(how % 3);
        /* Sizes: mostly small, sometimes around and across the staging chunk
         * (49152 input bytes) and several chunks. */
        switch ((how >> 2) % 8) {
        case 0: p->len = 0; break;
        case 1: p->len = 49152 + next_byte(&s) % 8 - 4; break;
        case 2: p->len = next_u16(&s) * 3u; break; /* up to ~196 KB */
        default: p->len = next_byte(&s) % 200; break;
        }
        if (p->kind == 0 && p->len > 4096)
            p->len %= 4096;
        p->bytes = malloc(p->len ? p->len : 1);
        check(p->bytes != NULL, "malloc");
        /* Content: input bytes while they last, then PRNG bytes. */
        for (size_t k = 0; k < p->len; k++)
            p->bytes[k] = (uint8_t)next_byte(&s);
        expected_len += p->kind == 0 ? p->len : (p->len + 2) / 3 * 4;
    }

    char *expected = malloc(expected_len + 1);
    check(expected != NULL, "malloc");
    size_t at = 0;
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].kind == 0) {
            memcpy(expected + at, parts[i].bytes, parts[i].len);
            at += parts[i].len;
        } else {
            at += (size_t)EVP_EncodeBlock((unsigned char *)expected + at, parts[i].bytes, (int)parts[i].len);
        }
    }
    check(at == expected_len, "reference length");

    cdp_body *b = cdp_body_new();
    check(b != NULL, "cdp_body_new");
    int shrunk = 0;
    char path[128];
    for (size_t i = 0; i < nparts; i++) {
        part *p = &parts[i];
        if (p->kind == 0) {
            check(cdp_body_add_text(b, (const char *)p->bytes, p->len) == 0, "add text");
        } else if (p->kind == 1) {
            check(cdp_body_add_memory_b64(b, p->bytes, p->len) == 0, "add memory");
        } else {
            ensure_tmp_dir();
            snprintf(path, sizeof path, "%s/doc%zu", tmp_dir, i);
            write_file(path, p->bytes, p->len);
            char err[256];
            check(cdp_body_add_file_b64(b, path, err, sizeof err) == 0, "add file");
            /* Now and then the file shrinks (or goes) after it was added. */
            if (p->len > 0 && next_byte(&s) % 16 == 0) {
                check(truncate(path, (off_t)(next_u16(&s) % p->len)) == 0, "truncate");
                shrunk = 1;
            }
            unlink(path); /* the body holds the descriptor */
        }
    }
    check(cdp_body_length(b) == expected_len, "body length");
    check(cdp_body_high_water(b) == 0, "fresh high-water mark");
    check(cdp_body_seek(b, expected_len + 1) == -1, "seek past the end refused");

    char *buf = malloc(70000);
    check(buf != NULL, "malloc");
    uint64_t pos = 0, high = 0;
    int errors = 0;
    size_t ops = 1 + next_byte(&s) % 64;
    for (size_t op = 0; op < ops; op++) {
        uint32_t what = next_byte(&s);
        if (what < 24) {
            uint64_t to = expected_len ? (next_u16(&s) * 7919u + next_byte(&s)) % (expected_len + 1) : 0;
            check(cdp_body_seek(b, to) == 0, "seek in range");
            pos = to;
        } else if (what < 32) {
            cdp_body_restart(b);
            check(cdp_body_high_water(b) == 0, "restart forgets the high-water mark");
            check(cdp_body_error(b)[0] == '\0', "restart forgets the error");
            pos = high = 0;
        } else if (what < 36) {
            check(cdp_body_seek(b, expected_len + 1 + next_byte(&s)) == -1, "seek out of range refused");
        } else {
            /* Chunk sizes: 0, tiny, around a base64 group, libcurl's 64 KiB, big. */
            size_t n;
            switch (what % 5) {
            case 0: n = what % 9; break;
            case 1: n = 16384; break;
            case 2: n = 65536 + next_byte(&s) % 3; break;
            default: n = next_u16(&s) % 70000; break;
            }
            char *dst = malloc(n ? n : 1); /* exact size: ASan sees overruns */
            check(dst != NULL, "malloc");
            size_t got = cdp_body_read(b, dst, n);
            if (got == CDP_BODY_READ_ERROR) {
                check(shrunk, "a read fails only when a file shrank");
                check(cdp_body_error(b)[0] != '\0', "a failed read says why");
                errors++;
                /* What was copied before the failure is lost: start again
                 * from a known offset. */
                check(cdp_body_seek(b, pos) == 0, "seek after an error");
            } else {
                uint64_t left = expected_len - pos;
                check(got == (n < left ? n : left), "read size");
                check(memcmp(dst, expected + pos, got) == 0, "read bytes");
                pos += got;
                if (pos > high)
                    high = pos;
                check(cdp_body_high_water(b) == high, "high-water mark");
            }
            free(dst);
        }
    }
    /* Then the whole body from the start, in 64 KiB reads as libcurl does. */
    cdp_body_restart(b);
    pos = 0;
    for (;;) {
        size_t got = cdp_body_read(b, buf, 65536);
        if (got == CDP_BODY_READ_ERROR) {
            check(shrunk, "a full read fails only when a file shrank");
            break;
        }
        if (got == 0)
            break;
        check(pos + got <= expected_len && memcmp(buf, expected + pos, got) == 0, "full read bytes");
        pos += got;
    }
    check(shrunk || pos == expected_len, "full read length");
    check(cdp_body_read(b, buf, 10) == 0 || shrunk, "read at the end gives 0");

    cdp_body_free(b);
    free(buf);
    free(expected);
    for (size_t i = 0; i < nparts; i++)
        free(parts[i].bytes);
    (void)errors;
    return 0;
}

#include "fuzz_main.h"

#ifndef CDP_LIBFUZZER
int main(int argc, char **argv)
{
    return fuzz_main(argc, argv, "fuzz_body", 3000, 400);
}
#endif
