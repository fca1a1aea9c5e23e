/* Base64 (RFC 4648, with padding), resumable: feed any chunk sizes, the
 * state carries up to two bytes between calls. Also random access: the
 * output at offset o starts at input offset (o / 4) * 3, which the request
 * body uses to rewind a document to any position. */
#ifndef CDP_B64_H
#define CDP_B64_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    unsigned char carry[2];
    size_t ncarry;
} cdp_b64_state;

/* Encoded length of n input bytes, padding included. */
uint64_t cdp_b64_encoded_len(uint64_t n);

void cdp_b64_init(cdp_b64_state *st);

/* Encode `in` after what the state carries. `out` must hold
 * cdp_b64_encoded_len(st->ncarry + n) bytes. Returns the bytes written
 * (whole groups only; up to two input bytes stay in the state). */
size_t cdp_b64_update(cdp_b64_state *st, const unsigned char *in, size_t n, char *out);

/* Flush the carried bytes with padding; `out` holds 4 bytes. Returns 0 or 4. */
size_t cdp_b64_final(cdp_b64_state *st, char *out);

/* One-shot: encode n bytes, padding the last group. Returns bytes written. */
size_t cdp_b64_encode(const unsigned char *in, size_t n, char *out);

#endif
