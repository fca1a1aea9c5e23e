#include "doctype.h"

#include <string.h>

#define MEMBER(type) "\",\"content_type\":\"" type "\""
#define DOCTYPE(type) { type, MEMBER(type), sizeof MEMBER(type) - 1 }

static const struct {
    const char *signature;
    size_t signature_len;
    cdp_doctype doctype;
} DOCTYPES[] = {
    {"\xff\xd8\xff", 3, DOCTYPE("image/jpeg")},
    {"\x89PNG\r\n\x1a\n", 8, DOCTYPE("image/png")},
    {"%PDF-", 5, DOCTYPE("application/pdf")},
};

#define NDOCTYPES (sizeof DOCTYPES / sizeof DOCTYPES[0])

const cdp_doctype *cdp_doctype_sniff(const unsigned char *head, size_t len)
{
    for (size_t i = 0; i < NDOCTYPES; i++)
        if (len >= DOCTYPES[i].signature_len &&
            memcmp(head, DOCTYPES[i].signature, DOCTYPES[i].signature_len) == 0)
            return &DOCTYPES[i].doctype;
    return NULL;
}

const cdp_doctype *cdp_doctype_named(const char *type)
{
    for (size_t i = 0; i < NDOCTYPES; i++)
        if (strcmp(type, DOCTYPES[i].doctype.type) == 0)
            return &DOCTYPES[i].doctype;
    return NULL;
}
