#include "secret.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void cdp_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        OPENSSL_cleanse(p, n);
}

void cdp_secret_free(char *s)
{
    if (s == NULL)
        return;
    cdp_wipe(s, strlen(s));
    free(s);
}

char *cdp_strdup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy != NULL)
        memcpy(copy, s, n);
    return copy;
}

int cdp_secret_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}
