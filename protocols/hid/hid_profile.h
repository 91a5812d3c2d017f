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

/* An output template byte: a literal (0-255) or one of these placeholders. */
enum { PROFILE_VALUE = -1, PROFILE_ADDRESS = -2, PROFILE_CHECKSUM = -3,
       PROFILE_TEXT = -4,   /* the text's bytes (an LED screen's line) */
       PROFILE_LENGTH = -5  /* their number, one byte */ };

struct profile_output {
    char command[32];               /* set_zoom, set_mode, prompt, thanks, ... */
    int16_t tokens[64];
    size_t len;
    int line;
};

/* Key codes of serial pads bind as key:0xNN, on this pseudo usage page. */
#define PROFILE_PAGE_KEY 0xFFFF

struct profile_setting {
    char key[32], value[64];
    int line;
};

struct profile {
    char name[64];
    char file[256];
    char device_class[32];
    char transport[16];             /* serial | hidraw | evdev | "" (any) */
    bool match_any;
    struct { uint16_t vid, pid; } match[PROFILE_MAX_MATCH];
    size_t n_match;
    uint16_t usage_page;            /* 0 = any */
    int interface;                  /* USB interface number; -1 = any */
    char product[64];               /* a substring of the product name; "" = any */
    int priority;
    unsigned repeat_delay_ms, repeat_ms;
    struct profile_binding bindings[PROFILE_MAX_BINDINGS];
    size_t n_bindings;
    struct profile_output outputs[PROFILE_MAX_OUTPUTS];
    size_t n_outputs;
    struct profile_setting frame[16]; /* [frame]: serial framing, read by the plugin */
    size_t n_frame;
};

/* actions: the action names this class of device accepts (NULL-terminated;
 * NULL accepts any, for tools that list profiles of every class). */
int profile_parse(const char *text, size_t len, const char *file, const char *const *actions,
                  struct profile *out, char *err, size_t errlen);

/* What a device offers to match a profile against. */
struct profile_device {
    uint16_t vid, pid, usage_page;
    int interface;       /* -1: unknown */
    const char *product; /* "" when unknown */
};

/* The best profile for a device: a named one if given, else the highest
 * priority whose match list names vid:pid (or matches any) and whose usage
 * page, interface and product, where set, are the device's. */
const struct profile *profile_select(const struct profile *profiles, size_t n, const char *name,
                                     const struct profile_device *dev);

/* The binding a usage or a raw report triggers, NULL when none. */
const struct profile_binding *profile_find_usage(const struct profile *p, uint16_t page,
                                                 uint32_t usage);
const struct profile_binding *profile_find_raw(const struct profile *p, const uint8_t *report,
                                               size_t len);
const struct profile_output *profile_output(const struct profile *p, const char *command);
/* The output's bytes with {value} and {address} filled in; *checksum_at is
 * where {checksum} stands (-1: none) for the caller to fill.  Returns the length. */
size_t profile_render(const struct profile_output *o, uint8_t value, uint8_t address, uint8_t *out,
                      size_t max, int *checksum_at);
/* The same with {text} and {length} filled from text (at most 255 bytes); 0 when the
 * frame does not fit in max. */
size_t profile_render_text(const struct profile_output *o, uint8_t value, uint8_t address,
                           const uint8_t *text, size_t text_len, uint8_t *out, size_t max,
                           int *checksum_at);
#endif
