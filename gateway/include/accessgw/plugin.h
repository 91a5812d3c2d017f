/*
 * accessgw plugin SDK 2 — the only header a device plugin includes.
 *
 * A plugin is a shared object in the gateway's plugin path that exports one
 * descriptor, declared with AGW_PLUGIN_DEFINE().  The host owns every
 * transport (serial, libusb, hidraw, evdev, BlueZ, PC/SC) and the ZeroMQ bus: a plugin
 * reads, writes and publishes through the host, reached from the device
 * handle every callback gets (agw_emit(dev, ...), agw_read(dev, ...)).  All
 * callbacks of one device run on that device's own worker thread, so a
 * plugin may block (within its own timeouts) without stalling the bus or
 * another device; one exception, by the plugin's choice: a plugin that sets
 * AGW_TIMERS_SHARED has its on_timer called from one thread shared by its
 * devices (never while another callback of that device runs).
 *
 * ABI rules (docs/PLUGINS.md): the major number changes when a field moves
 * or changes meaning; the minor grows when fields are appended at the end of
 * struct agw_plugin, struct agw_host, one of its groups or an extension, and
 * only there.  The agw_*() calls below check an entry newer than 2.0 before
 * using it and return -ENOSYS on a host without it.  The host reads a
 * plugin's later fields only when its struct_size covers them.  The loader
 * refuses a wrong magic, an unknown major, a struct shorter than its major's
 * first release or a missing mandatory callback; it still runs plugins built
 * for ABI 1.x.  tests/unit/test_abi.c freezes every table's order.
 */
#ifndef ACCESSGW_PLUGIN_H
#define ACCESSGW_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AGW_PLUGIN_MAGIC 0x31574741u /* "AGW1", for every major: abi_major tells them apart */
#define AGW_ABI_MAJOR 2
#define AGW_ABI_MINOR 2
#define AGW_PLUGIN_SYMBOL "agw_plugin"

