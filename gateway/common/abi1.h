/* ABI 1.x, kept so plugins built for it still run (docs/PLUGINS.md): its host
 * table and descriptor exactly as the 1.4 header (tests/abi/1.4/) laid them
 * out, renamed so they sit beside 2.0's.  Never edit a field: test_abi.c
 * holds them to the released headers. */
#ifndef AGW_ABI1_H
#define AGW_ABI1_H
#include <stdbool.h>

#include "accessgw/plugin.h"

#define AGW1_ABI_MAJOR 1

struct agw1_host {
    uint32_t struct_size;
    /* The device's id as it appears in topics. */
    const char *(*device_id)(struct agw_device *dev);
    /* A key of the device's config section, NULL when unset. */
    const char *(*config)(struct agw_device *dev, const char *key);
    void (*log)(struct agw_device *dev, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    /* Publish `<class>/<device>/<event>`; steals `data` (may be NULL). 0 or -errno. */
    int (*emit)(struct agw_device *dev, const char *event, json_t *data);
    /* Publish device/<id>/state when the state or reason changes. */
    void (*set_state)(struct agw_device *dev, enum agw_state state, const char *reason);
    /* Transport I/O.  write: all bytes or -errno.  read: bytes read, 0 on
     * timeout, -errno (-ENODEV when the device is gone). */
    ssize_t (*write)(struct agw_device *dev, const void *buf, size_t len);
    ssize_t (*read)(struct agw_device *dev, void *buf, size_t max, int timeout_ms);
    /* Discard input not yet read (after a protocol error). */
    void (*flush_input)(struct agw_device *dev);
    /* Call on_timer every interval_ms (0 stops it). */
    void (*set_timer)(struct agw_device *dev, unsigned interval_ms);
    void (*set_userdata)(struct agw_device *dev, void *data);
    void *(*userdata)(struct agw_device *dev);
    /* The gateway's state directory, for plugins that persist state.  In a
     * plugin host process (isolation = process, the default) the sandbox lets
     * a plugin write nothing there (EACCES): use save_state/load_state. */
    const char *(*state_dir)(struct agw_device *dev);
    /* Which transport the device was opened with. */
    enum agw_transport (*transport)(struct agw_device *dev);
    /* Durable per-device state (state_dir/<plugin>.<device>.json): written
     * atomically and fsync'd before save_state returns 0; load_state returns
     * a new reference or NULL when there is none. */
    int (*save_state)(struct agw_device *dev, const json_t *state);
    json_t *(*load_state)(struct agw_device *dev);
    /* The n-th key of the device's config section (NULL past the end), its
     * value in *value: for families of keys such as button.A1B2C5. */
    const char *(*config_nth)(struct agw_device *dev, size_t n, const char **value);
    /* hidraw devices: the USB (or Bluetooth) VID:PID and the report
     * descriptor, from udev/sysfs.  0, or -errno.  (Kept for plugins built
     * before 1.4; new code uses extension(dev, AGW_EXT_HID).) */
    int (*hid_ids)(struct agw_device *dev, uint16_t *vid, uint16_t *pid);
    ssize_t (*hid_descriptor)(struct agw_device *dev, uint8_t *buf, size_t max);
    /* ... and its USB interface number (-1: none) and product name, for profile matching */
    int (*hid_names)(struct agw_device *dev, int *interface, char *product, size_t len);
    /* A key/value shown for this device by the `devices` verb (e.g. which
     * profile it matched); value NULL removes the key. */
    void (*set_info)(struct agw_device *dev, const char *key, const char *value);
    /* Devices behind this one (several addressed pads on one RS-485 port):
     * each child id gets its own topics and is a target of device verbs;
     * command_target() says which id the running command was sent to.  Like
     * emit(), emit_for() adds the child's location (from add_child) to the
     * data unless the plugin put one there. */
    int (*add_child)(struct agw_device *dev, const char *child_id, const char *location);
    int (*emit_for)(struct agw_device *dev, const char *child_id, const char *event, json_t *data);
    const char *(*command_target)(struct agw_device *dev);
    /* Bluetooth LE (transport bluez): GATT characteristics of the device by
     * UUID (lower-case 128-bit form), through BlueZ on the system bus.  (Kept
     * for plugins built before 1.4; new code uses extension(dev, AGW_EXT_BLUEZ).)
     * gatt_read: bytes read or -errno; gatt_write: 0, -errno, or -EPROTO with
     * the ATT error code the device answered in *att_error. */
    ssize_t (*gatt_read)(struct agw_device *dev, const char *uuid, uint8_t *buf, size_t max);
    int (*gatt_write)(struct agw_device *dev, const char *uuid, const uint8_t *data, size_t len,
                      uint8_t *att_error);
    int (*gatt_notify)(struct agw_device *dev, const char *uuid); /* StartNotify */
    /* The device's name as BlueZ knows it (Alias, else Name); "" when none. */
    const char *(*ble_name)(struct agw_device *dev);

    /* ABI 1.3: typed config values.  Each returns 0 with *out set (def when the
     * key is unset), or -EINVAL after logging "FILE:LINE: key 'k' in [device
     * X] must be ..., not 'v'" (the plugin then refuses to open).
     * config_uint: a whole number in [min, max]; config_bool: yes/no, true/false,
     * on/off, 1/0; config_enum: one of the NULL-terminated names, *out its index;
     * config_ms: a duration in [min_ms, max_ms], "1500", "1500ms", "2s" or "5min". */
    int (*config_uint)(struct agw_device *dev, const char *key, unsigned def, unsigned min,
                       unsigned max, unsigned *out);
    int (*config_bool)(struct agw_device *dev, const char *key, int def, int *out);
    int (*config_enum)(struct agw_device *dev, const char *key, const char *const *names,
                       int def, int *out);
    int (*config_ms)(struct agw_device *dev, const char *key, unsigned def_ms, unsigned min_ms,
                     unsigned max_ms, unsigned *out);

    /* ABI 1.4: what only some transports have is found by name, so this table
     * stops growing with each device family: AGW_EXT_HID, AGW_EXT_BLUEZ.  NULL
     * when the device's transport has no such extension (a serial device has
     * no report descriptor).  The result's first field is its struct_size: an
     * entry added later is checked with AGW_HOST_HAS() like this table's. */
    const void *(*extension)(struct agw_device *dev, const char *name);
};

struct agw1_plugin {
    uint32_t magic;
    uint32_t abi_major, abi_minor;
    uint32_t struct_size;
    const char *id;           /* file name without .so; [a-z0-9-] */
    const char *device_class; /* first topic level: idcard, callbell, ... */
    const char *version;
    const char *description;
    const struct agw_id *ids;             /* hotplug matches; AGW_BUS_END-terminated; may be NULL */
    const char *const *config_keys;       /* plugin keys of [device]; NULL-terminated */
    const struct agw_personal_field *personal; /* AGW_MASK_END-terminated; may be NULL */
    uint32_t transports;                  /* AGW_TRANSPORT_BIT()s the plugin can drive */

