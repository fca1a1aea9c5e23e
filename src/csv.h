/* One line of CSV (RFC 4180) split into its fields, and UTF-8 validity: the
 * hot loop of cdp.records, which reads partners' exports record by record.
 * No Lua here: the binding is core.csv_split (core.c). */
#ifndef CDP_CSV_H
#define CDP_CSV_H

#include <stddef.h>

/* What cdp_csv_split found wrong; the field number goes to *field. */
enum {
    CDP_CSV_OPEN_QUOTE = -1,  /* a quoted field runs past the end of the line */
    CDP_CSV_STRAY_QUOTE = -2, /* a quote inside a field that does not start with one */
    CDP_CSV_AFTER_QUOTE = -3, /* text between a closing quote and the next comma */
    CDP_CSV_STOPPED = -4      /* the field callback asked to stop */
};

/* Called once per field, numbered from 1; returns 0 to go on. */
typedef int (*cdp_csv_field_fn)(void *ctx, size_t number, const char *text, size_t len);

/* Split `line` (`len` bytes, its line end taken off) into fields: a field
 * that starts with a quote ends at the lone quote that closes it, with
 * doubled quotes read as one ("" -> "), written into `scratch` (at least
 * `len` bytes). Returns the number of fields (an empty line is one empty
 * field), or one of the negative codes above with the field's number in
 * *field. Fields before an error have been passed to `emit`. */
long cdp_csv_split(const char *line, size_t len, char *scratch, cdp_csv_field_fn emit, void *ctx,
                   size_t *field);

/* 1 when s[0..len) is valid UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF: what Lua 5.4's utf8.len accepts), else 0. */
int cdp_utf8_valid(const char *s, size_t len);

#endif
