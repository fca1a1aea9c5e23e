/* The content types the CDP takes for documents, told from a file's first
 * bytes (the signatures of JPEG, PNG and PDF). One table for the Lua side
 * (core.sniff, behind cdp.document.sniff) and for the C core, which finds the
 * type of a document sent without one as it opens the file. */
#ifndef CDP_DOCTYPE_H
#define CDP_DOCTYPE_H

#include <stddef.h>

/* Bytes enough to tell the types apart. */
#define CDP_DOCTYPE_HEAD 8

/* A type the CDP takes, and the JSON that follows a document's base64 to
 * give it: `","content_type":"image/png"` (no closing brace). Static. */
typedef struct {
    const char *type;
    const char *member;
    size_t member_len;
} cdp_doctype;

/* The type whose signature `head` starts with, or NULL. */
const cdp_doctype *cdp_doctype_sniff(const unsigned char *head, size_t len);

/* The type named `type`, or NULL for one the CDP does not take. */
const cdp_doctype *cdp_doctype_named(const char *type);

#endif
