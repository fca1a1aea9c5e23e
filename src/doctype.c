#include "doctype.h"

#include <string.h>

static const struct {
    const char *signature;
    size_t signature_len;
    const char *type;
    const char *member;
} DOCTYPES[] = {
    {"\xff\xd8\xff", 3, "image/jpeg", "\",\"content_type\":\"image/jpeg\""},
    {"\x89PNG\r\n\x1a\n", 8, "image/png", "\",\"content_type\":\"image/png\""},
    {"%PDF-", 5, "application/pdf", "\",\"content_type\":\"application/pdf\""},
};

#define NDOCTYPES (sizeof DOCTYPES / sizeof DOCTYPES[0])

const char *cdp_doctype_sniff(const unsigned char *head, size_t len)
{
    for (size_t i = 0; i < NDOCTYPES; i++)
        if (len >= DOCTYPES[i].signature_len &&
            memcmp(head, DOCTYPES[i].signature, DOCTYPES[i].signature_len) == 0)
            return DOCTYPES[i].type;
    return NULL;
}

const char *cdp_doctype_member(const char *type, size_t *len)
{
    for (size_t i = 0; i < NDOCTYPES; i++)
        if (strcmp(type, DOCTYPES[i].type) == 0) {
            *len = strlen(DOCTYPES[i].member);
            return DOCTYPES[i].member;
        }
    return NULL;
}
