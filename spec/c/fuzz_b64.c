/* Fuzz target for the core's base64 (src/b64.c):
 * - the one-shot output is OpenSSL's (EVP_EncodeBlock), of the exact length,
 *   and a plain decoder written here gives the input back;
 * - encoding in chunks (sizes drawn from the input) through the resumable
 *   state, into exact-size buffers, gives the one-shot output;
 * - random access: encoding from input offset 3k gives the one-shot output
 *   from offset 4k (what the request body relies on to rewind).
 * `make fuzz` builds it with libFuzzer; `make test-c` replays spec/fuzz/fuzz_b64
 * and random inputs through the same checks (fuzz_main.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../src/b64.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_b64: FAIL: %s\n", what);
        abort();
    }
}

static int value_of(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* A strict decoder: whole groups, padding only at the end, and the unused
 * bits of a padded group zero (the canonical encoding). Returns the bytes
 * written, or -1. */
static long decode(const char *in, size_t n, unsigned char *out)
{
    if (n % 4 != 0)
        return -1;
    long w = 0;
    for (size_t i = 0; i < n; i += 4) {
        int pad = (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=');
        if (pad > 0 && i + 4 != n)
            return -1;
        int v[4];
        for (int k = 0; k < 4 - pad; k++)
            if ((v[k] = value_of(in[i + k])) < 0)
                return -1;
        for (int k = 4 - pad; k < 4; k++)
            v[k] = 0;
        unsigned long g = ((unsigned long)v[0] << 18) | ((unsigned long)v[1] << 12) |
                          ((unsigned long)v[2] << 6) | (unsigned long)v[3];
        if ((pad == 1 && (g & 0xff)) || (pad == 2 && (g & 0xffff)))
            return -1;
        out[w++] = (unsigned char)(g >> 16);
        if (pad < 2)
            out[w++] = (unsigned char)(g >> 8);
        if (pad < 1)
            out[w++] = (unsigned char)g;
    }
    return w;
}

/* Encode with the resumable state in chunks; each chunk into a buffer of
 * exactly the size the header promises. */
static size_t encode_chunked(const uint8_t *data, size_t size, uint32_t seed, char *out)
{
    cdp_b64_state st;
    cdp_b64_init(&st);
    size_t at = 0, written = 0;
    while (at < size) {
        seed = seed * 1103515245u + 12345u;
        /* Mostly small chunks (the carry paths), sometimes big ones. */
        size_t chunk = (seed >> 16) % 8 == 0 ? (seed >> 8) % (size - at + 1) : (seed >> 16) % 5;
        if (chunk > size - at)
            chunk = size - at;
        size_t room = (size_t)cdp_b64_encoded_len(st.ncarry + chunk);
        char *tmp = malloc(room ? room : 1);
        check(tmp != NULL, "malloc");
        size_t w = cdp_b64_update(&st, data + at, chunk, tmp);
        check(w <= room && w % 4 == 0, "update writes whole groups within the promised room");
        check(st.ncarry <= 2, "carry at most two bytes");
        memcpy(out + written, tmp, w);
        free(tmp);
        written += w;
        at += chunk;
    }
    char *last = malloc(4);
    check(last != NULL, "malloc");
    size_t w = cdp_b64_final(&st, last);
    check(w == 0 || w == 4, "final writes 0 or 4");
    memcpy(out + written, last, w);
    free(last);
    check(cdp_b64_final(&st, out) == 0, "final twice writes nothing");
    return written + w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t elen = (size_t)cdp_b64_encoded_len(size);
    check(elen == (size + 2) / 3 * 4, "encoded length");
    char *one = malloc(elen ? elen : 1);
    char *ref = malloc(elen + 1);
    char *chunked = malloc(elen ? elen : 1);
    unsigned char *back = malloc(size ? size : 1);
    check(one && ref && chunked && back, "malloc");

    check(cdp_b64_encode(data, size, one) == elen, "one-shot length");
    check(EVP_EncodeBlock((unsigned char *)ref, data, (int)size) == (int)elen, "OpenSSL length");
    check(memcmp(one, ref, elen) == 0, "one-shot equals OpenSSL's");
    check(decode(one, elen, back) == (long)size && memcmp(back, data, size) == 0, "round trip");

    uint32_t seed = 2166136261u;
    for (size_t i = 0; i < size && i < 16; i++)
        seed = (seed ^ data[i]) * 16777619u;
    check(encode_chunked(data, size, seed, chunked) == elen, "chunked length");
    check(memcmp(one, chunked, elen) == 0, "chunked equals one-shot");

    /* Random access from a group boundary picked by the input. */
    if (size > 0) {
        size_t group = (size_t)(seed % ((size + 2) / 3));
        size_t in_off = group * 3;
        size_t rest = (size_t)cdp_b64_encoded_len(size - in_off);
        char *tail = malloc(rest ? rest : 1);
        check(tail != NULL, "malloc");
        check(cdp_b64_encode(data + in_off, size - in_off, tail) == rest, "tail length");
        check(group * 4 + rest == elen && memcmp(tail, one + group * 4, rest) == 0, "random access");
        free(tail);
    }
    free(one);
    free(ref);
    free(chunked);
    free(back);
    return 0;
}

#include "fuzz_main.h"

#ifndef CDP_LIBFUZZER
int main(int argc, char **argv)
{
    /* The decoder refuses what it must. */
    unsigned char out[8];
    check(decode("QQ==", 4, out) == 1 && out[0] == 'A', "decode padded");
    check(decode("QR==", 4, out) == -1, "decode refuses non-zero unused bits");
    check(decode("Q===", 4, out) == -1 && decode("QQ=A", 4, out) == -1, "decode refuses bad padding");
    check(decode("QQ==QQ==", 8, out) == -1, "decode refuses padding inside");
    return fuzz_main(argc, argv, "fuzz_b64", 100000, 300);
}
#endif
