/* Shared by the golden-test drivers: hex text to bytes, whitespace ignored. */
#ifndef AGW_TEST_HEXIO_H
#define AGW_TEST_HEXIO_H
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Parses hex byte pairs from s (spaces anywhere between pairs); stops at
 * the first non-hex character.  Returns the number of bytes written. */
static inline size_t hex_parse(const char *s, uint8_t *out, size_t max)
{
    size_t n = 0;
    while (*s && n < max) {
        if (isspace((unsigned char)*s)) {
            s++;
            continue;
        }
        unsigned v;
        if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) ||
            sscanf(s, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}
#endif
