/*
 * hearing-ble: hearing aids over Bluetooth LE through BlueZ — the Hearing
 * Access Service (presets: a hall / loop programme), the Volume Control
 * Service and the battery.  A zone assistant sees a visitor's hearing aid
 * connect, its battery and programme, and can switch it to the hall
 * programme with one command.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <accessgw/plugin.h>

#include "has.h"

#define MAX_PRESETS 32

struct aid {
    bool link;
    struct has_features features;
    bool has_features;
    struct has_preset presets[MAX_PRESETS];
    size_t n_presets;
    uint8_t active;
    struct vcs_state vol;
    bool has_vol;
    struct asha_properties asha;
    bool has_asha;
    int battery; /* -1: unknown */
    unsigned battery_low;
    bool low_reported;
};

static const struct agw_id ids[] = {
    {.bus = AGW_BUS_BLE, .ble_uuid = HAS_UUID_SERVICE, .model = "Hearing Access Service"},
    {.bus = AGW_BUS_BLE, .ble_uuid = VCS_UUID_SERVICE, .model = "Volume Control Service"},
    {.bus = AGW_BUS_BLE, .ble_uuid = ASHA_UUID_SERVICE, .model = "ASHA hearing aid"},
    {.bus = AGW_BUS_END},
};

static const char *const config_keys[] = {"battery_low", NULL};

static struct aid *self(struct agw_device *dev) { return agw_userdata(dev); }
/* GATT through BlueZ: open() makes sure the device has it */
static const struct agw_bluez_ext *ble(struct agw_device *dev)
{
    return agw_bluez(dev);
}

static const struct has_preset *preset_by_index(const struct aid *a, uint8_t index)
{
    for (size_t i = 0; i < a->n_presets; i++)
        if (a->presets[i].index == index)
            return &a->presets[i];
    return NULL;
}

static void upsert_preset(struct aid *a, const struct has_preset *p)
{
    struct has_preset *slot = (struct has_preset *)preset_by_index(a, p->index);
    if (!slot && a->n_presets < MAX_PRESETS)
        slot = &a->presets[a->n_presets++];
    if (slot)
        *slot = *p;
}

static void remove_preset(struct aid *a, uint8_t index)
{
    for (size_t i = 0; i < a->n_presets; i++)
        if (a->presets[i].index == index) {
            memmove(&a->presets[i], &a->presets[i + 1], (a->n_presets - i - 1) * sizeof(a->presets[0]));
            a->n_presets--;
            return;
        }
}

static json_t *preset_json(const struct has_preset *p)
{
    return json_pack("{s:i, s:s, s:b, s:b}", "index", p->index, "name", p->name, "available",
                     p->available, "writable", p->writable);
}

static json_t *active_json(const struct aid *a)
{
    const struct has_preset *p = preset_by_index(a, a->active);
    json_t *o = json_pack("{s:i}", "index", a->active);
    if (p)
        json_object_set_new(o, "name", json_string(p->name));
    return o;
}

static json_t *status_json(struct agw_device *dev, const struct aid *a)
{
    json_t *o = json_pack("{s:b}", "connected", a->link);
    const char *name = ble(dev)->name(dev);
    if (name && *name)
        json_object_set_new(o, "name", json_string(name));
    if (a->has_features)
        json_object_set_new(o, "type", json_string(has_type_name(a->features.type)));
    else if (a->has_asha) /* an ASHA-only aid: binaural or not is all it says */
        json_object_set_new(o, "type", json_string(a->asha.binaural ? "binaural" : "monaural"));
    if (a->has_asha)
        json_object_set_new(o, "asha", json_pack("{s:s, s:b}", "side",
                                                 a->asha.right_side ? "right" : "left", "binaural",
                                                 a->asha.binaural));
    if (a->battery >= 0)
        json_object_set_new(o, "battery_pct", json_integer(a->battery));
    json_object_set_new(o, "active_preset", active_json(a));
    json_t *list = json_array();
    for (size_t i = 0; i < a->n_presets; i++)
        json_array_append_new(list, preset_json(&a->presets[i]));
    json_object_set_new(o, "presets", list);
    if (a->has_vol) {
        json_object_set_new(o, "volume", json_integer(a->vol.volume));
        json_object_set_new(o, "mute", json_boolean(a->vol.mute));
    }
    return o;
}

