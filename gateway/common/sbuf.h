/* A growing NUL-terminated text buffer for replies built piece by piece
 * (replay pages).  An allocation failure is sticky: check `failed` once. */
#ifndef AGW_SBUF_H
#define AGW_SBUF_H
#include <stdbool.h>
#include <stddef.h>

struct sbuf {
    char *p;
    size_t len, cap;
    bool failed;
};

void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_str(struct sbuf *b, const char *s);
/* printf into the buffer (short pieces: numbers and keys). */
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text, owned by the caller; NULL (and freed) if any step failed. */
char *sbuf_take(struct sbuf *b);

/* True when topic starts with one of the prefixes (or there are none). */
bool topic_matches(const char *topic, const char *const *prefixes, size_t n);
#endif
