/*
 * magnifier-hid: electronic video magnifiers' keypads (电子助视器) over
 * hidraw.  Which key does what lives in a device profile (the .ini files in profiles/):
 * keypresses become magnifier/<dev>/control actions, the plugin keeps the
 * magnifier's state (zoom, colour mode, freeze) and publishes it as
 * magnifier/<dev>/state; set_zoom / set_mode are sent as the profile's
 * output reports.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <accessgw/plugin.h>

#include "hid.h"
#include "keypad.h"
#include "profile_dirs.h"

static const char *const modes[] = {"colour", "grey", "high_contrast", "inverted"};
#define N_MODES 4

static const char *const actions[] = {"zoom_in", "zoom_out", "zoom_set", "mode_next", "mode_set",
                                      "freeze", "unfreeze", "freeze_toggle", "brightness_up",
                                      "brightness_down", NULL};

struct magnifier {
    struct hid_map map;
    bool have_map;
    struct profile_set profiles;
    const struct profile *profile;
    struct keypad keypad;
    const struct profile_binding *held; /* a repeating key still down */
    bool repeating;                     /* past the first delay */
    int zoom, max_zoom, mode, brightness;
    bool frozen;
};

static const struct agw_id ids[] = {
    {.bus = AGW_BUS_HID, .vid = 0x1209, .pid = 0xA11E, .model = "magnifier keypad (vendor-keypad-a11e profile)"},
    {.bus = AGW_BUS_END},
};

static const char *const config_keys[] = {"profile", "profile_dir", "max_zoom", NULL};

static struct magnifier *self(struct agw_device *dev) { return agw_userdata(dev); }

static int mode_index(const char *name)
{
    for (int i = 0; i < N_MODES; i++)
        if (name && strcmp(name, modes[i]) == 0)
            return i;
    return -1;
}

static void publish_state(struct agw_device *dev, struct magnifier *m)
{
    agw_emit(dev, "state",
                    json_pack("{s:i, s:s, s:b, s:i}", "zoom_level", m->zoom, "mode", modes[m->mode],
                              "frozen", m->frozen, "brightness", m->brightness));
}

static int clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Applies one action to the state; false when it names nothing valid. */
static bool apply(struct magnifier *m, const char *action, const char *arg)
{
    if (!strcmp(action, "zoom_in"))
        m->zoom = clamp(m->zoom + 1, 1, m->max_zoom);
    else if (!strcmp(action, "zoom_out"))
        m->zoom = clamp(m->zoom - 1, 1, m->max_zoom);
    else if (!strcmp(action, "zoom_set"))
        m->zoom = clamp(atoi(arg), 1, m->max_zoom);
    else if (!strcmp(action, "mode_next"))
        m->mode = (m->mode + 1) % N_MODES;
    else if (!strcmp(action, "mode_set")) {
        int i = mode_index(arg);
        if (i < 0)
            return false;
        m->mode = i;
    } else if (!strcmp(action, "freeze"))
        m->frozen = true;
    else if (!strcmp(action, "unfreeze"))
        m->frozen = false;
    else if (!strcmp(action, "freeze_toggle"))
        m->frozen = !m->frozen;
    else if (!strcmp(action, "brightness_up"))
        m->brightness = clamp(m->brightness + 1, 0, 10);
    else if (!strcmp(action, "brightness_down"))
        m->brightness = clamp(m->brightness - 1, 0, 10);
    else
        return false;
    return true;
}

static void control(struct agw_device *dev, struct magnifier *m, const struct profile_binding *b,
                    bool repeat)
{
    if (!apply(m, b->action, b->arg)) {
        agw_log(dev, AGW_LOG_WARNING, "%s:%d: action '%s %s' does nothing here",
                       m->profile->file, b->line, b->action, b->arg);
        return;
    }
    /* freeze_toggle is reported as what it did */
    const char *action = !strcmp(b->action, "freeze_toggle") ? (m->frozen ? "freeze" : "unfreeze")
                                                             : b->action;
    json_t *data = json_pack("{s:s, s:b}", "action", action, "repeat", repeat);
    if (!strncmp(action, "zoom", 4))
        json_object_set_new(data, "level", json_integer(m->zoom));
    if (!strncmp(action, "mode", 4))
        json_object_set_new(data, "mode", json_string(modes[m->mode]));
    agw_emit(dev, "control", data);
    publish_state(dev, m);
}