static void value_error(struct agw_device *dev, const char *what, const struct has_error *err)
{
    agw_log(dev, AGW_LOG_WARNING, "%s: %s", what, err->message);
    agw_emit(dev, "error",
                    json_pack("{s:s, s:s}", "characteristic", what, "message", err->message));
}

static void on_battery(struct agw_device *dev, struct aid *a, uint8_t pct)
{
    a->battery = pct;
    if (pct <= a->battery_low && !a->low_reported) {
        a->low_reported = true;
        agw_emit(
            dev, "battery-low",
            json_pack("{s:i, s:i}", "battery_pct", pct, "threshold", (int)a->battery_low));
    } else if (pct > a->battery_low + 5) {
        a->low_reported = false; /* charged again: the next drop is news */
    }
}

static void on_control_point(struct agw_device *dev, struct aid *a, const uint8_t *v, size_t len)
{
    struct has_cp_message m;
    struct has_error err;
    if (has_parse_cp(v, len, &m, &err) < 0) {
        value_error(dev, "preset_control_point", &err);
        return;
    }
    if (m.opcode == HAS_OP_READ_PRESET_RESPONSE) {
        upsert_preset(a, &m.preset);
        if (m.is_last) /* the list is complete: the whole picture */
            agw_emit(dev, "status", status_json(dev, a));
        return;
    }
    if (m.change_id == HAS_CHANGE_GENERIC)
        upsert_preset(a, &m.preset);
    else if (m.change_id == HAS_CHANGE_DELETED)
        remove_preset(a, m.index);
    else {
        struct has_preset *p = (struct has_preset *)preset_by_index(a, m.index);
        if (p)
            p->available = m.change_id == HAS_CHANGE_AVAILABLE;
    }
    if (m.is_last)
        agw_emit(dev, "status", status_json(dev, a));
}

static void hearing_notify(struct agw_device *dev, const char *uuid, const uint8_t *v, size_t len)
{
    struct aid *a = self(dev);
    struct has_error err;
    if (!strcmp(uuid, HAS_UUID_CONTROL_POINT)) {
        on_control_point(dev, a, v, len);
    } else if (!strcmp(uuid, HAS_UUID_ACTIVE_PRESET)) {
        uint8_t index, previous = a->active;
        if (has_parse_active(v, len, &index, &err) < 0)
            return value_error(dev, "active_preset", &err);
        a->active = index;
        json_t *data = json_pack("{s:o, s:i}", "active_preset", active_json(a), "previous_index", previous);
        agw_emit(dev, "preset-changed", data);
    } else if (!strcmp(uuid, VCS_UUID_STATE)) {
        if (vcs_parse_state(v, len, &a->vol, &err) < 0)
            return value_error(dev, "volume_state", &err);
        a->has_vol = true;
        agw_emit(dev, "volume-changed",
                        json_pack("{s:i, s:b}", "volume", a->vol.volume, "mute", a->vol.mute));
    } else if (!strcmp(uuid, BAS_UUID_LEVEL)) {
        uint8_t pct;
        if (bas_parse_level(v, len, &pct, &err) < 0)
            return value_error(dev, "battery_level", &err);
        on_battery(dev, a, pct);
    }
}

static void read_value(struct agw_device *dev, const char *uuid, const char *what,
                       void (*take)(struct agw_device *, struct aid *, const uint8_t *, size_t))
{
    uint8_t buf[64];
    ssize_t n = ble(dev)->gatt_read(dev, uuid, buf, sizeof(buf));
    if (n >= 0)
        take(dev, self(dev), buf, (size_t)n);
    else if (n != -ENOENT)
        agw_log(dev, AGW_LOG_WARNING, "reading %s: %s", what, strerror((int)-n));
}

static void take_features(struct agw_device *dev, struct aid *a, const uint8_t *v, size_t n)
{
    struct has_error err;
    a->has_features = has_parse_features(v, n, &a->features, &err) == 0;
    if (!a->has_features)
        value_error(dev, "features", &err);
}

static void take_active(struct agw_device *dev, struct aid *a, const uint8_t *v, size_t n)
{
    struct has_error err;
    if (has_parse_active(v, n, &a->active, &err) < 0)
        value_error(dev, "active_preset", &err);
}

static void take_volume(struct agw_device *dev, struct aid *a, const uint8_t *v, size_t n)
{
    struct has_error err;
    a->has_vol = vcs_parse_state(v, n, &a->vol, &err) == 0;
    if (!a->has_vol)
        value_error(dev, "volume_state", &err);
}

