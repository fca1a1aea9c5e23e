#include "digest.h"
#include "regfile.h"

#include <errno.h>
#include <stdio.h>

#include <openssl/evp.h>

static void to_hex(const unsigned char *md, unsigned int n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * n] = '\0';
}

int cdp_sha256_hex(const void *data, size_t len, char *hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL)) {
        errno = EIO;
        return -1;
    }
    to_hex(md, n, hex);
    return 0;
}

int cdp_sha256_file_hex(const char *path, char *hex, long long *size)
{
    unsigned char buf[64 * 1024];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    long long total = 0;
    int rc = -1, saved = 0;
    struct stat st;
    int fd = cdp_open_regular(path, &st);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        saved = ENOMEM;
        goto out;
    }
    for (;;) {
        size_t got = fread(buf, 1, sizeof buf, f);
        if (got > 0 && !EVP_DigestUpdate(ctx, buf, got)) {
            saved = EIO;
            goto out;
        }
        total += (long long)got;
        if (got < sizeof buf) {
            if (ferror(f)) {
                saved = errno ? errno : EIO;
                goto out;
            }
            break;
        }
    }
    if (!EVP_DigestFinal_ex(ctx, md, &n)) {
        saved = EIO;
        goto out;
    }
    to_hex(md, n, hex);
    *size = total;
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    fclose(f);
    if (rc != 0)
        errno = saved;
    return rc;
}
