/* Checks of the strings that the core puts on the wire as they are (static
 * header lines, the token URL). Pure and Lua-free, header-only (so they need
 * no entry in the rockspec), so that the fuzz targets link them without Lua. */
#ifndef CDP_WIRECHECK_H
#define CDP_WIRECHECK_H

#include <stddef.h>

/* One "Name: value" header line of `len` bytes: a non-empty name of token
 * characters (RFC 9110), a colon, and a value without CR, LF or NUL (an
 * embedded NUL would cut the line where libcurl copies it). 1 ok, 0 not. */
static inline int cdp_header_line_ok(const char *line, size_t len)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~";
    size_t i = 0;
    for (; i < len && line[i] != ':'; i++) {
        unsigned char c = (unsigned char)line[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        for (const char *t = tchar; !ok && *t; t++)
            ok = c == (unsigned char)*t;
        if (!ok)
            return 0;
    }
    if (i == 0 || i == len)
        return 0;
    for (; i < len; i++)
        if (line[i] == '\r' || line[i] == '\n' || line[i] == '\0')
            return 0;
    return 1;
}

/* A URL of `len` bytes handed to libcurl as is: "http://" or "https://"
 * (any case) and a non-empty rest without NUL, spaces or control bytes.
 * 1 ok, 0 not. */
static inline int cdp_url_ok(const char *url, size_t len)
{
    static const char http[] = "http";
    size_t i = 0;
    for (; i < 4; i++)
        if (i >= len || (url[i] | 0x20) != http[i])
            return 0;
    if (i < len && (url[i] | 0x20) == 's')
        i++;
    if (len - i < 4 || url[i] != ':' || url[i + 1] != '/' || url[i + 2] != '/')
        return 0;
    for (i += 3; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= ' ' || c == 0x7f)
            return 0;
    }
    return 1;
}

#endif
