#include "b64.h"

#include <string.h>

/* The character of a 6-bit value, as a constant expression. */
#define B64_CHAR(v) ((char)((v) < 26 ? 'A' + (v) : (v) < 52 ? 'a' + (v) - 26 : \
                            (v) < 62 ? '0' + (v) - 52 : (v) == 62 ? '+' : '/'))

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The two characters of every 12-bit value: three input bytes are two
 * lookups, and the table (8 KiB) stays in the L1 cache. */
#define P1(i) {B64_CHAR((i) >> 6), B64_CHAR((i) & 63)}
#define P4(i) P1(i), P1((i) + 1), P1((i) + 2), P1((i) + 3)
#define P16(i) P4(i), P4((i) + 4), P4((i) + 8), P4((i) + 12)
#define P64(i) P16(i), P16((i) + 16), P16((i) + 32), P16((i) + 48)
#define P256(i) P64(i), P64((i) + 64), P64((i) + 128), P64((i) + 192)
#define P1024(i) P256(i), P256((i) + 256), P256((i) + 512), P256((i) + 768)
static const char pairs[4096][2] = {P1024(0), P1024(1024), P1024(2048), P1024(3072)};

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
    unsigned v = (unsigned)g[0] << 16 | (unsigned)g[1] << 8 | g[2];
    memcpy(out, pairs[v >> 12], 2);
    memcpy(out + 2, pairs[v & 0xfff], 2);
}

/* Whole groups of `n` (a multiple of 3) bytes, 12 bytes a round. */
static void encode_groups(const unsigned char *in, size_t n, char *out)
{
    while (n >= 12) {
        unsigned a = (unsigned)in[0] << 16 | (unsigned)in[1] << 8 | in[2];
        unsigned b = (unsigned)in[3] << 16 | (unsigned)in[4] << 8 | in[5];
        unsigned c = (unsigned)in[6] << 16 | (unsigned)in[7] << 8 | in[8];
        unsigned d = (unsigned)in[9] << 16 | (unsigned)in[10] << 8 | in[11];
        memcpy(out, pairs[a >> 12], 2);
        memcpy(out + 2, pairs[a & 0xfff], 2);
        memcpy(out + 4, pairs[b >> 12], 2);
        memcpy(out + 6, pairs[b & 0xfff], 2);
        memcpy(out + 8, pairs[c >> 12], 2);
        memcpy(out + 10, pairs[c & 0xfff], 2);
        memcpy(out + 12, pairs[d >> 12], 2);
        memcpy(out + 14, pairs[d & 0xfff], 2);
        in += 12;
        out += 16;
        n -= 12;
    }
    while (n >= 3) {
        encode_group(in, out);
        in += 3;
        out += 4;
        n -= 3;
    }
}

/* The last 1 or 2 bytes, padded with '='. */
static void encode_tail(const unsigned char *in, size_t n, char *out)
{
    unsigned v = (unsigned)in[0] << 16 | (n > 1 ? (unsigned)in[1] << 8 : 0);
    out[0] = alphabet[v >> 18];
    out[1] = alphabet[(v >> 12) & 63];
    out[2] = n > 1 ? alphabet[(v >> 6) & 63] : '=';
    out[3] = '=';
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
    size_t whole = n / 3 * 3;
    encode_groups(in, whole, out + written);
    written += whole / 3 * 4;
    memcpy(st->carry, in + whole, n - whole);
    st->ncarry = n - whole;
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
    size_t whole = n / 3 * 3;
    encode_groups(in, whole, out);
    size_t written = whole / 3 * 4;
    if (n > whole) {
        encode_tail(in + whole, n - whole, out + written);
        written += 4;
    }
    return written;
}
