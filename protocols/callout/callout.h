/*
 * What a caller says for a ticket (叫号): "A012" read digit by digit as a
 * Chinese caller reads it ("A零一二"), a window's number as a number ("3号窗口"
 * -> "三号窗口", "12号窗口" -> "十二号窗口"), in one sentence:
 * "请A零一二号到三号窗口办理".  Pure text; the announce plugin speaks it.
 */
#ifndef AGW_CALLOUT_H
#define AGW_CALLOUT_H
#include <stddef.h>

#define CALLOUT_TICKET_MAX 16   /* characters: letters, digits, '-' */
#define CALLOUT_WINDOW_MAX 32   /* characters */
#define CALLOUT_TEXT_MAX 200    /* characters of a said text (announce.say) */
#define CALLOUT_SENTENCE_MAX 1024 /* bytes */

/* The sentence for a ticket called to a window (window NULL or "": "请A零一二号"):
 * 0, or -1 with why in err (a ticket that is not 1-16 of A-Z a-z 0-9 -, a window
 * that is not UTF-8 text of 1-32 characters without control characters). */
int callout_sentence(const char *ticket, const char *window, char *out, size_t outlen,
                     char *err, size_t errlen);
/* Characters of UTF-8 text (code points), or -1 when it is not valid UTF-8 or holds a
 * control character. */
long callout_chars(const char *text);
#endif
