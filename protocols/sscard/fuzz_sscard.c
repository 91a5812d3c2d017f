/* libFuzzer: a session fed arbitrary answers (a length byte, then that many
 * bytes, again and again) until it ends or the input does. */
#include <stdint.h>
#include <stdlib.h>

#include "sscard.h"
#include "sscard_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sscard_session s;
    enum sscard_step step = sscard_begin(&s);
    size_t pos = 0;
    while (step == SSCARD_SEND && pos < size) {
        size_t len = data[pos++];
        if (len > size - pos)
            len = size - pos;
        step = sscard_feed(&s, data + pos, len);
        pos += len;
    }
    if (step == SSCARD_DONE)
        json_decref(sscard_record_to_json(&s.record));
    return 0;
}
