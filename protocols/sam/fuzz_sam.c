/* libFuzzer: the stream decoder at arbitrary chunkings, then every parser
 * on whatever frames come out, and the text parser on raw input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sam.h"
#include "sam_json.h"

static void parse_payload(const struct sam_frame *f)
{
    struct sam_response r;
    struct sam_error err;
    if (sam_response_parse(f, &r, &err) < 0)
        return;
    char buf[16];
    (void)sam_status_name(r.sw3, buf);
    for (int fp = 0; fp < 2; fp++) {
        struct sam_read rd;
        struct sam_card card;
        if (sam_read_parse(r.data, r.data_len, fp, &rd, &err) == 0 &&
            sam_text_parse(rd.text, rd.text_len, &card, &err) == 0)
            json_decref(sam_card_to_json(&card, &rd));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sam_decoder d;
    if (size == 0)
        return 0;
    size_t chunk = 1 + data[0] % 97;
    sam_decoder_init(&d);
    for (size_t pos = 1; pos < size;) {
        size_t len = size - pos < chunk ? size - pos : chunk;
        pos += sam_decoder_feed(&d, data + pos, len);
        struct sam_frame f;
        struct sam_error err;
        enum sam_next r;
        while ((r = sam_decoder_next(&d, &f, &err)) != SAM_NEED_MORE)
            if (r == SAM_FRAME)
                parse_payload(&f);
    }
    struct sam_card card;
    struct sam_error err;
    if (size >= 256)
        (void)sam_text_parse(data + size - 256, 256, &card, &err);
    return 0;
}
