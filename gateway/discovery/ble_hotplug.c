#include "ble_hotplug.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "bluez_objects.h"
#include "log.h"

/* How long org.bluez has to answer a walk of its objects.  The loop never waits for
 * it: the call is asynchronous, and this only bounds how long it stays in flight. */
#define BLUEZ_ANSWER_USEC (5ULL * 1000 * 1000)

struct ble_hotplug {
    sd_bus *bus;
    const struct plugin_set *plugins;
    ble_add_fn add;
    ble_remove_fn remove;
    void *ctx;
    bool rescan;
    sd_bus_slot *walk;   /* the GetManagedObjects in flight, or NULL */
    bool unavailable_said; /* the log said why Bluetooth is unavailable, once per spell */
};

void ble_device_id(const char *plugin_id, const char *address, char out[65])
{
    uint32_t h = 2166136261u; /* FNV-1a: stable across restarts, not reversible at a glance */
    for (const char *c = address; *c; c++)
        h = (h ^ (uint8_t)(*c >= 'a' && *c <= 'f' ? *c - 32 : *c)) * 16777619u;
    snprintf(out, 65, "%.48s-%08x", plugin_id, h);
}

static const struct agw_plugin *claimer(const struct plugin_set *plugins, const struct bluez_props *p)
{
    for (size_t i = 0; i < plugins->n; i++)
        for (const struct agw_id *r = plugins->items[i].desc->ids; r && r->bus != AGW_BUS_END; r++)
            if (r->bus == AGW_BUS_BLE && r->ble_uuid)
                for (size_t k = 0; k < p->n_uuids; k++)
                    if (!strcasecmp(p->uuids[k], r->ble_uuid))
                        return plugins->items[i].desc;
    return NULL;
}

static void consider(void *ctx, const char *path, const char *iface, const struct bluez_props *p)
{
    struct ble_hotplug *h = ctx;
    if (strcmp(iface, BLUEZ_DEVICE_IFACE) || !p->address[0])
        return;
    const struct agw_plugin *plugin = claimer(h->plugins, p);
    if (!plugin)
        return;
    struct ble_match m = {.plugin = plugin};
    snprintf(m.address, sizeof(m.address), "%s", p->address);
    snprintf(m.object_path, sizeof(m.object_path), "%s", path);
    ble_device_id(plugin->id, p->address, m.id);
    h->add(h->ctx, &m);
}

static int on_added(sd_bus_message *m, void *userdata, sd_bus_error *ret)
{
    (void)m, (void)ret;
    ((struct ble_hotplug *)userdata)->rescan = true; /* the add callback ignores duplicates */
    return 0;
}

static int on_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret)
{
    (void)ret;
    struct ble_hotplug *h = userdata;
    const char *path;
    if (sd_bus_message_read(m, "o", &path) < 0 || sd_bus_message_enter_container(m, 'a', "s") < 0)
        return 0;
    const char *iface;
    while (sd_bus_message_read(m, "s", &iface) > 0)
        if (!strcmp(iface, BLUEZ_DEVICE_IFACE))
            h->remove(h->ctx, path);
    return 0;
}

static int on_properties(sd_bus_message *m, void *userdata, sd_bus_error *ret)
{
    (void)ret;
    const char *iface;
    if (sd_bus_message_read(m, "s", &iface) >= 0 && !strcmp(iface, BLUEZ_DEVICE_IFACE))
        ((struct ble_hotplug *)userdata)->rescan = true; /* UUIDs may have appeared */
    return 0;
}

static int on_owner(sd_bus_message *m, void *userdata, sd_bus_error *ret)
{
    (void)ret;
    const char *name, *old_owner, *new_owner;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) >= 0 &&
        !strcmp(name, BLUEZ_NAME) && *new_owner)
        ((struct ble_hotplug *)userdata)->rescan = true;
    return 0;
}

