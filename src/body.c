#include "body.h"
#include "regfile.h"
#include "b64.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum part_kind { PART_TEXT, PART_MEMORY_B64, PART_FILE_B64 };

typedef struct {
    enum part_kind kind;
    const unsigned char *data; /* text or memory document */
    uint64_t in_len;           /* bytes of the source */
    uint64_t out_len;          /* bytes this part adds to the body */
    int fd;                    /* file document, else -1 */
} body_part;

/* The staging buffer holds base64 of one part at output offsets
 * [stage_start, stage_start + stage_len). Input chunks are whole groups. */
#define STAGE_IN (3 * 16 * 1024)
#define STAGE_OUT (4 * 16 * 1024)

struct cdp_body {
    body_part *parts;
    size_t nparts, cap;
    uint64_t total;
    uint64_t pos, high_water;
    size_t cur;            /* index of the part holding pos */
    uint64_t cur_start;    /* body offset where parts[cur] starts */
    unsigned char *in_buf; /* lazily allocated: STAGE_IN */
    char *stage;           /* lazily allocated: STAGE_OUT */
    size_t stage_part;
    uint64_t stage_start;
    size_t stage_len;
    char error[160];
};

cdp_body *cdp_body_new(void)
{
    cdp_body *b = calloc(1, sizeof *b);
    if (b != NULL)
        b->stage_part = (size_t)-1;
    return b;
}

void cdp_body_free(cdp_body *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->nparts; i++)
        if (b->parts[i].fd >= 0)
            close(b->parts[i].fd);
    free(b->parts);
    free(b->in_buf);
    free(b->stage);
    free(b);
}

static body_part *push_part(cdp_body *b)
{
    if (b->nparts == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        body_part *grown = realloc(b->parts, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        b->parts = grown;
        b->cap = cap;
    }
    body_part *p = &b->parts[b->nparts];
    memset(p, 0, sizeof *p);
    p->fd = -1;
    return p;
}

int cdp_body_add_text(cdp_body *b, const char *text, size_t len)
{
    if (len == 0)
        return 0;
    body_part *p = push_part(b);
    if (p == NULL)
        return -1;
    p->kind = PART_TEXT;
    p->data = (const unsigned char *)text;
    p->in_len = p->out_len = len;
    b->nparts++;
    b->total += len;
    return 0;
}

int cdp_body_add_memory_b64(cdp_body *b, const void *data, size_t len)
{
    body_part *p = push_part(b);
    if (p == NULL)
        return -1;
    p->kind = PART_MEMORY_B64;
    p->data = data;
    p->in_len = len;
    p->out_len = cdp_b64_encoded_len(len);
    b->nparts++;
    b->total += p->out_len;
    return 0;
}

int cdp_body_add_file_b64(cdp_body *b, const char *path, char *err, size_t errlen)
{
    return cdp_body_add_file_b64_head(b, path, NULL, 0, NULL, err, errlen);
}

int cdp_body_add_file_b64_head(cdp_body *b, const char *path, unsigned char *head, size_t cap,
                               size_t *head_len, char *err, size_t errlen)
{
    struct stat st;
    int fd = cdp_open_regular(path, &st);
    if (fd < 0) {
        int saved = errno;
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(saved));
        errno = saved;
        return -1;
    }
    if (head != NULL) {
        ssize_t got;
        do
            got = pread(fd, head, cap, 0);
        while (got < 0 && errno == EINTR);
        if (got < 0) {
            int saved = errno;
            close(fd);
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(saved));
            errno = saved;
            return -1;
        }
        *head_len = (size_t)got;
    }
    body_part *p = push_part(b);
    if (p == NULL) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        errno = ENOMEM;
        return -1;
    }
    p->kind = PART_FILE_B64;
    p->fd = fd;
    p->in_len = (uint64_t)st.st_size;
    p->out_len = cdp_b64_encoded_len(p->in_len);
    b->nparts++;
    b->total += p->out_len;
    return 0;
}

