/* Fuzz target for the checks of what goes on the wire as is (src/wirecheck.h):
 * static header lines and the token URL. Each check must agree with a
 * reference written differently here (string functions over the bytes), and
 * what it accepts must be safe to hand to libcurl: one line (no CR, LF or
 * NUL), a colon after a non-empty name; a URL with an http(s) scheme and no
 * byte <= 0x20 or 0x7f. The first input byte picks the check's view: the
 * whole input, or the input up to the first NUL (as C strings see it).
 * `make fuzz` builds it with libFuzzer; `make test-c` replays
 * spec/fuzz/fuzz_wirecheck and random inputs (fuzz_main.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../src/wirecheck.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_wirecheck: FAIL: %s\n", what);
        abort();
    }
}

static const char TCHAR[] =
    "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int ref_header(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    if (colon == NULL || colon == s)
        return 0;
    for (const char *p = s; p < colon; p++)
        if (*p == '\0' || strchr(TCHAR, *p) == NULL)
            return 0;
    return memchr(s, '\r', n) == NULL && memchr(s, '\n', n) == NULL && memchr(s, '\0', n) == NULL;
}

static int ref_url(const char *s, size_t n)
{
    size_t skip;
    if (n >= 8 && strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else if (n >= 7 && strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else
        return 0;
    if (n == skip)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        check(!cdp_header_line_ok("", 0) && !cdp_url_ok("", 0), "empty refused");
        return 0;
    }
    size_t n = size - 1;
    /* An exact-size copy of the rest: ASan sees any read past it. */
    char *s = malloc(n ? n : 1);
    check(s != NULL, "malloc");
    memcpy(s, data + 1, n);
    if (data[0] & 1) {
        const char *nul = memchr(s, '\0', n);
        if (nul != NULL)
            n = (size_t)(nul - s);
    }
    int h = cdp_header_line_ok(s, n);
    check(h == ref_header(s, n), "header check agrees with the reference");
    if (h) {
        check(memchr(s, '\r', n) == NULL && memchr(s, '\n', n) == NULL, "accepted header is one line");
        check(memchr(s, '\0', n) == NULL && memchr(s, ':', n) != NULL, "accepted header has a colon, no NUL");
    }
    int u = cdp_url_ok(s, n);
    check(u == ref_url(s, n), "URL check agrees with the reference");
    if (u)
        check(memchr(s, '\0', n) == NULL && memchr(s, ' ', n) == NULL, "accepted URL has no NUL or space");
    free(s);
    return 0;
}

#include "fuzz_main.h"

#ifndef CDP_LIBFUZZER
static int header(const char *s) { return cdp_header_line_ok(s, strlen(s)); }
static int url(const char *s) { return cdp_url_ok(s, strlen(s)); }

int main(int argc, char **argv)
{
    check(header("X-API-Key: k") && header("a:") && header("X:  spaced value "), "good headers");
    check(!header(": v") && !header("X-A") && !header("Bad Name: x") && !header("X-A: a\r\nB: c"),
          "bad headers");
    check(!header("X-A: b\nc") && !header(" X: y") && !header("X\t: y"), "bad headers 2");
    check(!cdp_header_line_ok("X-A: b\0\r\nEvil: 1", 17), "embedded NUL refused");
    check(url("https://cdp.example/token") && url("HTTP://127.0.0.1:8080/a?b=c") && url("https://x"),
          "good URLs");
    check(!url("https://") && !url("ftp://x") && !url("https:/x") && !url("https://a b") &&
              !url("http://a\x7f") && !url("httpx://a") && !url("") && !url("https://a\r\n"),
          "bad URLs");
    check(!cdp_url_ok("https://a/\0b", 11), "URL with NUL refused");
    return fuzz_main(argc, argv, "fuzz_wirecheck", 200000, 64);
}
#endif