static bool repeats(const struct profile_binding *b)
{
    return !strcmp(b->action, "zoom_in") || !strcmp(b->action, "zoom_out") ||
           !strcmp(b->action, "brightness_up") || !strcmp(b->action, "brightness_down");
}

static void magnifier_input(struct agw_device *dev, const uint8_t *buf, size_t len)
{
    struct magnifier *m = self(dev);
    struct keypad_event ev[16];
    struct hid_error err;
    int n = keypad_report(&m->keypad, buf, len, ev, 16, &err);
    if (n < 0) {
        agw_log(dev, AGW_LOG_WARNING, "input report of %zu byte(s): %s", len, err.message);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (!ev[i].pressed) {
            if (ev[i].binding == m->held) { /* released: the steady repeat stops */
                m->held = NULL;
                agw_set_timer(dev, 0);
            }
            continue;
        }
        control(dev, m, ev[i].binding, false);
        if (repeats(ev[i].binding)) {
            m->held = ev[i].binding;
            m->repeating = false;
            agw_set_timer(dev, m->profile->repeat_delay_ms);
        }
    }
}

static void magnifier_timer(struct agw_device *dev)
{
    struct magnifier *m = self(dev);
    if (!m->held) {
        agw_set_timer(dev, 0);
        return;
    }
    if (!m->repeating) {
        m->repeating = true;
        agw_set_timer(dev, m->profile->repeat_ms);
    }
    control(dev, m, m->held, true);
}

static int send_output(struct agw_device *dev, struct magnifier *m, const char *command, int value,
                       json_t **result)
{
    const struct profile_output *o = profile_output(m->profile, command);
    if (!o) {
        char msg[200];
        snprintf(msg, sizeof(msg), "profile %s has no [output] %s: this keypad cannot be told",
                 m->profile->name, command);
        *result = json_pack("{s:s}", "message", msg);
        return AGW_CMD_UNSUPPORTED;
    }
    uint8_t report[64];
    int checksum_at;
    size_t len = profile_render(o, (uint8_t)value, 0, report, sizeof(report), &checksum_at);
    ssize_t w = agw_write(dev, report, len);
    if (w < 0) {
        *result = json_pack("{s:s}", "message", strerror((int)-w));
        return AGW_CMD_DEVICE_ERROR;
    }
    return AGW_CMD_OK;
}

static int magnifier_command(struct agw_device *dev, const char *target, const char *verb,
                             json_t *args, json_t **result)
{
    (void)target; /* no devices behind this one */
    struct magnifier *m = self(dev);
    if (!strcmp(verb, "set_zoom")) {
        json_t *level = json_object_get(args, "level");
        if (!json_is_integer(level) || json_integer_value(level) < 1 ||
            json_integer_value(level) > m->max_zoom) {
            *result = json_pack("{s:s}", "message", "set_zoom needs {\"level\": 1..max_zoom}");
            return AGW_CMD_BAD_ARGS;
        }
        int r = send_output(dev, m, "set_zoom", (int)json_integer_value(level), result);
        if (r != AGW_CMD_OK)
            return r;
        m->zoom = (int)json_integer_value(level);
    } else if (!strcmp(verb, "set_mode")) {
        int i = mode_index(json_string_value(json_object_get(args, "mode")));
        if (i < 0) {
            *result = json_pack("{s:s}", "message",
                                "set_mode needs {\"mode\": colour|grey|high_contrast|inverted}");
            return AGW_CMD_BAD_ARGS;
        }
        int r = send_output(dev, m, "set_mode", i, result);
        if (r != AGW_CMD_OK)
            return r;
        m->mode = i;
    } else if (strcmp(verb, "state") != 0) {
        return AGW_CMD_UNKNOWN_VERB;
    }
    if (strcmp(verb, "state") != 0)
        publish_state(dev, m);
    *result = json_pack("{s:i, s:s, s:b, s:i, s:s}", "zoom_level", m->zoom, "mode", modes[m->mode],
                        "frozen", m->frozen, "brightness", m->brightness, "profile", m->profile->name);
    return AGW_CMD_OK;
}

