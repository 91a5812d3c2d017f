/*
 * accessgw plugin SDK — the only header a device plugin includes.
 *
 * A plugin is a shared object in the gateway's plugin_dir that exports one
 * descriptor, declared with AGW_PLUGIN_DEFINE().  The host owns every
 * transport (serial, libusb, hidraw, BlueZ) and the ZeroMQ bus: a plugin
 * reads and writes through the agw_host function table and publishes
 * through emit().  All callbacks of one device run on that device's own
 * worker thread, so a plugin may block (within its own timeouts) without
 * stalling the bus or another device.
 *
 * ABI rules (docs/PLUGINS.md): the major number changes when a field moves
 * or changes meaning; the minor number grows when fields are appended, to
 * struct agw_host or struct agw_plugin, and only there.  A plugin that uses
 * an entry of a later minor checks for it first with AGW_HOST_HAS(); the host
 * reads a plugin's later fields only when its struct_size covers them.  The
 * loader refuses a wrong magic, another major, a struct shorter than ABI
 * 1.0's or a missing mandatory callback.  tests/unit/test_abi.c freezes the
 * order of both tables and loads a plugin built with the 1.2 header.
 */
#ifndef ACCESSGW_PLUGIN_H
#define ACCESSGW_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AGW_PLUGIN_MAGIC 0x31574741u /* "AGW1" */
#define AGW_ABI_MAJOR 1
#define AGW_ABI_MINOR 4
#define AGW_PLUGIN_SYMBOL "agw_plugin"

/* Where a device of an ID-table row is found. */
enum agw_bus {
    AGW_BUS_END = 0, /* terminates an ID table */
    AGW_BUS_USB,     /* a libusb device (vendor interface, bulk endpoints) */
    AGW_BUS_HID,     /* a hidraw node */
    AGW_BUS_SERIAL,  /* a tty whose USB parent has this VID:PID */
    AGW_BUS_BLE,     /* a BlueZ device exposing ble_uuid */
};

/* The row needs an installer's explicit opt-in (generic USB-serial bridges). */
#define AGW_ID_GENERIC_BRIDGE 0x1u

/* One row = one generated udev rule = one hotplug match. */
struct agw_id {
    enum agw_bus bus;
    uint16_t vid, pid;
    uint16_t usage_page; /* HID only; 0 = any */
    const char *ble_uuid;
    const char *model;   /* comment in the generated rules */
    uint32_t flags;
};

/* How a transport is selected in a [device] section (`transport = ...`). */
enum agw_transport {
    AGW_TRANSPORT_NONE = 0, /* no device I/O: timers and commands only */
    AGW_TRANSPORT_SERIAL,
    AGW_TRANSPORT_USB,
    AGW_TRANSPORT_HIDRAW,
    AGW_TRANSPORT_BLUEZ,
};
#define AGW_TRANSPORT_BIT(t) (1u << (t))

/*
 * Personal data: a plugin declares which fields of its events are personal;
 * the host publishes the full record only on the CURVE-protected private
 * endpoint and derives the public, masked view itself, so no plugin can
 * forget to mask.
 */
enum agw_mask {
    AGW_MASK_END = 0,
    AGW_MASK_DROP,      /* removed from the public view */
    AGW_MASK_NAME,      /* first character kept: "张*" */
    AGW_MASK_ID_NUMBER, /* first 6 and last 4 kept: "110105********002X" */
    AGW_MASK_YEAR,      /* a YYYY-MM-DD date becomes "YYYY" */
};
struct agw_personal_field {
    const char *key; /* a top-level key of the event's data */
    enum agw_mask mask;
};

enum agw_state { AGW_STATE_UP = 0, AGW_STATE_STALE, AGW_STATE_ERROR };

/* syslog priorities */
enum agw_log_level { AGW_LOG_ERR = 3, AGW_LOG_WARNING = 4, AGW_LOG_NOTICE = 5,
                     AGW_LOG_INFO = 6, AGW_LOG_DEBUG = 7 };