static void take_asha(struct agw_device *dev, struct aid *a, const uint8_t *v, size_t n)
{
    struct has_error err;
    a->has_asha = asha_parse_properties(v, n, &a->asha, &err) == 0;
    if (!a->has_asha)
        value_error(dev, "asha_properties", &err);
}

static void take_battery(struct agw_device *dev, struct aid *a, const uint8_t *v, size_t n)
{
    struct has_error err;
    uint8_t pct;
    if (bas_parse_level(v, n, &pct, &err) == 0)
        a->battery = pct;
}

/* Connected with services resolved: read everything, subscribe, ask for the presets. */
static void start(struct agw_device *dev, struct aid *a)
{
    a->n_presets = 0;
    read_value(dev, HAS_UUID_FEATURES, "features", take_features);
    read_value(dev, HAS_UUID_ACTIVE_PRESET, "active preset", take_active);
    read_value(dev, VCS_UUID_STATE, "volume state", take_volume);
    read_value(dev, BAS_UUID_LEVEL, "battery level", take_battery);
    read_value(dev, ASHA_UUID_PROPERTIES, "ASHA properties", take_asha);
    static const char *const notified[] = {HAS_UUID_CONTROL_POINT, HAS_UUID_ACTIVE_PRESET,
                                           VCS_UUID_STATE, BAS_UUID_LEVEL};
    for (size_t i = 0; i < 4; i++)
        ble(dev)->gatt_notify(dev, notified[i]);
    uint8_t req[3], att = 0;
    size_t n = has_encode_read_presets(1, 0xFF, req);
    if (ble(dev)->gatt_write(dev, HAS_UUID_CONTROL_POINT, req, n, &att) <
        0) /* no HAS: status now */
        agw_emit(dev, "status", status_json(dev, a));
    if (a->battery >= 0)
        on_battery(dev, a, (uint8_t)a->battery);
}

static void hearing_link(struct agw_device *dev, int up, const char *why)
{
    struct aid *a = self(dev);
    a->link = up;
    if (up) {
        agw_set_state(dev, AGW_STATE_UP, "connected");
        start(dev, a);
    } else {
        agw_set_state(dev, AGW_STATE_STALE, why);
        agw_emit(dev, "status", status_json(dev, a));
    }
}

/* ---- commands ---- */

static int refused(json_t **result, const char *what, uint8_t att, const char *name)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "the hearing aid refused %s: %s (ATT 0x%02x)", what, name, att);
    *result = json_pack("{s:s, s:s}", "message", msg, "code", name);
    return AGW_CMD_DEVICE_ERROR;
}

/* BlueZ exports no such service: the aid has none, or a bluetoothd plugin
 * claimed it (5.66's vcp plugin takes VCS when run with -E, experimental). */
static int absent(json_t **result, const char *service)
{
    char msg[200];
    snprintf(msg, sizeof(msg), "the hearing aid offers no %s over BlueZ (none on the aid, or "
             "claimed by a bluetoothd plugin)", service);
    *result = json_pack("{s:s}", "message", msg);
    return AGW_CMD_UNSUPPORTED;
}

static int write_cp(struct agw_device *dev, const uint8_t *req, size_t n, const char *what,
                    json_t **result)
{
    uint8_t att = 0;
    int r = ble(dev)->gatt_write(dev, HAS_UUID_CONTROL_POINT, req, n, &att);
    if (r == -EPROTO)
        return refused(result, what, att, has_cp_error_name(att));
    if (r == -ENOENT)
        return absent(result, "Hearing Access Service");
    if (r < 0) {
        *result = json_pack("{s:s}", "message", strerror(-r));
        return AGW_CMD_DEVICE_ERROR;
    }
    return AGW_CMD_OK;
}

/* Volume control point writes carry the change counter; a stale counter
 * (someone else changed the volume) is re-read and the write tried once more. */
static int write_vcs(struct agw_device *dev, struct aid *a, uint8_t op, uint8_t volume,
                     json_t **result)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        uint8_t req[3], att = 0;
        size_t n = vcs_encode(op, a->vol.change_counter, volume, req);
        int r = ble(dev)->gatt_write(dev, VCS_UUID_CONTROL_POINT, req, n, &att);
        if (r == 0)
            return AGW_CMD_OK;
        if (r == -EPROTO && att == 0x80 && attempt == 0) {
            read_value(dev, VCS_UUID_STATE, "volume state", take_volume);
            continue;
        }
        if (r == -EPROTO)
            return refused(result, "the volume", att, vcs_error_name(att));
        if (r == -ENOENT) /* no VCS on D-Bus: none on the aid, or claimed by bluetoothd -E */
            return absent(result, "Volume Control Service");
        *result = json_pack("{s:s}", "message", strerror(-r));
        return AGW_CMD_DEVICE_ERROR;
    }
    return refused(result, "the volume", 0x80, vcs_error_name(0x80));
}

