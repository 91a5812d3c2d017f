/* libFuzzer: the descriptor parser, then extraction and a keypad over the
 * rest of the input as reports.  Seeds: protocols/corpus/hid (real descriptors
 * from the kernel's HID selftests among them). */
#include <stdint.h>
#include <string.h>

#include "hid.h"
#include "keypad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct hid_map map;
    static struct profile profile;
    static struct keypad k;
    if (size < 2) /* a little-endian descriptor length first: up to HID_MAX_DESCRIPTOR_SIZE */
        return 0;
    size_t want = (size_t)(data[0] | data[1] << 8) % (HID_MAX_DESCRIPTOR_SIZE + 1);
    size_t desc_len = want < size - 2 ? want : size - 2;
    struct hid_error err;
    if (hid_parse(data + 2, desc_len, &map, &err) < 0)
        return 0;
    memset(&profile, 0, sizeof(profile));
    profile.n_bindings = 1;
    profile.bindings[0].raw = true;
    profile.bindings[0].pattern_len = 1;
    profile.bindings[0].mask[0] = 0xFF;
    keypad_init(&k, &map, &profile);
    const uint8_t *rest = data + 2 + desc_len;
    size_t left = size - 2 - desc_len;
    struct keypad_event ev[8];
    for (size_t off = 0; off < left; off += 9) {
        size_t len = left - off < 9 ? left - off : 9;
        (void)keypad_report(&k, rest + off, len, ev, 8, &err);
        uint8_t out[HID_MAX_REPORT_BYTES + 1];
        struct hid_value v = {0xFF00, 2, 1, false};
        (void)hid_build(&map, HID_OUTPUT, rest[off], &v, 1, out, sizeof(out), &err);
    }
    return 0;
}
