/* A document's type from its first bytes (src/doctype.c), and the body's
 * file part that reads them in the open that sends the file
 * (cdp_body_add_file_b64_head): the head is the file's, the body unchanged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/body.h"
#include "../../src/doctype.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "doctype_test: FAIL: %s\n", what);
        exit(1);
    }
}

static const char *sniff(const char *head, size_t len)
{
    const cdp_doctype *found = cdp_doctype_sniff((const unsigned char *)head, len);
    return found != NULL ? found->type : NULL;
}

/* The JSON member of the type named `type`, or NULL. */
static const char *member_of(const char *type, size_t *len)
{
    const cdp_doctype *found = cdp_doctype_named(type);
    if (found == NULL)
        return NULL;
    *len = found->member_len;
    return found->member;
}

static int same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void test_sniff(void)
{
    check(same(sniff("\xff\xd8\xff\xe0", 4), "image/jpeg"), "JPEG");
    check(same(sniff("\xff\xd8\xff", 3), "image/jpeg"), "JPEG, signature only");
    check(same(sniff("\x89PNG\r\n\x1a\n", 8), "image/png"), "PNG");
    check(same(sniff("%PDF-1.7", 8), "application/pdf"), "PDF");
    check(sniff("\x89PNG\r\n\x1a", 7) == NULL, "PNG cut short");
    check(sniff("\xff\xd8", 2) == NULL, "JPEG cut short");
    check(sniff("GIF89a", 6) == NULL, "GIF");
    check(sniff("", 0) == NULL, "nothing");
    size_t len = 0;
    const char *member = member_of("image/png", &len);
    check(member != NULL && len == strlen(member) && strcmp(member, "\",\"content_type\":\"image/png\"") == 0,
          "the PNG member");
    check(same(member_of("application/pdf", &len), "\",\"content_type\":\"application/pdf\""),
          "the PDF member");
    check(member_of("image/gif", &len) == NULL, "no member for another type");
}

static void write_file(const char *path, const char *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    check(f != NULL, "open for writing");
    size_t wrote = fwrite(bytes, 1, len, f);
    check(fclose(f) == 0 && wrote == len, "write");
}

static void test_head(void)
{
    char dir[] = "/tmp/cdp-doctype.XXXXXX";
    check(mkdtemp(dir) != NULL, "mkdtemp");
    char png[64], empty[64], err[256];
    snprintf(png, sizeof png, "%s/doc.png", dir);
    snprintf(empty, sizeof empty, "%s/empty", dir);
    write_file(png, "\x89PNG\r\n\x1a\nabc", 11);
    write_file(empty, "", 0);

    unsigned char head[CDP_DOCTYPE_HEAD];
    size_t head_len = 99;
    cdp_body *b = cdp_body_new();
    check(b != NULL, "cdp_body_new");
    check(cdp_body_add_file_b64_head(b, png, head, sizeof head, &head_len, err, sizeof err) == 0, "PNG added");
    check(head_len == 8 && memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0, "its first 8 bytes");
    char out[32];
    /* base64 of the 11 bytes: the head read took nothing from the body */
    check(cdp_body_length(b) == 16 && cdp_body_read(b, out, sizeof out) == 16 &&
              memcmp(out, "iVBORw0KGgphYmM=", 16) == 0,
          "the body is the whole file");

    head_len = 99;
    check(cdp_body_add_file_b64_head(b, empty, head, sizeof head, &head_len, err, sizeof err) == 0 &&
              head_len == 0 && cdp_body_length(b) == 16,
          "an empty file: no head, nothing added to the length");
    errno = 0;
    check(cdp_body_add_file_b64_head(b, "/nonexistent/x", head, sizeof head, &head_len, err, sizeof err) == -1 &&
              errno == ENOENT && strstr(err, "cannot read /nonexistent/x") != NULL,
          "a missing file refused, with its reason");
    check(cdp_body_add_file_b64_head(b, dir, head, sizeof head, &head_len, err, sizeof err) == -1 &&
              errno == EISDIR,
          "a directory refused");
    cdp_body_free(b);
    unlink(png);
    unlink(empty);
    rmdir(dir);
}

int main(void)
{
    test_sniff();
    test_head();
    printf("doctype_test: ok\n");
    return 0;
}
