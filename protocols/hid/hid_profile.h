/*
 * Device profiles: how a HID keypad's reports become normalised actions,
 * and which output reports carry commands — data a technician writes, not
 * code.  A profile is an INI text (see profiles/README.md); parsing is pure
 * and every error names the file and line.
 */
#ifndef AGW_PROTOCOL_HID_PROFILE_H
#define AGW_PROTOCOL_HID_PROFILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hid.h"

#define PROFILE_MAX_BINDINGS 64
#define PROFILE_MAX_MATCH 16
#define PROFILE_MAX_OUTPUTS 8
#define PROFILE_PATTERN 32

struct profile_binding {
    bool raw;                       /* a vendor report byte pattern rather than a usage */
    uint16_t page;
    uint32_t usage;
    uint8_t pattern[PROFILE_PATTERN], mask[PROFILE_PATTERN];
    size_t pattern_len;
    char action[32];
    char arg[32];                   /* "3" in "zoom_set 3"; may be empty */
    int line;
};

struct profile_output {
    char command[32];               /* set_zoom, set_mode, prompt, ... */
    uint8_t bytes[64];
    size_t len;
    int placeholder;                /* index of the {value} byte, -1 when none */
    int line;
};

struct profile {
    char name[64];
    char file[256];
    char device_class[32];
    bool match_any;
    struct { uint16_t vid, pid; } match[PROFILE_MAX_MATCH];
    size_t n_match;
    uint16_t usage_page;            /* 0 = any */
    int priority;
    unsigned repeat_delay_ms, repeat_ms;
    struct profile_binding bindings[PROFILE_MAX_BINDINGS];
    size_t n_bindings;
    struct profile_output outputs[PROFILE_MAX_OUTPUTS];
    size_t n_outputs;
};

/* actions: the action names this class of device accepts (NULL-terminated;
 * NULL accepts any, for tools that list profiles of every class). */
int profile_parse(const char *text, size_t len, const char *file, const char *const *actions,
                  struct profile *out, char *err, size_t errlen);

/* The best profile for a device: a named one if given, else the highest
 * priority whose match list names vid:pid (or matches any) and whose usage
 * page, if set, is the device's. */
const struct profile *profile_select(const struct profile *profiles, size_t n, const char *name,
                                     uint16_t vid, uint16_t pid, uint16_t usage_page);

/* The binding a usage or a raw report triggers, NULL when none. */
const struct profile_binding *profile_find_usage(const struct profile *p, uint16_t page,
                                                 uint32_t usage);
const struct profile_binding *profile_find_raw(const struct profile *p, const uint8_t *report,
                                               size_t len);
const struct profile_output *profile_output(const struct profile *p, const char *command);
/* The output's bytes with its placeholder set to value; returns the length. */
size_t profile_render(const struct profile_output *o, uint8_t value, uint8_t *out, size_t max);
#endif
