/* The content types the CDP takes for documents, told from a file's first
 * bytes (the signatures of JPEG, PNG and PDF). One table for the Lua side
 * (core.sniff, behind cdp.document.sniff) and for the C core, which finds the
 * type of a document sent without one as it opens the file. */
#ifndef CDP_DOCTYPE_H
#define CDP_DOCTYPE_H

#include <stddef.h>

/* Bytes enough to tell the types apart. */
#define CDP_DOCTYPE_HEAD 8

/* The content type whose signature `head` starts with, or NULL. */
const char *cdp_doctype_sniff(const unsigned char *head, size_t len);

/* The JSON that follows a document's base64 to give its type:
 * `","content_type":"image/png"` (no closing brace) for a type that
 * cdp_doctype_sniff returns; NULL for any other. Static text. */
const char *cdp_doctype_member(const char *type, size_t *len);

#endif