/* Where a device of an ID-table row is found. */
enum agw_bus {
    AGW_BUS_END = 0, /* terminates an ID table */
    AGW_BUS_USB,     /* a libusb device (vendor interface, bulk endpoints) */
    AGW_BUS_HID,     /* a hidraw node */
    AGW_BUS_SERIAL,  /* a tty whose USB parent has this VID:PID */
    AGW_BUS_BLE,     /* a BlueZ device exposing ble_uuid */
    AGW_BUS_PCSC,    /* 2.1: a smart-card reader pcscd reports (no udev rule: pcscd owns it) */
    AGW_BUS_INPUT,   /* 2.1: an input event node (/dev/input/eventN) whose USB parent has this VID:PID */
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
    AGW_TRANSPORT_PCSC, /* 2.1: a smart-card reader through pcscd (`reader = ...`) */
    AGW_TRANSPORT_EVDEV, /* 2.1: an input device, grabbed: on_input gets struct input_events */
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
    AGW_MASK_CARD_NUMBER, /* 2.1: first character and last two kept: "K******70" */
    AGW_MASK_HEAD,        /* 2.1: at most the first 8 characters, never more than half, then "*" */
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

/* The handle of one attached device, given to every callback; dev->host is
 * the host's table.  Everything else about a device is the host's. */
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

/*
 * The host's services, grouped by purpose.  Each group starts with its
 * struct_size and only grows at its end; what only some transports have is
 * an extension, found by name, so no group grows with each device family.
 * A plugin calls them through the agw_*() functions further down.
 */

/* Who the device is, how it is configured, the plugin's memory for it. */
struct agw_host_device {
    uint32_t struct_size;
    /* the device's id as it appears in topics */
    const char *(*id)(struct agw_device *dev);
    /* which transport the device was opened with */
    enum agw_transport (*transport)(struct agw_device *dev);
    /* a key of the device's [device] section (a key the plugin declared), NULL when unset */
    const char *(*config)(struct agw_device *dev, const char *key);
    /* the n-th of the plugin's keys that is set (NULL past the end), its value in
     * *value: for families of keys such as button.A1B2C5 */
    const char *(*config_nth)(struct agw_device *dev, size_t n, const char **value);
    /* typed values: 0 with *out set (def when the key is unset), or -EINVAL after
     * logging "FILE:LINE: key 'k' in [device X] must be ..., not 'v'" and setting
     * the device's error state (the plugin then returns -EINVAL from open) */
    int (*config_uint)(struct agw_device *dev, const char *key, unsigned def, unsigned min,
                       unsigned max, unsigned *out);
    int (*config_bool)(struct agw_device *dev, const char *key, int def, int *out);
    int (*config_enum)(struct agw_device *dev, const char *key, const char *const *names,
                       int def, int *out);
    int (*config_ms)(struct agw_device *dev, const char *key, unsigned def_ms, unsigned min_ms,
                     unsigned max_ms, unsigned *out);
    void (*set_userdata)(struct agw_device *dev, void *data);
    void *(*userdata)(struct agw_device *dev);
};

/* What the device tells the hall and the installer. */
struct agw_host_publish {
    uint32_t struct_size;
    void (*vlog)(struct agw_device *dev, int level, const char *fmt, va_list ap);
    /* publish <class>/<device>/<event>; steals data (may be NULL): 0 or -errno */
    int (*emit)(struct agw_device *dev, const char *event, json_t *data);
    /* publish device/<id>/state when the state or the reason changes */
    void (*set_state)(struct agw_device *dev, enum agw_state state, const char *reason);
    /* a key/value the `devices` verb shows for this device (e.g. the profile it
     * matched); value NULL removes the key */
    void (*set_info)(struct agw_device *dev, const char *key, const char *value);
    /* devices behind this one (several addressed pads on one RS-485 port): each
     * child id gets its own topics and is a target of device verbs; emit_for
     * publishes for one, adding its location as emit() adds the device's */
    int (*add_child)(struct agw_device *dev, const char *child_id, const char *location);
    int (*emit_for)(struct agw_device *dev, const char *child_id, const char *event,
                    json_t *data);
};

/* The device's transport. */
struct agw_host_io {
    uint32_t struct_size;
    /* all bytes, or -errno */
    ssize_t (*write)(struct agw_device *dev, const void *buf, size_t len);
    /* bytes read, 0 on timeout, -errno (-ENODEV when the device is gone) */
    ssize_t (*read)(struct agw_device *dev, void *buf, size_t max, int timeout_ms);
    /* discard input not yet read (after a protocol error) */
    void (*flush_input)(struct agw_device *dev);
};

struct agw_host_timer {
    uint32_t struct_size;
    /* call on_timer every interval_ms (0 stops it) */
    void (*set)(struct agw_device *dev, unsigned interval_ms);
};

/* Durable per-device state, written by the gateway (a plugin writes no file). */
struct agw_host_persist {
    uint32_t struct_size;
    /* written atomically and fsync'd before it returns 0 */
    int (*save)(struct agw_device *dev, const json_t *state);
    /* a new reference, or NULL when there is none */
    json_t *(*load)(struct agw_device *dev);
};

struct agw_host {
    uint32_t struct_size;
    const struct agw_host_device *device;
    const struct agw_host_publish *publish;
    const struct agw_host_io *io;
    const struct agw_host_timer *timer;
    const struct agw_host_persist *persist;
    /* A transport's own services by name (AGW_EXT_HID, AGW_EXT_BLUEZ): NULL when
     * the device's transport has none of that name. */
    const void *(*extension)(struct agw_device *dev, const char *name);
};

/* Extensions.  Each starts with its struct_size and grows only at its end. */

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

/* Smart cards (transport pcsc, ABI 2.1): the host talks to pcscd, follows the
 * reader and connects to a card when one is inserted; the plugin exchanges
 * APDUs.  A card inserted and connected arrives as on_link(dev, 1, "card"), a
 * card taken out as on_link(dev, 0, "removed").  pcscd passes status words
 * through unchanged: a T=0 card's 61xx and 6Cxx rounds are the plugin's. */
#define AGW_EXT_PCSC "pcsc"
struct agw_pcsc_ext {
    uint32_t struct_size;
    /* one command APDU; the answer's length (data then SW1 SW2, never fewer than
     * 2 bytes), -ENOMEDIUM when no card is connected or it left during the
     * exchange, -EIO when the exchange failed, -ENODEV when the reader or pcscd
     * is gone */
    ssize_t (*transmit)(struct agw_device *dev, const uint8_t *apdu, size_t len, uint8_t *answer,
                        size_t max);
    /* the connected card's ATR: its length, 0 when no card is connected */
    ssize_t (*atr)(struct agw_device *dev, uint8_t *buf, size_t max);
    /* the reader's name as pcscd reports it */
    const char *(*reader)(struct agw_device *dev);
};

/* Whether a table has an entry: it is long enough and the entry is set.  A
 * plugin built for a later minor may run on a host of an earlier one; the
 * agw_*() calls below use this for every entry added after 2.0.
 *     AGW_HAS(hid, struct agw_hid_ext, names)                                */
#define AGW_HAS(table, type, entry)                                                      \
    ((table) && (table)->struct_size >= offsetof(type, entry) + sizeof((table)->entry) && \
     (table)->entry)

struct agw_plugin {
    uint32_t magic;
    uint32_t abi_major, abi_minor;
    uint32_t struct_size;
    const char *id;           /* file name without .so; [a-z0-9-] */
    const char *device_class; /* first topic level: idcard, callbell, ... */
    const char *version;
    const char *description;
    const struct agw_id *ids;             /* hotplug matches; AGW_BUS_END-terminated; may be NULL */
    const char *const *config_keys;       /* plugin keys of [device]; NULL-terminated; "button.*"
                                             takes every key starting with "button." */
    const struct agw_personal_field *personal; /* AGW_MASK_END-terminated; may be NULL */
    uint32_t transports;                  /* AGW_TRANSPORT_BIT()s the plugin can drive */
    /* the verbs command() answers: `accessgwctl devices --verbs`, the `devices`
     * verb and the documentation list them; {NULL}-terminated; may be NULL */
    const struct agw_verb *verbs;

