/* libFuzzer: a format from the first bytes, then a stream in any chunking. */
#include <stdint.h>
#include <stdio.h>

#include "padframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    struct pad_format f = {.has_start = true, .start = data[0], .has_end = data[1] & 1,
                           .end = data[2], .length = 2 + data[3] % 30, .has_address = true,
                           .address_at = data[4] % 32, .key_at = data[5] % 32,
                           .checksum = (enum pad_checksum)(data[6] % 4),
                           .checksum_from = data[7] % 8, .checksum_at = 1 + data[7] % 30};
    char err[120];
    if (pad_format_check(&f, err, sizeof(err)) < 0)
        return 0;
    static struct pad_decoder d;
    pad_decoder_init(&d, &f);
    size_t chunk = 1 + data[3] % 11;
    for (size_t pos = 8; pos < size;) {
        size_t len = size - pos < chunk ? size - pos : chunk;
        pos += pad_decoder_feed(&d, data + pos, len);
        struct pad_frame fr;
        struct pad_error e;
        while (pad_decoder_next(&d, &fr, &e) != PAD_NEED_MORE)
            ;
    }
    return 0;
}
