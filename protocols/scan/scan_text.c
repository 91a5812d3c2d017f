/* A scan's bytes as text (scan.h). */
#include <stdio.h>
#include <string.h>

#include "scan.h"
#include "text.h"

static int decode(const uint8_t *bytes, size_t len, bool gbk, char *out, size_t max,
                  char *err, size_t errlen)
{
    if (!gbk) {
        for (size_t i = 0; i < len;) {
            size_t n = text_utf8_sequence(bytes + i, len - i);
            if (!n) {
                snprintf(err, errlen, "not UTF-8 text (byte %zu); a scanner sending GBK needs "
                         "encoding = gbk", i);
                return -1;
            }
            i += n;
        }
        if (len >= max)
            return -1;
        memcpy(out, bytes, len);
        out[len] = '\0';
        return 0;
    }
    size_t bad;
    if (text_gbk_to_utf8(bytes, len, out, max, &bad) < 0) {
        snprintf(err, errlen, "not GBK text (byte %zu)", bad);
        return -1;
    }
    return 0;
}

static bool aim_prefix(const char *s)
{
    return s[0] == ']' && ((s[1] >= 'A' && s[1] <= 'Z') || (s[1] >= 'a' && s[1] <= 'z')) &&
           ((s[2] >= '0' && s[2] <= '9') || (s[2] >= 'A' && s[2] <= 'Z') ||
            (s[2] >= 'a' && s[2] <= 'z'));
}

static void cut_front(char *s, size_t n)
{
    memmove(s, s + n, strlen(s + n) + 1);
}

int scan_finish(const uint8_t *bytes, size_t len, const char *symbology,
                const struct scan_options *o, struct scan_text *out, char *err, size_t errlen)
{
    memset(out->symbology, 0, sizeof(out->symbology));
    if (decode(bytes, len, o->gbk, out->text, sizeof(out->text), err, errlen) < 0)
        return -1;
    char *t = out->text;
    if (o->strip_prefix && *o->strip_prefix && strncmp(t, o->strip_prefix, strlen(o->strip_prefix)) == 0)
        cut_front(t, strlen(o->strip_prefix));
    if (symbology && symbology[0]) {
        memcpy(out->symbology, symbology, 3);
    } else if (aim_prefix(t)) { /* the identifier a wedge or serial scanner puts first */
        memcpy(out->symbology, t, 3);
        cut_front(t, 3);
    }
    size_t n = strlen(t), s = o->strip_suffix ? strlen(o->strip_suffix) : 0;
    if (s && n >= s && strcmp(t + n - s, o->strip_suffix) == 0)
        t[n - s] = '\0';
    out->length = 0;
    for (const char *c = t; *c; c++)
        out->length += ((unsigned char)*c & 0xC0) != 0x80;
    return 0;
}
