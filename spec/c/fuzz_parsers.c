/* Fuzz target for the core's parsers and encoder: the flat JSON reader (token
 * answers come from the network), the resumable base64 encoder (any split of
 * the input gives the one-shot output), and the CSV line splitter and UTF-8
 * check (partners' exports), each against a plain reference written here.
 *   libFuzzer: clang -g -fsanitize=fuzzer,address,undefined -DCDP_LIBFUZZER \
 *     -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE spec/c/fuzz_parsers.c \
 *     src/jsonflat.c src/b64.c src/csv.c -o build/fuzz_parsers && build/fuzz_parsers
 * Without CDP_LIBFUZZER (make test-c) it runs fixed cases, 200,000
 * deterministic random inputs and the regression inputs of
 * spec/fuzz/fuzz_parsers through the same checks (`make fuzz` runs it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/b64.h"
#include "../../src/csv.h"
#include "../../src/jsonflat.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_parsers: FAIL: %s\n", what);
        abort();
    }
}


/* The CSV splitter's reference: one byte at a time. Fields go to `out`, the
 * i-th at starts[i], lens[i]; returns what cdp_csv_split returns. */
static long ref_csv_split(const uint8_t *s, size_t n, char *out, size_t *starts, size_t *lens, size_t *field)
{
    size_t nf = 0, o = 0, i = 0;
    for (;;) {
        *field = ++nf;
        starts[nf - 1] = o;
        if (i < n && s[i] == '"') {
            for (i++;; ) {
                if (i >= n)
                    return CDP_CSV_OPEN_QUOTE;
                if (s[i] == '"' && i + 1 < n && s[i + 1] == '"') {
                    out[o++] = '"';
                    i += 2;
                } else if (s[i] == '"') {
                    i++;
                    break;
                } else {
                    out[o++] = (char)s[i++];
                }
            }
            lens[nf - 1] = o - starts[nf - 1];
            if (i == n)
                return (long)nf;
            if (s[i] != ',')
                return CDP_CSV_AFTER_QUOTE;
            i++;
        } else {
            for (; i < n && s[i] != ','; i++) {
                if (s[i] == '"')
                    return CDP_CSV_STRAY_QUOTE;
                out[o++] = (char)s[i];
            }
            lens[nf - 1] = o - starts[nf - 1];
            if (i == n)
                return (long)nf;
            i++;
        }
    }
}

/* The fields cdp_csv_split passes, kept for the comparison. */
typedef struct {
    char *text;
    size_t *starts, *lens, count, used;
} csv_seen;

static int csv_keep(void *ctx, size_t number, const char *text, size_t len)
{
    csv_seen *seen = ctx;
    check(number == seen->count + 1, "fields in order");
    seen->starts[seen->count] = seen->used;
    seen->lens[seen->count] = len;
    memcpy(seen->text + seen->used, text, len);
    seen->used += len;
    seen->count++;
    return 0;
}

/* UTF-8's reference: decode each sequence, then hold the code point to the
 * shortest form and to the Unicode range. */
