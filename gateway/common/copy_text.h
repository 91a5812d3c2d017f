/* Bounded string copy for the per-event path. */
#ifndef AGW_COPY_TEXT_H
#define AGW_COPY_TEXT_H
#include <string.h>

/* snprintf(dst, size, "%s", src) without printf's machinery, which on the event
 * path cost more than the copy itself (perf: vfprintf in every device worker's
 * top five).  Truncates as snprintf does; returns the length copied. */
static inline size_t copy_text(char *dst, size_t size, const char *src)
{
    if (size == 0)
        return 0;
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}
#endif
