/* A keypad driven by a profile: input reports in, presses and releases of
 * bound actions out.  Report repeats of a held key change nothing. */
#ifndef AGW_PROTOCOL_KEYPAD_H
#define AGW_PROTOCOL_KEYPAD_H
#include "hid.h"
#include "hid_profile.h"

#define KEYPAD_MAX_DOWN 32

struct keypad {
    const struct hid_map *map;     /* may be NULL: raw patterns only */
    const struct profile *profile;
    uint32_t down[KEYPAD_MAX_DOWN]; /* page << 16 | usage */
    size_t n_down;
    const struct profile_binding *raw_down;
};

struct keypad_event {
    const struct profile_binding *binding;
    bool pressed; /* false: released */
};

void keypad_init(struct keypad *k, const struct hid_map *map, const struct profile *profile);
/* Returns the number of events written (at most max), or -1 with err when the
 * report could not be read as the descriptor says (raw patterns still apply). */
int keypad_report(struct keypad *k, const uint8_t *report, size_t len, struct keypad_event *out,
                  size_t max, struct hid_error *err);
#endif
