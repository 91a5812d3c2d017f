/* Text the devices send and take: UTF-8 checked as RFC 3629 has it, and GBK (read and
 * written as GB 18030, its superset) converted — one place for the card, scanner,
 * caller and LED codes that need it.  No I/O. */
#ifndef AGW_TEXT_H
#define AGW_TEXT_H
#include <stddef.h>
#include <stdint.h>

/* The length of the valid UTF-8 sequence at s (no overlong forms, no surrogates,
 * nothing past U+10FFFF), or 0. */
size_t text_utf8_sequence(const uint8_t *s, size_t left);
/* GBK bytes as NUL-terminated UTF-8: 0, or -1 with *bad the byte where they stop being
 * GBK (or where out was full). */
int text_gbk_to_utf8(const uint8_t *in, size_t len, char *out, size_t max, size_t *bad);
/* UTF-8 text as GBK bytes, at most max, never half a character: the bytes written. */
size_t text_utf8_to_gbk(const char *in, uint8_t *out, size_t max);
#endif
