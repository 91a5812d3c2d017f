#include "ble_hotplug.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "bluez_objects.h"
#include "log.h"

struct ble_hotplug {
    sd_bus *bus;
    const struct plugin_set *plugins;
    ble_add_fn add;
    ble_remove_fn remove;
    void *ctx;
    bool rescan;
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
    *h = (struct ble_hotplug){NULL, plugins, add, remove, ctx, true};
    int r = sd_bus_open_system(&h->bus);
    if (r >= 0)
        r = sd_bus_match_signal(h->bus, NULL, BLUEZ_NAME, "/", "org.freedesktop.DBus.ObjectManager",
                                "InterfacesAdded", on_added, h);
    if (r >= 0)
        r = sd_bus_match_signal(h->bus, NULL, BLUEZ_NAME, "/", "org.freedesktop.DBus.ObjectManager",
                                "InterfacesRemoved", on_removed, h);
    if (r >= 0)
        r = sd_bus_match_signal(h->bus, NULL, BLUEZ_NAME, NULL, "org.freedesktop.DBus.Properties",
                                "PropertiesChanged", on_properties, h);
    if (r >= 0)
        r = sd_bus_match_signal(h->bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "NameOwnerChanged", on_owner, h);
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
    if (h->bus)
        sd_bus_flush_close_unref(h->bus);
    free(h);
}

int ble_hotplug_fd(struct ble_hotplug *h) { return sd_bus_get_fd(h->bus); }

/* Signals that arrive during the walk's synchronous call wait in sd-bus's
 * queue, not in the socket: dispatch again until nothing is left. */
void ble_hotplug_process(struct ble_hotplug *h)
{
    for (;;) {
        while (sd_bus_process(h->bus, NULL) > 0)
            ;
        if (!h->rescan)
            return;
        h->rescan = false;
        char err[200];
        if (bluez_walk_objects(h->bus, consider, h, err, sizeof(err)) < 0)
            log_debug("Bluetooth hotplug: %s", err);
    }
}