static int hearing_command(struct agw_device *dev, const char *target, const char *verb,
                           json_t *args, json_t **result)
{
    (void)target; /* no devices behind this one */
    struct aid *a = self(dev);
    if (!strcmp(verb, "status")) {
        *result = status_json(dev, a);
        return AGW_CMD_OK;
    }
    if (!a->link) {
        *result = json_pack("{s:s}", "message", "the hearing aid is not connected");
        return AGW_CMD_DEVICE_ERROR;
    }
    uint8_t req[3];
    if (!strcmp(verb, "set_preset")) {
        json_t *index = json_object_get(args, "index");
        if (!json_is_integer(index) || json_integer_value(index) < 1 || json_integer_value(index) > 255) {
            *result = json_pack("{s:s}", "message", "set_preset needs {\"index\": 1-255}");
            return AGW_CMD_BAD_ARGS;
        }
        return write_cp(dev, req, has_encode_set_active((uint8_t)json_integer_value(index), req),
                        "the preset", result);
    }
    if (!strcmp(verb, "next_preset") || !strcmp(verb, "previous_preset"))
        return write_cp(dev, req, has_encode_simple(verb[0] == 'n' ? HAS_OP_SET_NEXT : HAS_OP_SET_PREVIOUS, req),
                        "the preset", result);
    if (!strcmp(verb, "set_volume")) {
        json_t *v = json_object_get(args, "volume");
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255) {
            *result = json_pack("{s:s}", "message", "set_volume needs {\"volume\": 0-255}");
            return AGW_CMD_BAD_ARGS;
        }
        return write_vcs(dev, a, VCS_OP_SET_ABSOLUTE, (uint8_t)json_integer_value(v), result);
    }
    if (!strcmp(verb, "mute") || !strcmp(verb, "unmute"))
        return write_vcs(dev, a, verb[0] == 'm' ? VCS_OP_MUTE : VCS_OP_UNMUTE, 0, result);
    return AGW_CMD_UNKNOWN_VERB;
}

static int hearing_open(struct agw_device *dev)
{
    if (!ble(dev))
        return -ENOTSUP; /* not a BlueZ device */
    struct aid *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    if (agw_config_uint(dev, "battery_low", 20, 0, 100, &a->battery_low) < 0) {
        free(a);
        return -EINVAL;
    }
    a->battery = -1;
    agw_set_userdata(dev, a);
    /* the host calls on_link next with where the link stands */
    return 0;
}

static void hearing_close(struct agw_device *dev) { free(self(dev)); }

static const struct agw_verb verbs[] = {
    {"status", NULL, "connection, type, battery, presets, active preset, volume"},
    {"set_preset", "{\"type\":\"object\",\"required\":[\"index\"],\"properties\":{\"index\":"
                   "{\"type\":\"integer\",\"minimum\":1,\"maximum\":255}}}",
     "switch to a preset (the hall's loop programme)"},
    {"next_preset", NULL, "the next available preset"},
    {"previous_preset", NULL, "the previous available preset"},
    {"set_volume", "{\"type\":\"object\",\"required\":[\"volume\"],\"properties\":{\"volume\":"
                   "{\"type\":\"integer\",\"minimum\":0,\"maximum\":255}}}",
     "set the volume (0-255)"},
    {"mute", NULL, "mute"},
    {"unmute", NULL, "unmute"},
    {NULL, NULL, NULL},
};

AGW_PLUGIN_DEFINE(
    .id = "hearing-ble",
    .device_class = "hearing",
    .version = "1.0",
    .description = "hearing aids over Bluetooth LE (HAS presets, VCS volume, battery) via BlueZ",
    .ids = ids,
    .config_keys = config_keys,
    .transports = AGW_TRANSPORT_BIT(AGW_TRANSPORT_BLUEZ),
    .open = hearing_open,
    .close = hearing_close,
    .command = hearing_command,
    .on_notify = hearing_notify,
    .on_link = hearing_link,
    .verbs = verbs);
