#include "jsonflat.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t len, i;
} scanner;

static void skip_ws(scanner *sc)
{
    while (sc->i < sc->len && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' ||
                               sc->s[sc->i] == '\n' || sc->s[sc->i] == '\r'))
        sc->i++;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/* Scan a string at sc->i (on the opening quote). When `out` is given it
 * receives the decoded text (it must hold the raw length + 1). Returns the
 * decoded length, or -1 when malformed. Surrogate pairs decode as two
 * 3-byte sequences: token fields are ASCII, exact UTF-8 is not needed. */
static long scan_string(scanner *sc, char *out)
{
    size_t n = 0;
    if (sc->i >= sc->len || sc->s[sc->i] != '"')
        return -1;
    sc->i++;
    while (sc->i < sc->len) {
        unsigned char c = (unsigned char)sc->s[sc->i++];
        if (c == '"') {
            if (out)
                out[n] = '\0';
            return (long)n;
        }
        if (c < 0x20)
            return -1;
        if (c != '\\') {
            if (out)
                out[n] = (char)c;
            n++;
            continue;
        }
        if (sc->i >= sc->len)
            return -1;
        char e = sc->s[sc->i++];
        char ch;
        switch (e) {
        case '"': ch = '"'; break;
        case '\\': ch = '\\'; break;
        case '/': ch = '/'; break;
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case 'u': {
            unsigned cp = 0;
            if (sc->len - sc->i < 4)
                return -1;
            for (int k = 0; k < 4; k++) {
                int h = hex_value(sc->s[sc->i++]);
                if (h < 0)
                    return -1;
                cp = cp * 16 + (unsigned)h;
            }
            char tmp[3];
            size_t w = put_utf8(cp, tmp);
            /* \uXXXX is 6 raw bytes, at most 3 decoded: `out` is big enough. */
            if (out)
                memcpy(out + n, tmp, w);
            n += w;
            continue;
        }
        default:
            return -1;
        }
        if (out)
            out[n] = ch;
        n++;
    }
    return -1;
}

/* Skip any value; returns 0 or -1. */
static int skip_value(scanner *sc, int depth)
{
    if (depth > 64)
        return -1;
    skip_ws(sc);
    if (sc->i >= sc->len)
        return -1;
    char c = sc->s[sc->i];
    if (c == '"')
        return scan_string(sc, NULL) < 0 ? -1 : 0;
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        sc->i++;
        skip_ws(sc);
        if (sc->i < sc->len && sc->s[sc->i] == close) {
            sc->i++;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                skip_ws(sc);
                if (scan_string(sc, NULL) < 0)
                    return -1;
                skip_ws(sc);
                if (sc->i >= sc->len || sc->s[sc->i] != ':')
                    return -1;
                sc->i++;
            }
            if (skip_value(sc, depth + 1) != 0)
                return -1;
            skip_ws(sc);
            if (sc->i >= sc->len)
                return -1;
            if (sc->s[sc->i] == ',') {
                sc->i++;
                continue;
            }
            if (sc->s[sc->i] == close) {
                sc->i++;
                return 0;
            }
            return -1;
        }
    }
    /* number, true, false, null */
    size_t start = sc->i;
    while (sc->i < sc->len && sc->s[sc->i] != '\0' &&
           strchr("0123456789+-.eEtruefalsn", sc->s[sc->i]) != NULL)
        sc->i++;
    return sc->i > start ? 0 : -1;
}

/* Find `key` among the top-level members; leaves sc->i on its value.
 * Returns 1 found, 0 absent, -1 malformed. */
static int find_member(scanner *sc, const char *key)
{
    size_t keylen = strlen(key);
    skip_ws(sc);
    if (sc->i >= sc->len || sc->s[sc->i] != '{')
        return -1;
    sc->i++;
    skip_ws(sc);
    if (sc->i < sc->len && sc->s[sc->i] == '}')
        return 0;
    for (;;) {
        skip_ws(sc);
        size_t key_at = sc->i;
        long n = scan_string(sc, NULL);
        if (n < 0)
            return -1;
        /* Compare the raw key: the keys we look for have no escapes. */
        int match = (size_t)n == keylen && sc->i - key_at == keylen + 2 &&
                    memcmp(sc->s + key_at + 1, key, keylen) == 0;
        skip_ws(sc);
        if (sc->i >= sc->len || sc->s[sc->i] != ':')
            return -1;
        sc->i++;
        skip_ws(sc);
        if (match)
            return 1;
        if (skip_value(sc, 1) != 0)
            return -1;
        skip_ws(sc);
        if (sc->i >= sc->len)
            return -1;
        if (sc->s[sc->i] == ',') {
            sc->i++;
            continue;
        }
        if (sc->s[sc->i] == '}')
            return 0;
        return -1;
    }
}

int cdp_json_string(const char *json, size_t len, const char *key, char **out, size_t *outlen)
{
    scanner sc = {json, len, 0};
    int found = find_member(&sc, key);
    if (found <= 0)
        return found;
    if (sc.i >= sc.len || sc.s[sc.i] != '"')
        return 0;
    size_t at = sc.i;
    long n = scan_string(&sc, NULL);
    if (n < 0)
        return -1;
    char *buf = malloc(sc.i - at + 1);
    if (buf == NULL)
        return -1;
    sc.i = at;
    n = scan_string(&sc, buf);
    *out = buf;
    if (outlen)
        *outlen = (size_t)n;
    return 1;
}

int cdp_json_number(const char *json, size_t len, const char *key, double *out)
{
    scanner sc = {json, len, 0};
    int found = find_member(&sc, key);
    if (found <= 0)
        return found;
    size_t start = sc.i;
    while (sc.i < sc.len && sc.s[sc.i] != '\0' && strchr("0123456789+-.eE", sc.s[sc.i]) != NULL)
        sc.i++;
    size_t n = sc.i - start;
    if (n == 0 || n > 40)
        return 0;
    char tmp[48];
    memcpy(tmp, json + start, n);
    tmp[n] = '\0';
    char *end;
    double v = strtod(tmp, &end);
    if (*end != '\0')
        return 0;
    *out = v;
    return 1;
}
