/* A request body streamed from parts: text (sent as is) and documents (sent
 * as their base64, made on the fly from a file or from memory). The total
 * length is exact before the transfer starts (Content-Length), the body can be
 * read in any chunk sizes and rewound to any offset (libcurl's seek callback),
 * and memory stays at one staging buffer whatever the documents' size.
 * Parts are not copied: text and memory must outlive the body. */
#ifndef CDP_BODY_H
#define CDP_BODY_H

#include <stddef.h>
#include <stdint.h>

typedef struct cdp_body cdp_body;

#define CDP_BODY_READ_ERROR ((size_t)-1)

cdp_body *cdp_body_new(void);
void cdp_body_free(cdp_body *b);

/* Return 0, or -1 (out of memory; for files errno is set and `err` says why). */
int cdp_body_add_text(cdp_body *b, const char *text, size_t len);
int cdp_body_add_memory_b64(cdp_body *b, const void *data, size_t len);
int cdp_body_add_file_b64(cdp_body *b, const char *path, char *err, size_t errlen);
/* As cdp_body_add_file_b64, also reading the file's first bytes (at most
 * `cap`) into `head`, `*head_len` of them: one open for both. */
int cdp_body_add_file_b64_head(cdp_body *b, const char *path, unsigned char *head, size_t cap,
                               size_t *head_len, char *err, size_t errlen);

uint64_t cdp_body_length(const cdp_body *b);

/* Copy up to n bytes from the current offset. Returns the bytes copied, 0 at
 * the end, CDP_BODY_READ_ERROR when a file cannot be read (see cdp_body_error). */
size_t cdp_body_read(cdp_body *b, char *buf, size_t n);

/* Move to `offset` (0 .. length). Returns 0, or -1 when out of range. */
int cdp_body_seek(cdp_body *b, uint64_t offset);

/* Back to offset 0 for a new attempt, forgetting what earlier attempts sent. */
void cdp_body_restart(cdp_body *b);

/* The highest offset handed out since the last restart: 0 means nothing of
 * the body left in this attempt. */
uint64_t cdp_body_high_water(const cdp_body *b);

/* A body of exactly one text part: that text (not copied) and its length;
 * otherwise NULL. Lets a small request go out in one piece. */
const char *cdp_body_single_text(const cdp_body *b, size_t *len);

/* Why the last read failed, or "". */
const char *cdp_body_error(const cdp_body *b);

#endif
