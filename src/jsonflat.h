/* Read one member of a flat JSON object (a token endpoint's answer) without a
 * full JSON library: the core only needs a few strings and numbers from it.
 * Nested values are skipped correctly; malformed text is refused. */
#ifndef CDP_JSONFLAT_H
#define CDP_JSONFLAT_H

#include <stddef.h>

/* Return 1 and a malloc'd, NUL-terminated copy of the string member `key`
 * (escapes decoded, \u00XX and other \u as UTF-8); 0 when there is no such
 * string member; -1 when the text is not a JSON object or out of memory. */
int cdp_json_string(const char *json, size_t len, const char *key, char **out, size_t *outlen);

/* Return 1 and the number member `key`; 0 when absent or not a number; -1 malformed. */
int cdp_json_number(const char *json, size_t len, const char *key, double *out);

#endif
