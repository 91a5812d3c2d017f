/* Bluetooth LE devices through BlueZ over D-Bus (sd-bus, the system bus or
 * DBUS_SYSTEM_BUS_ADDRESS): the device object found by its address, its
 * GATT characteristics by UUID, notifications as PropertiesChanged, and
 * bluetoothd restarts (org.bluez changing owner) survived by looking again.
 *
 * What bluetoothd itself does, and the plugins must not see (BlueZ's
 * doc/org.bluez.GattCharacteristic.rst, src/gatt-client.c, profiles/battery):
 * - A ReadValue updates the cached Value and so emits PropertiesChanged(Value)
 *   before the reply: that echo of our own read is not a notification.
 * - The Battery Service belongs to bluetoothd's battery plugin: the level is
 *   org.bluez.Battery1.Percentage on the device (registered once connected,
 *   removed on disconnect), while the GATT service itself is hidden (BlueZ
 *   5.48-5.54; 5.80+ with GATT.ExportClaimedServices=no) or exported beside it
 *   (5.55-5.79, Debian 12's 5.66; 5.80+ read-only).  Battery Level 0x2A19 is
 *   served from Battery1 whenever bluetoothd has it, from GATT only when it
 *   does not (bluetoothd -P battery), so a plugin reads one level one way. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "bluez_objects.h"

#define BLUEZ_CALL_USEC (5ULL * 1000 * 1000)
#include "log.h"
#include "transport.h"

#define BLUEZ BLUEZ_NAME
#define DEVICE_IFACE BLUEZ_DEVICE_IFACE
#define CHAR_IFACE BLUEZ_CHAR_IFACE
#define BATTERY_IFACE BLUEZ_BATTERY_IFACE
#define BATTERY_LEVEL_UUID "00002a19-0000-1000-8000-00805f9b34fb"
#define MAX_CHARS 64

struct gatt_char {
    char uuid[40];
    char path[256];
    uint8_t echo[64]; /* the value our last ReadValue returned, until BlueZ echoes it */
    int echo_len;     /* -1: no echo awaited */
};

struct bluez {
    sd_bus *bus;
    char address[18];
    char device_path[256];
    char name[64];
    bool connected, resolved, link_up, owner_gone;
    struct gatt_char chars[MAX_CHARS];
    size_t n_chars;
    const struct transport_sink *sink;
    bool rescan;
    int battery;          /* Battery1.Percentage of the device, -1: no Battery1 */
    int battery_told;     /* the level the plugin last got, -1: none */
    char battery_path[256];
    int battery_seen;     /* during a scan: a Battery1 found at battery_path */
};

static void collect(void *ctx, const char *path, const char *iface, const struct bluez_props *p)
{
    struct bluez *b = ctx;
    if (!strcmp(iface, BLUEZ_DEVICE_IFACE) && !strcasecmp(p->address, b->address)) {
        snprintf(b->device_path, sizeof(b->device_path), "%s", path);
        snprintf(b->name, sizeof(b->name), "%s", p->name);
        b->connected = p->connected > 0;
        b->resolved = p->resolved > 0;
    } else if (!strcmp(iface, BLUEZ_CHAR_IFACE) && p->uuid[0] && b->n_chars < MAX_CHARS) {
        /* kept for now; only those under the device's path survive the scan */
        struct gatt_char *c = &b->chars[b->n_chars++];
        snprintf(c->uuid, sizeof(c->uuid), "%s", p->uuid);
        snprintf(c->path, sizeof(c->path), "%s", path);
        c->echo_len = -1;
    } else if (!strcmp(iface, BLUEZ_BATTERY_IFACE) && p->percentage >= 0) {
        snprintf(b->battery_path, sizeof(b->battery_path), "%s", path);
        b->battery_seen = p->percentage;
    }
}

static int scan(struct bluez *b, char *err, size_t errlen)
{
    b->device_path[0] = '\0';
    b->n_chars = 0;
    b->connected = b->resolved = false;
    b->battery_path[0] = '\0';
    b->battery_seen = -1;
    int r = bluez_walk_objects(b->bus, collect, b, err, errlen);
    if (r < 0)
        return r;
    b->battery = !strcmp(b->battery_path, b->device_path) ? b->battery_seen : -1;
    if (!b->device_path[0]) {
        /* the address is not repeated: it identifies a visitor's hearing aid */
        snprintf(err, errlen, "BlueZ knows no device with the configured address (paired?)");
        return -ENODEV;
    }
    size_t keep = 0, n = strlen(b->device_path);
    for (size_t i = 0; i < b->n_chars; i++)
        if (!strncmp(b->chars[i].path, b->device_path, n) && b->chars[i].path[n] == '/')
            b->chars[keep++] = b->chars[i];
    b->n_chars = keep;
    return 0;
}

