/* UTF-8 and GBK (text.h).  iconv (glibc's GB18030 module) converts: a GBK table is
 * 20,000 entries the C library already carries. */
#include "text.h"

#include <iconv.h>
#include <string.h>

size_t text_utf8_sequence(const uint8_t *s, size_t left)
{
    uint8_t c = s[0];
    size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (n == 0 || n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
        (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return n;
}

/* in -> out through iconv; the input bytes left over (0: all converted), or -1 when the
 * converter is missing. */
static long convert(const char *to, const char *from, const char *in, size_t len, char *out,
                    size_t *outleft)
{
    iconv_t cd = iconv_open(to, from);
    if (cd == (iconv_t)-1)
        return -1;
    char *i = (char *)in, *o = out;
    size_t inleft = len;
    iconv(cd, &i, &inleft, &o, outleft); /* stops at a bad byte, or when out is full */
    iconv_close(cd);
    return (long)inleft;
}

int text_gbk_to_utf8(const uint8_t *in, size_t len, char *out, size_t max, size_t *bad)
{
    size_t outleft = max - 1;
    long left = convert("UTF-8", "GB18030", (const char *)in, len, out, &outleft);
    *bad = left < 0 ? 0 : len - (size_t)left;
    if (left != 0)
        return -1;
    out[max - 1 - outleft] = '\0';
    return 0;
}

size_t text_utf8_to_gbk(const char *in, uint8_t *out, size_t max)
{
    size_t outleft = max;
    if (convert("GB18030", "UTF-8", in, strlen(in), (char *)out, &outleft) < 0)
        return 0;
    return max - outleft; /* E2BIG leaves whole characters */
}
