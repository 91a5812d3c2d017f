/* libFuzzer: the first byte picks a decoder (and for HID POS, the next 2 the
 * descriptor's length); the rest is fed at an arbitrary chunking, then idle. */
#include <stdint.h>
#include <stdlib.h>

#include "scan.h"

static void sink(void *ctx, const uint8_t *bytes, size_t len, enum scan_status status,
                 const char symbology[4])
{
    (void)ctx, (void)status;
    static struct scan_text t;
    char err[160];
    struct scan_options o = {.gbk = len % 2 == 0, .strip_prefix = "]", .strip_suffix = "\x1d"};
    if (bytes)
        (void)scan_finish(bytes, len, symbology, &o, &t, err, sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct scan_keys k;
    static struct scan_lines l;
    static struct scan_pos p;
    if (size < 3)
        return 0;
    unsigned kind = data[0] % 3;
    size_t chunk = 1 + data[1] % 29;
    data += 2;
    size -= 2;
    if (kind == 2) {
        size_t dlen = data[0] < size ? data[0] : size;
        char err[200];
        if (scan_pos_init(&p, data + 1, dlen > 0 ? dlen - 1 : 0, err, sizeof(err)) < 0)
            return 0;
        for (size_t at = dlen; at < size; at += chunk)
            scan_pos_report(&p, data + at, size - at < chunk ? size - at : chunk, sink, NULL);
        scan_pos_idle(&p, sink, NULL);
        return 0;
    }
    scan_keys_init(&k, data[0] & 1);
    scan_lines_init(&l);
    for (size_t at = 0; at < size; at += chunk) {
        size_t n = size - at < chunk ? size - at : chunk;
        if (kind == 0)
            scan_keys_feed(&k, data + at, n, sink, NULL);
        else
            scan_lines_feed(&l, data + at, n, sink, NULL);
    }
    scan_keys_idle(&k, sink, NULL);
    scan_lines_idle(&l, sink, NULL);
    return 0;
}