struct ble_hotplug *ble_hotplug_open(const struct plugin_set *plugins, ble_add_fn add,
                                     ble_remove_fn remove, void *ctx)
{
    bool wanted = false;
    for (size_t i = 0; i < plugins->n; i++)
        for (const struct agw_id *r = plugins->items[i].desc->ids; r && r->bus != AGW_BUS_END; r++)
            wanted |= r->bus == AGW_BUS_BLE;
    if (!wanted)
        return NULL;
    struct ble_hotplug *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    *h = (struct ble_hotplug){.plugins = plugins, .add = add, .remove = remove, .ctx = ctx,
                              .rescan = true};
    /* Matches are added without waiting for the bus's answer, like every call here:
     * a D-Bus that is slow to answer must not hold the loop. */
    int r = sd_bus_open_system(&h->bus);
    if (r >= 0)
        r = sd_bus_match_signal_async(h->bus, NULL, BLUEZ_NAME, "/",
                                      "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
                                      on_added, NULL, h);
    if (r >= 0)
        r = sd_bus_match_signal_async(h->bus, NULL, BLUEZ_NAME, "/",
                                      "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
                                      on_removed, NULL, h);
    if (r >= 0)
        r = sd_bus_match_signal_async(h->bus, NULL, BLUEZ_NAME, NULL,
                                      "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                      on_properties, NULL, h);
    if (r >= 0)
        r = sd_bus_match_signal_async(h->bus, NULL, "org.freedesktop.DBus",
                                      "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                      "NameOwnerChanged", on_owner, NULL, h);
    if (r < 0) {
        log_notice("Bluetooth hotplug off: system bus: %s", strerror(-r));
        ble_hotplug_close(h);
        return NULL;
    }
    return h;
}

void ble_hotplug_close(struct ble_hotplug *h)
{
    if (!h)
        return;
    sd_bus_slot_unref(h->walk);
    if (h->bus)
        sd_bus_flush_close_unref(h->bus);
    free(h);
}

int ble_hotplug_fd(struct ble_hotplug *h) { return sd_bus_get_fd(h->bus); }

short ble_hotplug_events(struct ble_hotplug *h)
{
    int e = sd_bus_get_events(h->bus);
    return (short)(e < 0 ? POLLIN : e);
}

long ble_hotplug_ms_until(struct ble_hotplug *h)
{
    uint64_t at;
    if (sd_bus_get_timeout(h->bus, &at) < 0 || at == UINT64_MAX)
        return -1;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t now_usec = (uint64_t)now.tv_sec * 1000000ULL + (uint64_t)now.tv_nsec / 1000;
    return at <= now_usec ? 0 : (long)((at - now_usec + 999) / 1000);
}

/* Said once when BlueZ cannot be asked (not running, not answering in time, a bus
 * that refuses), and again only after it answered once more. */
static void say_unavailable(struct ble_hotplug *h, const sd_bus_error *e)
{
    if (h->unavailable_said)
        return;
    h->unavailable_said = true;
    bool absent = sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
                  sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER);
    bool silent = sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY) ||
                  sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT);
    log_notice("Bluetooth unavailable: %s (%s); hotplug waits for org.bluez to appear",
               absent   ? "bluetoothd is not running"
               : silent ? "org.bluez did not answer within 5 s"
                        : "org.bluez cannot be asked",
               e->message ? e->message : e->name ? e->name : "no reason given");
}

static int on_objects(sd_bus_message *reply, void *userdata, sd_bus_error *ret)
{
    (void)ret;
    struct ble_hotplug *h = userdata;
    h->walk = sd_bus_slot_unref(h->walk);
    if (sd_bus_message_is_method_error(reply, NULL)) {
        say_unavailable(h, sd_bus_message_get_error(reply));
        return 0;
    }
    if (h->unavailable_said)
        log_notice("Bluetooth available again: org.bluez answered");
    h->unavailable_said = false;
    char err[200];
    if (bluez_read_objects(reply, consider, h, err, sizeof(err)) < 0)
        log_warn("Bluetooth hotplug: %s", err);
    return 0;
}

/* Never starts bluetoothd: D-Bus activation of org.bluez on a PC whose
 * bluetooth.service is skipped (no adapter) waits for the bus's own timeout, 25 s.
 * Its arrival is seen in NameOwnerChanged instead. */
static void start_walk(struct ble_hotplug *h)
{
    sd_bus_message *call = NULL;
    int r = sd_bus_message_new_method_call(h->bus, &call, BLUEZ_NAME, "/",
                                           "org.freedesktop.DBus.ObjectManager",
                                           "GetManagedObjects");
    if (r >= 0)
        r = sd_bus_message_set_auto_start(call, 0);
    if (r >= 0)
        r = sd_bus_call_async(h->bus, &h->walk, call, on_objects, h, BLUEZ_ANSWER_USEC);
    sd_bus_message_unref(call);
    if (r < 0) {
        sd_bus_error e = SD_BUS_ERROR_MAKE_CONST(SD_BUS_ERROR_FAILED, strerror(-r));
        say_unavailable(h, &e);
    }
}

/* Dispatches what the connection holds (sd-bus may have read more than one
 * message from the socket), then asks BlueZ for its objects when something may
 * have changed and no walk is in flight. */
void ble_hotplug_process(struct ble_hotplug *h)
{
    while (sd_bus_process(h->bus, NULL) > 0)
        ;
    if (h->rescan && !h->walk) {
        h->rescan = false;
        start_walk(h);
    }
}