static int ref_utf8_valid(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > n)
            return 0;
        unsigned long cp = len == 1 ? c : c & (0x7Fu >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] >> 6) != 2)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        static const unsigned long shortest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < shortest[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

static void check_csv(const uint8_t *data, size_t size)
{
    size_t slots = size + 1;
    char *want = malloc(slots), *scratch = malloc(slots);
    size_t *wstarts = malloc(slots * sizeof *wstarts), *wlens = malloc(slots * sizeof *wlens);
    csv_seen seen = {malloc(slots), malloc(slots * sizeof(size_t)), malloc(slots * sizeof(size_t)), 0, 0};
    check(want && scratch && wstarts && wlens && seen.text && seen.starts && seen.lens, "csv buffers");
    size_t wfield = 0, field = 0;
    long wn = ref_csv_split(data, size, want, wstarts, wlens, &wfield);
    long n = cdp_csv_split((const char *)data, size, scratch, csv_keep, &seen, &field);
    check(n == wn, "csv result");
    check(field == wfield, "csv field number");
    /* the fields before an error, or all of them */
    size_t complete = n >= 0 ? (size_t)n : wfield - 1;
    check(seen.count == complete, "csv field count");
    for (size_t i = 0; i < complete; i++) {
        check(seen.lens[i] == wlens[i], "csv field length");
        check(memcmp(seen.text + seen.starts[i], want + wstarts[i], wlens[i]) == 0, "csv field text");
    }
    check(cdp_utf8_valid((const char *)data, size) == ref_utf8_valid(data, size), "utf8 validity");
    free(want);
    free(scratch);
    free(wstarts);
    free(wlens);
    free(seen.text);
    free(seen.starts);
    free(seen.lens);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_csv(data, size);

    const char *json = (const char *)data;
    static const char *const keys[] = {"access_token", "error", "expires_in", "", "a"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        char *s = NULL;
        size_t len = 0;
        int rc = cdp_json_string(json, size, keys[k], &s, &len);
        check(rc >= -1 && rc <= 1, "string rc");
        if (rc == 1) {
            check(s != NULL && strlen(s) <= len, "string length");
            free(s);
        }
        double d;
        rc = cdp_json_number(json, size, keys[k], &d);
        check(rc >= -1 && rc <= 1, "number rc");
    }

    /* Base64: split the input at a point taken from its first byte. */
    char *whole = malloc(cdp_b64_encoded_len(size) + 1);
    char *parts = malloc(cdp_b64_encoded_len(size) + 8);
    size_t n1 = cdp_b64_encode(data, size, whole);
    check(n1 == cdp_b64_encoded_len(size), "encoded length");
    size_t cut = size ? data[0] % (size + 1) : 0;
    cdp_b64_state st;
    cdp_b64_init(&st);
    size_t n2 = cdp_b64_update(&st, data, cut, parts);
    n2 += cdp_b64_update(&st, data + cut, size - cut, parts + n2);
    n2 += cdp_b64_final(&st, parts + n2);
    check(n1 == n2 && memcmp(whole, parts, n1) == 0, "split encoding");
    free(whole);
    free(parts);
    return 0;
}

#include "fuzz_main.h"

#ifndef CDP_LIBFUZZER
int main(int argc, char **argv)
{
    if (argc > 1)
        return fuzz_main(argc, argv, "fuzz_parsers", 0, 0);
    static const char *const cases[] = {
        "{\"access_token\":\"abc\",\"expires_in\":300}",
        "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid user credentials\"}",
        "{\"a\":[1,{\"b\":\"}\"}],\"access_token\":\"x\\\"y\\u00e9\\ud83d\"}",
        "{\"access_token\":", "{\"access_token\":\"unterminated", "[1,2]", "", "{", "{}",
        "{\"expires_in\":1e999}", "{\"expires_in\":-}", "{\"a\":tru}", "{\"a\":\"\\x\"}",
        "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
        /* CSV lines */
        "a,\"b,\"\"c\"\"\",,d", "\"x\"y", "x\"y", "\"open", ",", "\"\"\"\"",
        /* UTF-8 at each edge: shortest forms, surrogates, U+10FFFF */
        "\xc2\x80", "\xc1\xbf", "\xe0\xa0\x80", "\xe0\x9f\xbf", "\xed\x9f\xbf", "\xed\xa0\x80",
        "\xee\x80\x80", "\xf0\x90\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf",
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "abcdefgh\xe2\x82", "abcdefghijklmnopq\x80",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        LLVMFuzzerTestOneInput((const uint8_t *)cases[i], strlen(cases[i]));
    char *s = NULL;
    check(cdp_json_string(cases[2], strlen(cases[2]), "access_token", &s, NULL) == 1, "escapes");
    check(strcmp(s, "x\"y\xc3\xa9\xed\xa0\xbd") == 0, "escapes decoded");
    free(s);
    double d = 0;
    check(cdp_json_number(cases[0], strlen(cases[0]), "expires_in", &d) == 1 && d == 300, "number");
    check(cdp_json_string(cases[4], strlen(cases[4]), "access_token", &s, NULL) == -1, "unterminated");

    /* Random inputs, JSON-ish alphabet half the time. */
    uint32_t seed = 12345;
    uint8_t buf[256];
    static const char alphabet[] = "{}[]\":,\\u0123456789abcdefnrtl e.-+access_tokenexpires_in\"\",,\xc3\xa9\xed\xf0";
    for (int iter = 0; iter < 200000; iter++) {
        size_t len = (seed = seed * 1103515245u + 12345u) >> 24;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (iter & 1) ? (uint8_t)(seed >> 16) : (uint8_t)alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    return fuzz_main(argc, argv, "fuzz_parsers", 0, 0);
}
#endif
