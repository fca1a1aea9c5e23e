/* Secrets in memory: copies that are wiped before they are freed. */
#ifndef CDP_SECRET_H
#define CDP_SECRET_H

#include <stddef.h>

/* Zero n bytes in a way the compiler cannot drop. */
void cdp_wipe(void *p, size_t n);

/* Wipe a NUL-terminated string, then free it. NULL is fine. */
void cdp_secret_free(char *s);

/* malloc'd copy of s (NULL stays NULL); NULL when out of memory. */
char *cdp_strdup(const char *s);

/* Constant-time comparison of two strings (NULL equals only NULL). */
int cdp_secret_equal(const char *a, const char *b);

#endif