    /* mandatory */
    /* 0 or -errno; a plugin that refuses its config returns -EINVAL after the
     * typed config call said why (or after agw_set_state(ERROR, why)) */
    int (*open)(struct agw_device *dev);
    void (*close)(struct agw_device *dev);

    /* optional: NULL when unused */
    void (*on_input)(struct agw_device *dev, const uint8_t *buf, size_t len);
    void (*on_timer)(struct agw_device *dev);
    void (*removed)(struct agw_device *dev); /* the device is gone: no more I/O */
    /* target: the id the command was sent to (the device's, or a child's from
     * add_child); verb: the part after "<class>."; *result a JSON object or NULL,
     * on failure it may hold {"message": "..."} */
    int (*command)(struct agw_device *dev, const char *target, const char *verb, json_t *args,
                   json_t **result);
    /* a notification or a changed value of a characteristic (BlueZ's Battery1
     * percentage arrives as the Battery Level characteristic) */
    void (*on_notify)(struct agw_device *dev, const char *uuid, const uint8_t *value, size_t len);
    /* the device connected with its services resolved (up), or was lost */
    void (*on_link)(struct agw_device *dev, int up, const char *why);

    /* 2.1: what the plugin needs beyond its transports (AGW_RESOURCE_*): its
     * sandbox lets it reach that and nothing more */
    uint32_t resources;

