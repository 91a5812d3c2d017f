/* libFuzzer: every receiver format over arbitrary bytes and chunkings. */
#include <stdint.h>
#include <stddef.h>

#include "ev1527.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static struct ev_decoder d;
    enum ev_format format = (enum ev_format)(data[0] % 3);
    size_t chunk = 1 + data[1] % 13;
    ev_decoder_init(&d, format);
    struct ev_code c;
    struct ev_error e;
    for (size_t pos = 2; pos < size;) {
        size_t len = size - pos < chunk ? size - pos : chunk;
        if (format == EV_FORMAT_KEYBOARD) {
            (void)ev_keyboard_report(&d, data + pos, len, &c, &e);
            pos += len;
            continue;
        }
        pos += ev_decoder_feed(&d, data + pos, len);
        while (ev_decoder_next(&d, &c, &e) != EV_NEED_MORE)
            ;
    }
    return 0;
}
