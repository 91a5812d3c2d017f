/* Bluetooth LE devices through BlueZ over D-Bus (sd-bus, the system bus or
 * DBUS_SYSTEM_BUS_ADDRESS): the device object found by its address, its
 * GATT characteristics by UUID, notifications as PropertiesChanged, and
 * bluetoothd restarts (org.bluez changing owner) survived by looking again. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "bluez_objects.h"
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
        snprintf(b->chars[b->n_chars].uuid, sizeof(b->chars[0].uuid), "%s", p->uuid);
        snprintf(b->chars[b->n_chars++].path, sizeof(b->chars[0].path), "%s", path);
    }
}

static int scan(struct bluez *b, char *err, size_t errlen)
{
    b->device_path[0] = '\0';
    b->n_chars = 0;
    b->connected = b->resolved = false;
    int r = bluez_walk_objects(b->bus, collect, b, err, errlen);
    if (r < 0)
        return r;
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

static const char *uuid_of(struct bluez *b, const char *path)
{
    for (size_t i = 0; i < b->n_chars; i++)
        if (strcmp(b->chars[i].path, path) == 0)
            return b->chars[i].uuid;
    return NULL;
}

static int on_properties(sd_bus_message *m, void *userdata, sd_bus_error *ret)
{
    (void)ret;
    struct bluez *b = userdata;
    const char *path = sd_bus_message_get_path(m), *iface;
    if (!path || sd_bus_message_read(m, "s", &iface) < 0)
        return 0;
    bool is_char = strcmp(iface, CHAR_IFACE) == 0, is_dev = strcmp(iface, DEVICE_IFACE) == 0;
    bool is_batt = strcmp(iface, BATTERY_IFACE) == 0;
    if ((!is_char && !is_dev && !is_batt) || sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
        return 0;
    while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
        const char *name;
        if (sd_bus_message_read(m, "s", &name) < 0)
            return 0;
        const char *uuid = is_char ? uuid_of(b, path) : NULL;
        if (uuid && strcmp(name, "Value") == 0) {
            const void *data;
            size_t len;
            if (sd_bus_message_enter_container(m, 'v', "ay") < 0 ||
                sd_bus_message_read_array(m, 'y', &data, &len) < 0 ||
                sd_bus_message_exit_container(m) < 0)
                return 0;
            if (b->sink && b->sink->notify)
                b->sink->notify(b->sink->ctx, uuid, data, len);
        } else if (is_dev && !strcmp(path, b->device_path) &&
                   (!strcmp(name, "Connected") || !strcmp(name, "ServicesResolved"))) {
            int v;
            if (sd_bus_message_read(m, "v", "b", &v) < 0)
                return 0;
            *(strcmp(name, "Connected") == 0 ? &b->connected : &b->resolved) = v;
            if (!strcmp(name, "ServicesResolved") && v)
                b->rescan = true; /* the characteristics may be new objects */
            else
                report_link(b, v ? "connected" : "disconnected");
        } else if (is_batt && !strcmp(path, b->device_path) && !strcmp(name, "Percentage")) {
            uint8_t pct;
            if (sd_bus_message_read(m, "v", "y", &pct) < 0)
                return 0;
            if (b->sink && b->sink->notify)
                b->sink->notify(b->sink->ctx, BATTERY_LEVEL_UUID, &pct, 1);
        } else if (sd_bus_message_skip(m, "v") < 0) {
            return 0;
        }
        sd_bus_message_exit_container(m);
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

static int on_interfaces_added(sd_bus_message *m, void *userdata, sd_bus_error *ret)
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
    int r = sd_bus_open_system(&b->bus);
    if (r < 0) {
        snprintf(err, errlen, "system bus: %s", strerror(-r));
        free(b);
        return r;
    }
    if ((r = sd_bus_match_signal(b->bus, NULL, BLUEZ, NULL, "org.freedesktop.DBus.Properties",
                                 "PropertiesChanged", on_properties, b)) < 0 ||
        (r = sd_bus_match_signal(b->bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus", "NameOwnerChanged", on_owner, b)) < 0 ||
        (r = sd_bus_match_signal(b->bus, NULL, BLUEZ, "/", "org.freedesktop.DBus.ObjectManager",
                                 "InterfacesAdded", on_interfaces_added, b)) < 0 ||
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

static const char *char_path(struct bluez *b, const char *uuid)
{
    for (size_t i = 0; i < b->n_chars; i++)
        if (strcasecmp(b->chars[i].uuid, uuid) == 0)
            return b->chars[i].path;
    return NULL;
}

/* "... 0x83 ..." in a BlueZ error: the ATT error the device answered */
static int att_error_of(const sd_bus_error *e)
{
    const char *p = e->message ? strstr(e->message, "0x") : NULL;
    return p ? (int)strtol(p, NULL, 16) : -1;
}

ssize_t bluez_gatt_read(struct transport *t, const char *uuid, uint8_t *buf, size_t max);
int bluez_gatt_write(struct transport *t, const char *uuid, const uint8_t *data, size_t len,
                     uint8_t *att_error);
int bluez_gatt_notify(struct transport *t, const char *uuid);
bool bluez_link_up(struct transport *t);
const char *bluez_name(struct transport *t);

ssize_t bluez_gatt_read(struct transport *t, const char *uuid, uint8_t *buf, size_t max)
{
    struct bluez *b = t->handle;
    const char *path = b ? char_path(b, uuid) : NULL;
    if (!path)
        return -ENOENT;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    int r = sd_bus_call_method(b->bus, BLUEZ, path, CHAR_IFACE, "ReadValue", &error, &reply,
                               "a{sv}", 0);
    const void *data;
    size_t len = 0;
    if (r >= 0)
        r = sd_bus_message_read_array(reply, 'y', &data, &len);
    if (r >= 0) {
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
    const char *path = b ? char_path(b, uuid) : NULL;
    if (!path)
        return -ENOENT;
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
    const char *path = b ? char_path(b, uuid) : NULL;
    if (!path)
        return -ENOENT;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    int r = sd_bus_call_method(b->bus, BLUEZ, path, CHAR_IFACE, "StartNotify", &error, NULL, "");
    sd_bus_error_free(&error);
    return r < 0 ? -EIO : 0;
}

const char *bluez_name(struct transport *t)
{
    struct bluez *b = t->handle;
    return b ? b->name : "";
}

bool bluez_link_up(struct transport *t)
{
    struct bluez *b = t->handle;
    return b && b->link_up;
}

static int bluez_process(struct transport *t, const struct transport_sink *sink)
{
    struct bluez *b = t->handle;
    b->sink = sink;
    int r;
    while ((r = sd_bus_process(b->bus, NULL)) > 0)
        ;
    if (r < 0)
        return -ENODEV; /* the bus connection broke: reopen */
    if (b->rescan && !b->owner_gone) {
        b->rescan = false;
        char err[200];
        if (scan(b, err, sizeof(err)) < 0) {
            b->connected = b->resolved = false;
            report_link(b, err);
        } else {
            report_link(b, "connected");
        }
    }
    return 0;
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
    "bluez", bluez_open, bluez_close, bluez_read, bluez_write, bluez_flush, bluez_pollfd,
    bluez_process,
};
