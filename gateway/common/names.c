/* The names a hall gives its gateway, devices and apps: they go into topics and ids. */
#include "names.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool config_valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

#define SEPARATORS " ,\t"

bool word_listed(const char *list, const char *word, size_t len, bool any_case)
{
    for (const char *p = list; p && *p;) {
        p += strspn(p, SEPARATORS);
        size_t n = strcspn(p, SEPARATORS);
        if (n && n == len && (any_case ? strncasecmp(p, word, len) : strncmp(p, word, len)) == 0)
            return true;
        p += n;
    }
    return false;
}

const char *next_word(const char **p, char *buf, size_t len)
{
    const char *s = *p + strspn(*p, SEPARATORS);
    size_t n = strcspn(s, SEPARATORS);
    snprintf(buf, len, "%.*s", (int)n, s);
    *p = s + n;
    return buf;
}
