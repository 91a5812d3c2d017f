/* libFuzzer: every hearing-assist value parser on arbitrary bytes. */
#include <stdint.h>
#include <stddef.h>

#include "has.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct has_error err;
    struct has_features f;
    struct has_cp_message m;
    struct vcs_state s;
    struct asha_properties a;
    uint8_t b;
    (void)has_parse_features(data, size, &f, &err);
    (void)has_parse_cp(data, size, &m, &err);
    (void)has_parse_active(data, size, &b, &err);
    (void)vcs_parse_state(data, size, &s, &err);
    (void)bas_parse_level(data, size, &b, &err);
    (void)asha_parse_properties(data, size, &a, &err);
    return 0;
}
