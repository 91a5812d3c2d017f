/*
 * scanner: QR-code and barcode scanners (电子社保卡, 预约码, 办件码), one
 * scanner/<dev>/scanned per code.
 *
 * Three kinds, by the device's transport: a keyboard wedge (evdev, grabbed by
 * the host so a scan never types into another program, decoded with a US
 * layout whatever the desktop's), a HID POS scanner (hidraw, usage page 0x8C:
 * the fields found in its report descriptor) and a serial scanner (a code a
 * line).  The decoding is protocols/scan/; this plugin feeds it and its idle
 * clock (end_ms).  The text is declared personal: the host masks it publicly.
 * Nothing scanned is ever logged.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accessgw/plugin.h"
#include "profile_dirs.h"
#include "scan.h"

enum kind { WEDGE, HID_POS, LINES };

struct scanner {
    enum kind kind;
    unsigned end_ms;
    bool waiting; /* a code has begun: the idle clock runs */
    struct scan_options options;
    char prefix[64], suffix[64];
    struct scan_keys keys;
    struct scan_lines lines;
    struct scan_pos pos;
};

static const struct agw_personal_field personal[] = {{"text", AGW_MASK_HEAD}, {NULL, AGW_MASK_END}};

static struct scanner *self(struct agw_device *dev)
{
    return agw_userdata(dev);
}

static const char *status_reason(enum scan_status s)
{
    switch (s) {
    case SCAN_TOO_LONG: return "too_long";
    case SCAN_INCOMPLETE: return "incomplete";
    case SCAN_LOST: return "lost";
    default: return "encoding";
    }
}

static const char *status_message(enum scan_status s)
{
    switch (s) {
    case SCAN_TOO_LONG: return "the code is longer than 4096 bytes; nothing was kept";
    case SCAN_INCOMPLETE: return "the scanner said more of the code would follow, and it did not";
    case SCAN_LOST: return "the system dropped key events during the scan; scan the code again";
    default: return "";
    }
}

static void publish_scan(void *ctx, const uint8_t *bytes, size_t len, enum scan_status status,
                         const char symbology[4])
{
    struct agw_device *dev = ctx;
    if (status != SCAN_OK) {
        agw_log(dev, AGW_LOG_NOTICE, "scan not published: %s", status_reason(status));
        agw_emit(dev, "error", json_pack("{s:s, s:s}", "reason", status_reason(status), "message",
                                         status_message(status)));
        return;
    }
    static __thread struct scan_text t;
    char err[160];
    if (scan_finish(bytes, len, symbology, &self(dev)->options, &t, err, sizeof(err)) < 0) {
        agw_log(dev, AGW_LOG_NOTICE, "scan not published: %s", err);
        agw_emit(dev, "error", json_pack("{s:s, s:s}", "reason", "encoding", "message", err));
        return;
    }
    if (t.length == 0)
        return; /* only a prefix or suffix: nothing was scanned */
    json_t *data = json_pack("{s:s, s:I}", "text", t.text, "length", (json_int_t)t.length);
    if (t.symbology[0])
        json_object_set_new(data, "symbology", json_string(t.symbology));
    agw_emit(dev, "scanned", data);
    explicit_bzero(&t, sizeof(t));
}

static bool code_begun(const struct scanner *s)
{
    return s->kind == WEDGE ? s->keys.len > 0 || s->keys.overflow || s->keys.lost
         : s->kind == LINES ? s->lines.len > 0 || s->lines.overflow
                            : s->pos.pending;
}

/* The idle clock runs only while a code has begun: an idle scanner costs nothing. */
static void watch_idle(struct agw_device *dev)
{
    struct scanner *s = self(dev);
    bool begun = code_begun(s);
    if (begun || s->waiting)
        agw_set_timer(dev, begun ? s->end_ms : 0);
    s->waiting = begun;
}

static void scanner_input(struct agw_device *dev, const uint8_t *buf, size_t len)
{
    struct scanner *s = self(dev);
    if (s->kind == WEDGE)
        scan_keys_feed(&s->keys, buf, len, publish_scan, dev);
    else if (s->kind == LINES)
        scan_lines_feed(&s->lines, buf, len, publish_scan, dev);
    else
        scan_pos_report(&s->pos, buf, len, publish_scan, dev);
    watch_idle(dev);
}