static void report_link(struct bluez *b, const char *why)
{
    bool up = b->connected && b->resolved && !b->owner_gone;
    if (up == b->link_up)
        return;
    b->link_up = up;
    if (b->sink && b->sink->link)
        b->sink->link(b->sink->ctx, up, why);
}

static struct gatt_char *char_at(struct bluez *b, const char *path)
{
    for (size_t i = 0; i < b->n_chars; i++)
        if (strcmp(b->chars[i].path, path) == 0)
            return &b->chars[i];
    return NULL;
}

static bool is_battery_level(const char *uuid) { return strcasecmp(uuid, BATTERY_LEVEL_UUID) == 0; }

static void tell(struct bluez *b, const char *uuid, const uint8_t *value, size_t len)
{
    if (b->sink && b->sink->notify)
        b->sink->notify(b->sink->ctx, uuid, value, len);
}

static void tell_battery(struct bluez *b)
{
    if (b->battery < 0 || b->battery == b->battery_told)
        return;
    uint8_t pct = (uint8_t)b->battery;
    b->battery_told = b->battery;
    tell(b, BATTERY_LEVEL_UUID, &pct, 1);
}

/* A characteristic's Value changed: a notification, or the echo of our read. */
static void value_changed(struct bluez *b, struct gatt_char *c, const uint8_t *v, size_t len)
{
    bool echo = c->echo_len >= 0 && (size_t)c->echo_len == len && !memcmp(c->echo, v, len);
    c->echo_len = -1;
    if (echo || (is_battery_level(c->uuid) && b->battery >= 0))
        return; /* the level comes from Battery1 while bluetoothd has one */
    tell(b, c->uuid, v, len);
}

static int char_properties(struct bluez *b, struct gatt_char *c, sd_bus_message *m)
{
    if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
        return 0;
    while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
        const char *name;
        const void *data;
        size_t len;
        if (sd_bus_message_read(m, "s", &name) < 0)
            return 0;
        if (strcmp(name, "Value") == 0) {
            if (sd_bus_message_enter_container(m, 'v', "ay") < 0 ||
                sd_bus_message_read_array(m, 'y', &data, &len) < 0 ||
                sd_bus_message_exit_container(m) < 0)
                return 0;
            value_changed(b, c, data, len);
        } else if (sd_bus_message_skip(m, "v") < 0) {
            return 0;
        }
        sd_bus_message_exit_container(m);
    }
    return 0;
}

static void device_properties(struct bluez *b, const struct bluez_props *p)
{
    if (p->connected >= 0)
        b->connected = p->connected;
    if (p->resolved > 0) {
        b->resolved = true;
        b->rescan = true; /* the characteristics may be new objects: report after the scan */
        return;
    }
    if (p->resolved == 0)
        b->resolved = false;
    if (p->connected >= 0 || p->resolved == 0)
        report_link(b, !b->connected ? "disconnected" : b->resolved ? "connected"
                                                                    : "services being resolved");
}

static int on_properties(sd_bus_message *m, void *userdata, sd_bus_error *ret)
{
    (void)ret;
    struct bluez *b = userdata;
    const char *path = sd_bus_message_get_path(m), *iface;
    if (!path || sd_bus_message_read(m, "s", &iface) < 0)
        return 0;
    if (!strcmp(iface, CHAR_IFACE)) {
        struct gatt_char *c = char_at(b, path);
        return c ? char_properties(b, c, m) : 0;
    }
    struct bluez_props p;
    if (strcmp(path, b->device_path) || bluez_read_props(m, &p) < 0)
        return 0;
    if (!strcmp(iface, DEVICE_IFACE)) {
        device_properties(b, &p);
    } else if (!strcmp(iface, BATTERY_IFACE) && p.percentage >= 0) {
        b->battery = p.percentage;
        tell_battery(b);
    }
    return 0;
}

static int on_owner(sd_bus_message *m, void *userdata, sd_bus_error *ret)
{
    (void)ret;
    struct bluez *b = userdata;
    const char *name, *old_owner, *new_owner;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || strcmp(name, BLUEZ))
        return 0;
    if (!*new_owner) {
        b->owner_gone = true;
        report_link(b, "bluetoothd went away");
    } else {
        b->owner_gone = false;
        b->rescan = true; /* a new bluetoothd: new objects */
    }
    return 0;
}

/* Objects come and go: GATT services after a reconnect, Battery1 once the
 * battery plugin read the level (and gone at disconnect). */
static int on_interfaces_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret)
{
    (void)m, (void)ret;
    ((struct bluez *)userdata)->rescan = true;
    return 0;
}