    /* 2.2: where on_timer may run (AGW_TIMERS_*; 0: on the device's own thread) */
    uint32_t timers;
};

/* 2.1: the sound devices and the ALSA configuration (Landlock: /dev/snd,
 * /usr/share/alsa, /etc/asound.conf, ~/.asoundrc and the files a `file` PCM
 * there writes; docs/PROCESSES.md) */
#define AGW_RESOURCE_SOUND 0x1u

/* 2.2: on_timer never waits (it computes, emits, sets state and timers; no read,
 * no write that waits for an answer, no save_state): the host may call it from
 * one thread it shares among the plugin's devices, at a moment when the device's
 * own thread waits for input, so it never runs beside another callback of the same
 * device; devices whose timers fall due together then cost one wake-up and their
 * events go out in one batch (a thousand devices: docs/PERFORMANCE.md).  A timer
 * that falls due while its device is busy runs on the device's thread after it.
 * An on_timer that blocks holds up every device of the plugin: leave it unset. */
#define AGW_TIMERS_SHARED 0x1u

/* The size of ABI 2.0's descriptor: the least the loader accepts for major 2. */
#define AGW_PLUGIN_MIN_SIZE (offsetof(struct agw_plugin, on_link) + sizeof(void (*)(void)))

/* Fills magic, versions and size so a plugin author cannot get them wrong:
 *   AGW_PLUGIN_DEFINE(.id = "skeleton", .device_class = "skeleton", ...);   */
#define AGW_PLUGIN_DEFINE(...)                                                  \
    __attribute__((visibility("default"))) const struct agw_plugin agw_plugin = { \
        .magic = AGW_PLUGIN_MAGIC, .abi_major = AGW_ABI_MAJOR,                  \
        .abi_minor = AGW_ABI_MINOR, .struct_size = sizeof(struct agw_plugin),   \
        __VA_ARGS__}

/*
 * What a plugin calls.  Compiled into the plugin, so each checks, once the
 * SDK has entries newer than 2.0, that the host running it has them.
 */

/* identity, config, memory */
static inline const char *agw_device_id(struct agw_device *dev)
{
    return dev->host->device->id(dev);
}
static inline enum agw_transport agw_transport_of(struct agw_device *dev)
{
    return dev->host->device->transport(dev);
}
static inline const char *agw_config(struct agw_device *dev, const char *key)
{
    return dev->host->device->config(dev, key);
}
static inline const char *agw_config_nth(struct agw_device *dev, size_t n, const char **value)
{
    return dev->host->device->config_nth(dev, n, value);
}
static inline int agw_config_uint(struct agw_device *dev, const char *key, unsigned def,
                                  unsigned min, unsigned max, unsigned *out)
{
    return dev->host->device->config_uint(dev, key, def, min, max, out);
}
static inline int agw_config_bool(struct agw_device *dev, const char *key, int def, int *out)
{
    return dev->host->device->config_bool(dev, key, def, out);
}
/* names: NULL-terminated; *out the index of the one the key names */
static inline int agw_config_enum(struct agw_device *dev, const char *key,
                                  const char *const *names, int def, int *out)
{
    return dev->host->device->config_enum(dev, key, names, def, out);
}
/* "1500", "1500ms", "2s" or "5min", within [min_ms, max_ms] */
static inline int agw_config_ms(struct agw_device *dev, const char *key, unsigned def_ms,
                                unsigned min_ms, unsigned max_ms, unsigned *out)
{
    return dev->host->device->config_ms(dev, key, def_ms, min_ms, max_ms, out);
}
static inline void agw_set_userdata(struct agw_device *dev, void *data)
{
    dev->host->device->set_userdata(dev, data);
}
static inline void *agw_userdata(struct agw_device *dev)
{
    return dev->host->device->userdata(dev);
}

/* publishing */
__attribute__((format(printf, 3, 4))) static inline void
agw_log(struct agw_device *dev, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dev->host->publish->vlog(dev, level, fmt, ap);
    va_end(ap);
}
static inline int agw_emit(struct agw_device *dev, const char *event, json_t *data)
{
    return dev->host->publish->emit(dev, event, data);
}
static inline void agw_set_state(struct agw_device *dev, enum agw_state state, const char *reason)
{
    dev->host->publish->set_state(dev, state, reason);
}
static inline void agw_set_info(struct agw_device *dev, const char *key, const char *value)
{
    dev->host->publish->set_info(dev, key, value);
}
static inline int agw_add_child(struct agw_device *dev, const char *child_id,
                                const char *location)
{
    return dev->host->publish->add_child(dev, child_id, location);
}
static inline int agw_emit_for(struct agw_device *dev, const char *child_id, const char *event,
                               json_t *data)
{
    return dev->host->publish->emit_for(dev, child_id, event, data);
}

/* I/O and time */
static inline ssize_t agw_write(struct agw_device *dev, const void *buf, size_t len)
{
    return dev->host->io->write(dev, buf, len);
}
static inline ssize_t agw_read(struct agw_device *dev, void *buf, size_t max, int timeout_ms)
{
    return dev->host->io->read(dev, buf, max, timeout_ms);
}
static inline void agw_flush_input(struct agw_device *dev)
{
    dev->host->io->flush_input(dev);
}
static inline void agw_set_timer(struct agw_device *dev, unsigned interval_ms)
{
    dev->host->timer->set(dev, interval_ms);
}

/* persistence */
static inline int agw_save_state(struct agw_device *dev, const json_t *state)
{
    return dev->host->persist->save(dev, state);
}
static inline json_t *agw_load_state(struct agw_device *dev)
{
    return dev->host->persist->load(dev);
}

/* extensions: NULL when the device's transport has none */
static inline const struct agw_hid_ext *agw_hid(struct agw_device *dev)
{
    return (const struct agw_hid_ext *)dev->host->extension(dev, AGW_EXT_HID);
}
static inline const struct agw_bluez_ext *agw_bluez(struct agw_device *dev)
{
    return (const struct agw_bluez_ext *)dev->host->extension(dev, AGW_EXT_BLUEZ);
}

static inline const struct agw_pcsc_ext *agw_pcsc(struct agw_device *dev)
{
    return (const struct agw_pcsc_ext *)dev->host->extension(dev, AGW_EXT_PCSC);
}

#ifdef __cplusplus
}
#endif
#endif