static int read_descriptor(struct agw_device *dev, struct magnifier *m, uint16_t *vid,
                           uint16_t *pid, uint16_t *page)
{
    uint8_t desc[4096];
    const struct agw_hid_ext *hid = agw_hid(dev);
    ssize_t n = hid ? hid->descriptor(dev, desc, sizeof(desc)) : -ENODEV;
    *vid = *pid = *page = 0;
    if (n <= 0 || hid->ids(dev, vid, pid) < 0) {
        agw_log(dev, AGW_LOG_WARNING, "no report descriptor (%s): raw patterns only",
                       n < 0 ? strerror((int)-n) : "empty");
        return 0;
    }
    struct hid_error err;
    *page = hid_first_usage_page(desc, (size_t)n);
    if (hid_parse(desc, (size_t)n, &m->map, &err) < 0)
        agw_log(dev, AGW_LOG_WARNING, "report descriptor byte %zu: %s: raw patterns only",
                       err.offset, err.message);
    else
        m->have_map = true;
    return 0;
}

static int magnifier_open(struct agw_device *dev)
{
    struct magnifier *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    unsigned max_zoom;
    if (agw_config_uint(dev, "max_zoom", 16, 1, 255, &max_zoom) < 0) {
        free(m);
        return -EINVAL;
    }
    m->max_zoom = (int)max_zoom;
    m->zoom = 1;
    m->brightness = 5;
    uint16_t vid, pid, page;
    read_descriptor(dev, m, &vid, &pid, &page);
    profiles_load(dev, agw_config(dev, "profile_dir"), "magnifier", actions, &m->profiles);
    m->profile = profiles_choose(dev, &m->profiles, vid, pid, page);
    if (!m->profile) {
        profiles_free(&m->profiles);
        free(m);
        return -ENOENT;
    }
    keypad_init(&m->keypad, m->have_map ? &m->map : NULL, m->profile);
    agw_set_userdata(dev, m);
    publish_state(dev, m);
    return 0;
}

static void magnifier_close(struct agw_device *dev)
{
    struct magnifier *m = self(dev);
    if (m) {
        profiles_free(&m->profiles);
        free(m);
    }
}

static const struct agw_verb verbs[] = {
    {"state", NULL, "zoom level, colour mode, freeze, brightness and the profile in use"},
    {"set_zoom", "{\"type\":\"object\",\"required\":[\"level\"],\"properties\":{\"level\":"
                 "{\"type\":\"integer\",\"minimum\":1}}}",
     "set the zoom level (1..max_zoom), sent as the profile's output report"},
    {"set_mode", "{\"type\":\"object\",\"required\":[\"mode\"],\"properties\":{\"mode\":"
                 "{\"enum\":[\"colour\",\"grey\",\"high_contrast\",\"inverted\"]}}}",
     "set the colour mode, sent as the profile's output report"},
    {NULL, NULL, NULL},
};

AGW_PLUGIN_DEFINE(
    .id = "magnifier-hid",
    .device_class = "magnifier",
    .version = "1.0",
    .description = "electronic magnifier keypads over hidraw, driven by device profiles",
    .ids = ids,
    .config_keys = config_keys,
    .transports = AGW_TRANSPORT_BIT(AGW_TRANSPORT_HIDRAW),
    .open = magnifier_open,
    .close = magnifier_close,
    .on_input = magnifier_input,
    .on_timer = magnifier_timer,
    .command = magnifier_command,
    .verbs = verbs,
    .timers = AGW_TIMERS_SHARED); /* the timer only repeats a held key's action: it emits */