static void scanner_timer(struct agw_device *dev)
{
    struct scanner *s = self(dev);
    if (s->kind == WEDGE)
        scan_keys_idle(&s->keys, publish_scan, dev);
    else if (s->kind == LINES)
        scan_lines_idle(&s->lines, publish_scan, dev);
    else
        scan_pos_idle(&s->pos, publish_scan, dev);
    watch_idle(dev);
}

static int read_descriptor(struct agw_device *dev, struct scanner *s)
{
    const struct agw_hid_ext *hid = agw_hid(dev);
    uint8_t desc[4096];
    ssize_t n = hid ? hid->descriptor(dev, desc, sizeof(desc)) : -ENOTSUP;
    char err[200], why[260];
    if (n < 0) {
        snprintf(why, sizeof(why), "cannot read the report descriptor: %s", strerror((int)-n));
    } else if (scan_pos_init(&s->pos, desc, (size_t)n, err, sizeof(err)) < 0) {
        snprintf(why, sizeof(why), "%s", err);
    } else {
        return 0;
    }
    agw_set_state(dev, AGW_STATE_ERROR, why);
    return -EINVAL;
}

/* A scanner family's settings, from its profile's [frame] (plugins/scanner/profiles):
 * the defaults a device's own keys override. */
struct family {
    unsigned end_ms;
    int gbk, alt_codes;
    char prefix[64], suffix[64];
};

static int refuse_setting(struct agw_device *dev, const struct profile *p,
                          const struct profile_setting *s, const char *what)
{
    char why[300];
    snprintf(why, sizeof(why), "%.150s:%d: %s must be %s, not '%.40s'", p->file, s->line, s->key,
             what, s->value);
    agw_set_state(dev, AGW_STATE_ERROR, why);
    return -EINVAL;
}

static int take_family(struct agw_device *dev, const struct profile *p, struct family *f)
{
    for (size_t i = 0; i < p->n_frame; i++) {
        const struct profile_setting *s = &p->frame[i];
        char *end;
        if (strcmp(s->key, "end_ms") == 0) {
            unsigned long v = strtoul(s->value, &end, 10);
            if (end == s->value || *end || v < 10 || v > 5000)
                return refuse_setting(dev, p, s, "10-5000 (ms)");
            f->end_ms = (unsigned)v;
        } else if (strcmp(s->key, "encoding") == 0) {
            if (strcmp(s->value, "gbk") && strcmp(s->value, "utf-8"))
                return refuse_setting(dev, p, s, "utf-8 or gbk");
            f->gbk = strcmp(s->value, "gbk") == 0;
        } else if (strcmp(s->key, "alt_codes") == 0) {
            if (strcmp(s->value, "yes") && strcmp(s->value, "no"))
                return refuse_setting(dev, p, s, "yes or no");
            f->alt_codes = strcmp(s->value, "yes") == 0;
        } else if (strcmp(s->key, "strip_prefix") == 0 || strcmp(s->key, "strip_suffix") == 0) {
            snprintf(s->key[6] == 'p' ? f->prefix : f->suffix, sizeof(f->prefix), "%s", s->value);
        } else {
            return refuse_setting(dev, p, s, "one of end_ms, encoding, alt_codes, strip_prefix, "
                                  "strip_suffix (a key)");
        }
    }
    return 0;
}

/* The family's profile (config `profile`, else by VID:PID for HID POS scanners, else
 * the catch-all); with no scanner profile installed, the built-in defaults. */
static int find_family(struct agw_device *dev, struct family *f)
{
    static const char *const no_input[] = {NULL};
    *f = (struct family){.end_ms = 60, .gbk = 0, .alt_codes = 1};
    struct profile_set set;
    profiles_load(dev, agw_config(dev, "profile_dir"), "scanner", no_input, &set);
    if (set.n == 0 && !agw_config(dev, "profile")) {
        profiles_free(&set);
        return 0;
    }
    uint16_t vid = 0, pid = 0;
    const struct agw_hid_ext *hid = agw_hid(dev);
    if (hid)
        hid->ids(dev, &vid, &pid);
    const struct profile *p = profiles_choose(dev, &set, vid, pid, hid ? 0x8C : 0);
    int r = p ? take_family(dev, p, f) : -ENOENT;
    profiles_free(&set);
    return r;
}