/* What a command callback returns; each maps to an error code on the bus. */
enum agw_cmd_status {
    AGW_CMD_OK = 0,
    AGW_CMD_UNKNOWN_VERB = -1, /* "unknown_verb" */
    AGW_CMD_BAD_ARGS = -2,     /* "bad_args" */
    AGW_CMD_DEVICE_ERROR = -3, /* "device_error" */
    AGW_CMD_BUSY = -4,         /* "busy" */
    AGW_CMD_TIMEOUT = -5,      /* "timeout" */
    AGW_CMD_UNSUPPORTED = -6,  /* "unsupported" */
};

struct agw_host;

/* The handle of one attached device, given to every callback.  Since ABI 1.4
 * it carries the host table, so a plugin keeps no global of its own:
 *     dev->host->emit(dev, "pressed", data);
 * Everything else about a device is the host's.  A host before 1.4 passes a
 * handle without it: a plugin that uses dev->host checks, in open(), that the
 * host it is given there has 1.4's entry (AGW_HOST_HAS(host, extension)). */
struct agw_device {
    const struct agw_host *host;
};

/* A device verb: name is the part after "<class>." (set_zoom); args a JSON
 * Schema of its arguments as a string, NULL when it takes none; help one line. */
struct agw_verb {
    const char *name;
    const char *args;
    const char *help;
};

/* Services the host gives every plugin.  Only ever grows at the end. */
struct agw_host {
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

/* hidraw devices (transport hidraw) */
#define AGW_EXT_HID "hid"
struct agw_hid_ext {
    uint32_t struct_size;
    /* the USB (or Bluetooth) VID:PID and the report descriptor, from udev/sysfs: 0 or -errno */
    int (*ids)(struct agw_device *dev, uint16_t *vid, uint16_t *pid);
    ssize_t (*descriptor)(struct agw_device *dev, uint8_t *buf, size_t max);
    /* the USB interface number (-1: none) and product name, for profile matching */
    int (*names)(struct agw_device *dev, int *interface, char *product, size_t len);
};

/* Bluetooth LE devices (transport bluez): GATT characteristics by UUID
 * (lower-case 128-bit form), through BlueZ on the system bus. */
#define AGW_EXT_BLUEZ "bluez"
struct agw_bluez_ext {
    uint32_t struct_size;
    /* bytes read or -errno */
    ssize_t (*gatt_read)(struct agw_device *dev, const char *uuid, uint8_t *buf, size_t max);
    /* 0, -errno, or -EPROTO with the ATT error code the device answered in *att_error */
    int (*gatt_write)(struct agw_device *dev, const char *uuid, const uint8_t *data, size_t len,
                      uint8_t *att_error);
    int (*gatt_notify)(struct agw_device *dev, const char *uuid); /* StartNotify */
    /* the device's name as BlueZ knows it (Alias, else Name); "" when none */
    const char *(*name)(struct agw_device *dev);
};

/* Whether the host running the plugin has an entry of struct agw_host (a
 * plugin built for minor N may be loaded by a host of an earlier minor). */
#define AGW_HOST_HAS(host, entry) \
    ((host)->struct_size >= offsetof(struct agw_host, entry) + sizeof((host)->entry) && (host)->entry)
/* The same for an extension table: AGW_EXT_HAS(hid, struct agw_hid_ext, names). */
#define AGW_EXT_HAS(ext, type, entry) \
    ((ext) && (ext)->struct_size >= offsetof(type, entry) + sizeof((ext)->entry) && (ext)->entry)

struct agw_plugin {
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
    int (*open)(struct agw_device *dev, const struct agw_host *host);
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

/* Minimum size the loader accepts: the ABI 1.0 struct (later fields are
 * used only when struct_size says the plugin has them). */
#define AGW_PLUGIN_MIN_SIZE (offsetof(struct agw_plugin, reserved) + 8 * sizeof(void *))

/* Fills magic, versions and size so a plugin author cannot get them wrong:
 *   AGW_PLUGIN_DEFINE(.id = "skeleton", .device_class = "skeleton", ...);   */
#define AGW_PLUGIN_DEFINE(...)                                                  \
    __attribute__((visibility("default"))) const struct agw_plugin agw_plugin = { \
        .magic = AGW_PLUGIN_MAGIC, .abi_major = AGW_ABI_MAJOR,                  \
        .abi_minor = AGW_ABI_MINOR, .struct_size = sizeof(struct agw_plugin),   \
        __VA_ARGS__}

#ifdef __cplusplus
}
#endif
#endif
