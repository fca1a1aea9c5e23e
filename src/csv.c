/* CSV line splitting and UTF-8 validation: see csv.h. */
#include "csv.h"

#include <stdint.h>
#include <string.h>

long cdp_csv_split(const char *line, size_t len, char *scratch, cdp_csv_field_fn emit, void *ctx,
                   size_t *field)
{
    size_t pos = 0, n = 0;
    for (;;) {
        /* pos is where field n + 1 starts */
        n++;
        *field = n;
        if (pos < len && line[pos] == '"') {
            size_t out = 0, i = pos + 1;
            for (;;) {
                const char *q = i < len ? memchr(line + i, '"', len - i) : NULL;
                if (q == NULL)
                    return CDP_CSV_OPEN_QUOTE;
                size_t at = (size_t)(q - line);
                memcpy(scratch + out, line + i, at - i);
                out += at - i;
                if (at + 1 < len && line[at + 1] == '"') {
                    scratch[out++] = '"';
                    i = at + 2;
                    continue;
                }
                pos = at + 1;
                break;
            }
            if (pos < len && line[pos] != ',')
                return CDP_CSV_AFTER_QUOTE;
            if (emit(ctx, n, scratch, out) != 0)
                return CDP_CSV_STOPPED;
            if (pos == len)
                return (long)n;
            pos++;
        } else {
            const char *comma = pos < len ? memchr(line + pos, ',', len - pos) : NULL;
            size_t end = comma ? (size_t)(comma - line) : len;
            if (end > pos && memchr(line + pos, '"', end - pos) != NULL)
                return CDP_CSV_STRAY_QUOTE;
            if (emit(ctx, n, line + pos, end - pos) != 0)
                return CDP_CSV_STOPPED;
            if (comma == NULL)
                return (long)n;
            pos = end + 1;
        }
    }
}

/* The length of the valid UTF-8 sequence at s (at most `left` bytes), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t left)
{
    unsigned c = s[0];
    if (c >= 0xC2 && c <= 0xDF)
        return left >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && s[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && s[1] > 0x9F)
            return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90)
            return 0; /* overlong */
        if (c == 0xF4 && s[1] > 0x8F)
            return 0; /* past U+10FFFF */
        return 4;
    }
    return 0;
}

int cdp_utf8_valid(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        /* ASCII eight bytes at a time: most of a partner's export */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & UINT64_C(0x8080808080808080))
                break;
            i += 8;
        }
        if (i == len)
            break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_sequence(s + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}
