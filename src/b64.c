#include "b64.h"

#include <string.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

uint64_t cdp_b64_encoded_len(uint64_t n)
{
    return (n + 2) / 3 * 4;
}

void cdp_b64_init(cdp_b64_state *st)
{
    st->ncarry = 0;
}

static void encode_group(const unsigned char *g, char *out)
{
    out[0] = alphabet[g[0] >> 2];
    out[1] = alphabet[((g[0] & 3) << 4) | (g[1] >> 4)];
    out[2] = alphabet[((g[1] & 15) << 2) | (g[2] >> 6)];
    out[3] = alphabet[g[2] & 63];
}

/* The last 1 or 2 bytes, padded with '='. */
static void encode_tail(const unsigned char *in, size_t n, char *out)
{
    unsigned char g[3] = {0, 0, 0};
    memcpy(g, in, n);
    encode_group(g, out);
    out[3] = '=';
    if (n == 1)
        out[2] = '=';
}

size_t cdp_b64_update(cdp_b64_state *st, const unsigned char *in, size_t n, char *out)
{
    size_t written = 0;
    if (st->ncarry > 0) {
        unsigned char g[3];
        size_t need = 3 - st->ncarry;
        if (n < need) {
            memcpy(st->carry + st->ncarry, in, n);
            st->ncarry += n;
            return 0;
        }
        memcpy(g, st->carry, st->ncarry);
        memcpy(g + st->ncarry, in, need);
        encode_group(g, out);
        written = 4;
        in += need;
        n -= need;
        st->ncarry = 0;
    }
    while (n >= 3) {
        encode_group(in, out + written);
        written += 4;
        in += 3;
        n -= 3;
    }
    memcpy(st->carry, in, n);
    st->ncarry = n;
    return written;
}

size_t cdp_b64_final(cdp_b64_state *st, char *out)
{
    if (st->ncarry == 0)
        return 0;
    encode_tail(st->carry, st->ncarry, out);
    st->ncarry = 0;
    return 4;
}

size_t cdp_b64_encode(const unsigned char *in, size_t n, char *out)
{
    cdp_b64_state st;
    cdp_b64_init(&st);
    size_t written = cdp_b64_update(&st, in, n, out);
    return written + cdp_b64_final(&st, out + written);
}