static void copy_setting(struct agw_device *dev, const char *key, const char *family, char *out,
                         size_t len, const char **into)
{
    const char *v = agw_config(dev, key);
    if (!v && !family[0])
        return;
    snprintf(out, len, "%s", v ? v : family);
    *into = out;
}

static int scanner_open(struct agw_device *dev)
{
    static const char *const encodings[] = {"utf-8", "gbk", NULL};
    struct scanner *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    agw_set_userdata(dev, s);
    struct family f;
    int encoding = 0, alt_codes = 1;
    if (find_family(dev, &f) < 0 ||
        agw_config_ms(dev, "end_ms", f.end_ms, 10, 5000, &s->end_ms) < 0 ||
        agw_config_enum(dev, "encoding", encodings, f.gbk, &encoding) < 0 ||
        agw_config_bool(dev, "alt_codes", f.alt_codes, &alt_codes) < 0) {
        free(s);
        agw_set_userdata(dev, NULL);
        return -EINVAL;
    }
    s->options.gbk = encoding == 1;
    copy_setting(dev, "strip_prefix", f.prefix, s->prefix, sizeof(s->prefix), &s->options.strip_prefix);
    copy_setting(dev, "strip_suffix", f.suffix, s->suffix, sizeof(s->suffix), &s->options.strip_suffix);
    switch (agw_transport_of(dev)) {
    case AGW_TRANSPORT_EVDEV:
        s->kind = WEDGE;
        scan_keys_init(&s->keys, alt_codes);
        agw_set_info(dev, "kind", "keyboard wedge (grabbed)");
        return 0;
    case AGW_TRANSPORT_HIDRAW:
        s->kind = HID_POS;
        agw_set_info(dev, "kind", "HID POS");
        return read_descriptor(dev, s);
    default:
        s->kind = LINES;
        scan_lines_init(&s->lines);
        agw_set_info(dev, "kind", "serial");
        return 0;
    }
}

static void scanner_close(struct agw_device *dev)
{
    struct scanner *s = self(dev);
    if (s) {
        explicit_bzero(s, sizeof(*s)); /* what was being scanned */
        free(s);
    }
    agw_set_userdata(dev, NULL);
}

static const struct agw_id ids[] = {
    /* pid.codes test ids (1209:5CA1, 1209:5CA2) stand for scanner families here: a
     * real scanner is named in a [device] section (docs/DEVICES.md), so no keyboard
     * is ever grabbed because its VID:PID looked like a scanner's */
    {.bus = AGW_BUS_INPUT, .vid = 0x1209, .pid = 0x5CA1, .model = "keyboard-wedge scanner (test id)"},
    {.bus = AGW_BUS_HID, .vid = 0x1209, .pid = 0x5CA2, .usage_page = 0x8C,
     .model = "HID POS scanner (test id)"},
    {.bus = AGW_BUS_END},
};

static const char *const config_keys[] = {"end_ms", "encoding", "strip_prefix", "strip_suffix",
                                          "alt_codes", "profile", "profile_dir", NULL};

AGW_PLUGIN_DEFINE(
    .id = "scanner",
    .device_class = "scanner",
    .version = "1.0",
    .description = "QR-code and barcode scanners: keyboard wedges (grabbed), HID POS, serial",
    .ids = ids,
    .config_keys = config_keys,
    .personal = personal,
    .transports = AGW_TRANSPORT_BIT(AGW_TRANSPORT_EVDEV) | AGW_TRANSPORT_BIT(AGW_TRANSPORT_HIDRAW) |
                  AGW_TRANSPORT_BIT(AGW_TRANSPORT_SERIAL),
    .open = scanner_open,
    .close = scanner_close,
    .on_input = scanner_input,
    .on_timer = scanner_timer,
    .timers = AGW_TIMERS_SHARED); /* the timer only ends a code that went quiet and emits it */