uint64_t cdp_body_length(const cdp_body *b)
{
    return b->total;
}

void cdp_body_restart(cdp_body *b)
{
    cdp_body_seek(b, 0);
    b->high_water = 0;
    b->error[0] = '\0';
}

uint64_t cdp_body_high_water(const cdp_body *b)
{
    return b->high_water;
}

const char *cdp_body_error(const cdp_body *b)
{
    return b->error;
}

int cdp_body_seek(cdp_body *b, uint64_t offset)
{
    if (offset > b->total)
        return -1;
    b->pos = offset;
    /* Find the part again from the start: seeks are rare (a dead reused
     * connection, a 401 retry), parts are few. */
    b->cur = 0;
    b->cur_start = 0;
    while (b->cur < b->nparts && b->cur_start + b->parts[b->cur].out_len <= offset) {
        b->cur_start += b->parts[b->cur].out_len;
        b->cur++;
    }
    return 0;
}

/* Read exactly n bytes at `offset` of the file, or fail (it shrank). */
static int read_file_at(int fd, unsigned char *buf, size_t n, uint64_t offset)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)(offset + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Fill the stage with the base64 of part `idx` around part offset `off`. */
static int fill_stage(cdp_body *b, size_t idx, uint64_t off)
{
    body_part *p = &b->parts[idx];
    if (b->stage == NULL) {
        b->stage = malloc(STAGE_OUT);
        b->in_buf = malloc(STAGE_IN);
        if (b->stage == NULL || b->in_buf == NULL) {
            snprintf(b->error, sizeof b->error, "out of memory");
            return -1;
        }
    }
    uint64_t group = off / 4;
    uint64_t in_off = group * 3;
    uint64_t left = p->in_len - in_off;
    size_t n = left > STAGE_IN ? STAGE_IN : (size_t)left;
    const unsigned char *src;
    if (p->kind == PART_FILE_B64) {
        if (read_file_at(p->fd, b->in_buf, n, in_off) != 0) {
            snprintf(b->error, sizeof b->error, "a document file could not be read while sending "
                     "(changed or removed)");
            return -1;
        }
        src = b->in_buf;
    } else {
        src = p->data + in_off;
    }
    /* Whole groups unless this chunk ends the document, which gets padding. */
    b->stage_len = cdp_b64_encode(src, n, b->stage);
    b->stage_part = idx;
    b->stage_start = group * 4;
    return 0;
}

size_t cdp_body_read(cdp_body *b, char *buf, size_t n)
{
    size_t copied = 0;
    while (copied < n && b->pos < b->total) {
        body_part *p = &b->parts[b->cur];
        uint64_t off = b->pos - b->cur_start;
        if (off >= p->out_len) {
            b->cur_start += p->out_len;
            b->cur++;
            continue;
        }
        size_t room = n - copied;
        uint64_t left = p->out_len - off;
        size_t take = left < room ? (size_t)left : room;
        if (p->kind == PART_TEXT) {
            memcpy(buf + copied, p->data + off, take);
        } else {
            if (b->stage_part != b->cur || off < b->stage_start ||
                off >= b->stage_start + b->stage_len) {
                if (fill_stage(b, b->cur, off) != 0)
                    return CDP_BODY_READ_ERROR;
            }
            size_t in_stage = (size_t)(b->stage_start + b->stage_len - off);
            if (take > in_stage)
                take = in_stage;
            memcpy(buf + copied, b->stage + (off - b->stage_start), take);
        }
        copied += take;
        b->pos += take;
    }
    if (b->pos > b->high_water)
        b->high_water = b->pos;
    return copied;
}

const char *cdp_body_single_text(const cdp_body *b, size_t *len)
{
    if (b->nparts != 1 || b->parts[0].kind != PART_TEXT)
        return NULL;
    *len = (size_t)b->parts[0].in_len;
    return (const char *)b->parts[0].data;
}