    /* mandatory */
    /* 0 or -errno; a plugin that refuses its config calls set_state(ERROR, why) first */
    int (*open)(struct agw_device *dev, const struct agw1_host *host);
    void (*close)(struct agw_device *dev);
    /* optional: NULL when unused */
    void (*on_input)(struct agw_device *dev, const uint8_t *buf, size_t len);
    void (*on_timer)(struct agw_device *dev);
    void (*removed)(struct agw_device *dev); /* the device is gone: no more I/O */
    /* verb is the part after "<class>."; *result is a JSON object or NULL.
     * On failure *result may hold {"message": "..."}. */
    int (*command)(struct agw_device *dev, const char *verb, json_t *args, json_t **result);

    void *reserved[8]; /* must be NULL */

    /* ABI 1.1: Bluetooth LE devices (optional) */
    /* a notification or a changed value of a characteristic (BlueZ Battery1
     * percentage arrives as the Battery Level characteristic) */
    void (*on_notify)(struct agw_device *dev, const char *uuid, const uint8_t *value, size_t len);
    /* the device connected with its services resolved (up), or was lost */
    void (*on_link)(struct agw_device *dev, int up, const char *why);

    /* ABI 1.2: the verbs command() answers, for `accessgwctl devices --verbs`,
     * the `devices` verb (args {"verbs": true}) and documentation. */
    const struct agw_verb *verbs; /* {NULL}-terminated; may be NULL */
};

/* The 1.0 descriptor's size: the least the loader accepts for major 1. */
#define AGW1_PLUGIN_MIN_SIZE (offsetof(struct agw1_plugin, reserved) + 8 * sizeof(void *))

/* A 1.x descriptor as the 2.0 one every other part of the host reads: NULL
 * with the reason in why when it is refused.  Its header and size are the
 * loader's to check first (AGW1_PLUGIN_MIN_SIZE).  The result lives as long as
 * the plugin is loaded; free it with abi1_free(). */
const struct agw_plugin *abi1_import(const void *descriptor, char *why, size_t whylen);
void abi1_free(const struct agw_plugin *imported);
/* Whether a descriptor (as the loader holds it) came from a 1.x plugin. */
bool abi1_is_imported(const struct agw_plugin *p);
/* The plugin's own 1.x descriptor behind an imported one. */
const struct agw1_plugin *abi1_original(const struct agw_plugin *imported);

/* The two callbacks whose signature changed in 2.0 run through these, which
 * know a device's insides: the device layer's (device/abi1_calls.c).  A
 * program that runs devices sets them before it loads plugins; one that only
 * reads descriptors (accessgwctl) does not, and its imports cannot be opened. */
struct abi1_calls {
    int (*open)(struct agw_device *d);
    int (*command)(struct agw_device *d, const char *target, const char *verb, json_t *args,
                   json_t **result);
};
void abi1_use_calls(const struct abi1_calls *calls);
#endif
