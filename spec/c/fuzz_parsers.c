/* Fuzz target for the core's parser and encoder: the flat JSON reader (token
 * answers come from the network) and the resumable base64 encoder (any
 * split of the input gives the one-shot output).
 *   libFuzzer: clang -g -fsanitize=fuzzer,address,undefined -DCDP_LIBFUZZER \
 *     -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE spec/c/fuzz_parsers.c \
 *     src/jsonflat.c src/b64.c -o build/fuzz_parsers && build/fuzz_parsers
 * Without CDP_LIBFUZZER (make test-c) it runs fixed cases, 200,000
 * deterministic random inputs and the regression inputs of
 * spec/fuzz/fuzz_parsers through the same checks (`make fuzz` runs it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/b64.h"
#include "../../src/jsonflat.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_parsers: FAIL: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
    static const char alphabet[] = "{}[]\":,\\u0123456789abcdefnrtl e.-+access_tokenexpires_in";
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
