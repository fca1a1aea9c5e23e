/* SHA-256 of strings and files, for document placeholders and integrity checks. */
#ifndef CDP_DIGEST_H
#define CDP_DIGEST_H

#include <stddef.h>

#define CDP_SHA256_HEX_LEN 64

/* hex must hold CDP_SHA256_HEX_LEN + 1 bytes. Return 0, or -1 (errno set). */
int cdp_sha256_hex(const void *data, size_t len, char *hex);
int cdp_sha256_file_hex(const char *path, char *hex, long long *size);

#endif
