#include "keypad.h"

#include <string.h>

void keypad_init(struct keypad *k, const struct hid_map *map, const struct profile *profile)
{
    memset(k, 0, sizeof(*k));
    k->map = map;
    k->profile = profile;
}

static bool contains(const uint32_t *set, size_t n, uint32_t v)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == v)
            return true;
    return false;
}

static void emit(struct keypad_event *out, size_t max, size_t *n, const struct profile_binding *b,
                 bool pressed)
{
    if (b && *n < max)
        out[(*n)++] = (struct keypad_event){b, pressed};
}

static const struct profile_binding *binding_of(const struct keypad *k, uint32_t key)
{
    return profile_find_usage(k->profile, (uint16_t)(key >> 16), key & 0xFFFF);
}

int keypad_report(struct keypad *k, const uint8_t *report, size_t len, struct keypad_event *out,
                  size_t max, struct hid_error *err)
{
    size_t n = 0;
    int rc = 0;
    const struct profile_binding *raw = profile_find_raw(k->profile, report, len);
    if (raw != k->raw_down) {
        emit(out, max, &n, k->raw_down, false);
        emit(out, max, &n, raw, true);
        k->raw_down = raw;
    }
    if (!k->map || k->map->n_fields == 0)
        return (int)n;
    struct hid_value values[128];
    int got = hid_extract(k->map, report, len, values, 128, err);
    if (got == HID_ROLLOVER) /* too many keys: what was down stays down */
        return (int)n;
    if (got < 0)
        return raw ? (int)n : -1;
    uint32_t now[KEYPAD_MAX_DOWN];
    size_t n_now = 0;
    for (int i = 0; i < got && n_now < KEYPAD_MAX_DOWN; i++)
        if (values[i].usage != 0) {
            uint32_t key = ((uint32_t)values[i].usage_page << 16) | (values[i].usage & 0xFFFF);
            if (!contains(now, n_now, key))
                now[n_now++] = key;
        }
    for (size_t i = 0; i < k->n_down; i++)
        if (!contains(now, n_now, k->down[i]))
            emit(out, max, &n, binding_of(k, k->down[i]), false);
    for (size_t i = 0; i < n_now; i++)
        if (!contains(k->down, k->n_down, now[i]))
            emit(out, max, &n, binding_of(k, now[i]), true);
    memcpy(k->down, now, n_now * sizeof(now[0]));
    k->n_down = n_now;
    return rc < 0 ? rc : (int)n;
}
