/* Serial scanners (scan.h): one code a line; CR LF is one end, never an empty
 * scan; a line that never ends is cut by the idle call. */
#include <string.h>

#include "scan.h"

void scan_lines_init(struct scan_lines *l)
{
    memset(l, 0, sizeof(*l));
}

static void end_line(struct scan_lines *l, scan_fn fn, void *ctx)
{
    if (l->overflow)
        fn(ctx, NULL, 0, SCAN_TOO_LONG, "");
    else if (l->len)
        fn(ctx, l->buf, l->len, SCAN_OK, "");
    l->len = 0;
    l->overflow = false;
}

void scan_lines_feed(struct scan_lines *l, const uint8_t *data, size_t len, scan_fn fn, void *ctx)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t b = data[i];
        bool lf_after_cr = b == '\n' && l->after_cr;
        l->after_cr = b == '\r';
        if (lf_after_cr)
            continue;
        if (b == '\r' || b == '\n') {
            end_line(l, fn, ctx);
        } else if (l->len < sizeof(l->buf)) {
            l->buf[l->len++] = b;
        } else {
            l->overflow = true;
        }
    }
}

void scan_lines_idle(struct scan_lines *l, scan_fn fn, void *ctx)
{
    end_line(l, fn, ctx);
    l->after_cr = false;
}