static int bluez_open(struct transport *t, const char *address, unsigned baud, char *err,
                      size_t errlen)
{
    (void)baud;
    struct bluez *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    snprintf(b->address, sizeof(b->address), "%s", address ? address : "");
    b->battery = b->battery_told = -1;
    int r = sd_bus_open_system(&b->bus);
    if (r < 0) {
        snprintf(err, errlen, "system bus: %s", strerror(-r));
        free(b);
        return r;
    }
    /* This worker waits for BlueZ's answers, but not for D-Bus's 25 s: a stuck
     * bluetoothd is a device in error (and the open retried with backoff) within
     * the hang watch's limit, not a hung plugin */
    sd_bus_set_method_call_timeout(b->bus, BLUEZ_CALL_USEC);
    if ((r = sd_bus_match_signal(b->bus, NULL, BLUEZ, NULL, "org.freedesktop.DBus.Properties",
                                 "PropertiesChanged", on_properties, b)) < 0 ||
        (r = sd_bus_match_signal(b->bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus", "NameOwnerChanged", on_owner, b)) < 0 ||
        (r = sd_bus_match_signal(b->bus, NULL, BLUEZ, "/", "org.freedesktop.DBus.ObjectManager",
                                 "InterfacesAdded", on_interfaces_changed, b)) < 0 ||
        (r = sd_bus_match_signal(b->bus, NULL, BLUEZ, "/", "org.freedesktop.DBus.ObjectManager",
                                 "InterfacesRemoved", on_interfaces_changed, b)) < 0 ||
        (r = scan(b, err, errlen)) < 0) {
        if (!err[0])
            snprintf(err, errlen, "D-Bus: %s", strerror(-r));
        sd_bus_flush_close_unref(b->bus);
        free(b);
        return r == -ENODEV ? r : -EIO;
    }
    b->link_up = b->connected && b->resolved;
    t->handle = b;
    t->fd = sd_bus_get_fd(b->bus);
    return 0;
}

static void bluez_close(struct transport *t)
{
    struct bluez *b = t->handle;
    if (b) {
        sd_bus_flush_close_unref(b->bus);
        free(b);
    }
    t->handle = NULL;
    t->fd = -1;
}

static struct gatt_char *char_by_uuid(struct bluez *b, const char *uuid)
{
    for (size_t i = 0; b && i < b->n_chars; i++)
        if (strcasecmp(b->chars[i].uuid, uuid) == 0)
            return &b->chars[i];
    return NULL;
}

/* The ATT error behind a BlueZ error (src/gatt-client.c create_gatt_dbus_error):
 * application errors come as "Operation failed with ATT error: 0x83", the
 * standard ones under names of their own. */
static int att_error_of(const sd_bus_error *e)
{
    static const struct {
        const char *name, *message;
        int att;
    } known[] = {
        {"org.bluez.Error.NotPermitted", "Read not permitted", 0x02},
        {"org.bluez.Error.NotPermitted", "Write not permitted", 0x03},
        {"org.bluez.Error.NotPermitted", "Not paired", 0x05},
        {"org.bluez.Error.NotSupported", NULL, 0x06},
        {"org.bluez.Error.InvalidArguments", "Invalid offset", 0x07},
        {"org.bluez.Error.NotAuthorized", NULL, 0x08},
        {"org.bluez.Error.InvalidArguments", "Invalid Length", 0x0D},
    };
    const char *p = e->message ? strstr(e->message, "ATT error: 0x") : NULL;
    if (p)
        return (int)strtol(p + strlen("ATT error: "), NULL, 16);
    for (size_t i = 0; e->name && i < sizeof(known) / sizeof(known[0]); i++)
        if (!strcmp(e->name, known[i].name) &&
            (!known[i].message || (e->message && !strcmp(e->message, known[i].message))))
            return known[i].att;
    return -1;
}

ssize_t bluez_gatt_read(struct transport *t, const char *uuid, uint8_t *buf, size_t max);
int bluez_gatt_write(struct transport *t, const char *uuid, const uint8_t *data, size_t len,
                     uint8_t *att_error);
int bluez_gatt_notify(struct transport *t, const char *uuid);
static bool bluez_link_up(struct transport *t);
const char *bluez_name(struct transport *t);

ssize_t bluez_gatt_read(struct transport *t, const char *uuid, uint8_t *buf, size_t max)
{
    struct bluez *b = t->handle;
    if (b && is_battery_level(uuid) && b->battery >= 0 && max > 0) {
        buf[0] = (uint8_t)b->battery;
        b->battery_told = b->battery;
        return 1;
    }
    struct gatt_char *c = char_by_uuid(b, uuid);
    if (!c)
        return -ENOENT;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    int r = sd_bus_call_method(b->bus, BLUEZ, c->path, CHAR_IFACE, "ReadValue", &error, &reply,
                               "a{sv}", 0);
    const void *data;
    size_t len = 0;
    if (r >= 0)
        r = sd_bus_message_read_array(reply, 'y', &data, &len);
    if (r >= 0) {
        c->echo_len = len <= sizeof(c->echo) ? (int)len : -1;
        if (c->echo_len >= 0)
            memcpy(c->echo, data, len);
        if (len > max)
            len = max;
        memcpy(buf, data, len);
    } else {
        log_debug("GATT read %s: %s", uuid, error.message ? error.message : strerror(-r));
    }
    sd_bus_error_free(&error);
    sd_bus_message_unref(reply);
    return r < 0 ? -EIO : (ssize_t)len;
}

int bluez_gatt_write(struct transport *t, const char *uuid, const uint8_t *data, size_t len,
                     uint8_t *att_error)
{
    struct bluez *b = t->handle;
    struct gatt_char *c = char_by_uuid(b, uuid);
    if (!c)
        return -ENOENT;
    const char *path = c->path;
    sd_bus_message *m = NULL, *reply = NULL;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    int r = sd_bus_message_new_method_call(b->bus, &m, BLUEZ, path, CHAR_IFACE, "WriteValue");
    if (r >= 0)
        r = sd_bus_message_append_array(m, 'y', data, len);
    if (r >= 0)
        r = sd_bus_message_append(m, "a{sv}", 0);
    if (r >= 0)
        r = sd_bus_call(b->bus, m, 0, &error, &reply);
    int att = r < 0 ? att_error_of(&error) : -1;
    if (att >= 0 && att_error)
        *att_error = (uint8_t)att;
    sd_bus_error_free(&error);
    sd_bus_message_unref(m);
    sd_bus_message_unref(reply);
    return r >= 0 ? 0 : att >= 0 ? -EPROTO : -EIO;
}

int bluez_gatt_notify(struct transport *t, const char *uuid)
{
    struct bluez *b = t->handle;
    if (b && is_battery_level(uuid) && b->battery >= 0)
        return 0; /* Battery1.Percentage changes arrive on their own */
    struct gatt_char *c = char_by_uuid(b, uuid);
    if (!c)
        return -ENOENT;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    int r = sd_bus_call_method(b->bus, BLUEZ, c->path, CHAR_IFACE, "StartNotify", &error, NULL, "");
    sd_bus_error_free(&error);
    return r < 0 ? -EIO : 0;
}

const char *bluez_name(struct transport *t)
{
    struct bluez *b = t->handle;
    return b ? b->name : "";
}

static bool bluez_link_up(struct transport *t)
{
    struct bluez *b = t->handle;
    return b && b->link_up;
}

/* Dispatches everything sd-bus holds.  A rescan and the plugin callbacks it
 * runs make synchronous calls, during which sd-bus queues the signals that
 * arrive (a Battery1 appearing, the indications a plugin asked for): those
 * are in no socket buffer any more, so they are dispatched here before the
 * worker sleeps in poll(). */
static int bluez_process(struct transport *t, const struct transport_sink *sink)
{
    struct bluez *b = t->handle;
    b->sink = sink;
    for (;;) {
        int r;
        while ((r = sd_bus_process(b->bus, NULL)) > 0)
            ;
        if (r < 0)
            return -ENODEV; /* the bus connection broke: reopen */
        if (!b->rescan || b->owner_gone)
            return 0;
        b->rescan = false;
        char err[200];
        if (scan(b, err, sizeof(err)) < 0) {
            b->connected = b->resolved = false;
            report_link(b, err);
        } else {
            report_link(b, b->connected ? "connected" : "disconnected");
            tell_battery(b);
        }
    }
}

static ssize_t bluez_read(struct transport *t, void *buf, size_t max, int timeout_ms)
{
    (void)t, (void)buf, (void)max, (void)timeout_ms;
    return -ENOTSUP; /* GATT values come through gatt_read and notifications */
}

static ssize_t bluez_write(struct transport *t, const void *buf, size_t len)
{
    (void)t, (void)buf, (void)len;
    return -ENOTSUP;
}

static void bluez_flush(struct transport *t) { (void)t; }
static int bluez_pollfd(struct transport *t) { return t->fd; }

const struct transport_ops transport_bluez_ops = {
    .open = bluez_open, .close = bluez_close, .read = bluez_read, .write = bluez_write,
    .flush_input = bluez_flush, .pollfd = bluez_pollfd, .process = bluez_process,
    .link_up = bluez_link_up,
};
