/* The device table: devices from the config and from hotplug, started and
 * stopped through the runner.  Main loop only. */
#define _GNU_SOURCE
#include "daemon.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "log.h"
#include "monotonic.h"
#include "state.h"

/* ---- the device registry ---- */

static struct device *find_device(struct gateway *g, const char *id, bool include_retiring)
{
    struct device *dev = device_table_find(&g->devices, id);
    return dev && (include_retiring || !dev->retiring) ? dev : NULL;
}

/* The device with this id, or the parent of the child with this id. */
struct device *find_target(struct gateway *g, const char *id)
{
    struct device *dev = find_device(g, id, false);
    for (size_t i = 0; !dev && i < g->devices.n; i++)
        if (!g->devices.items[i]->retiring && device_has_child(g->devices.items[i], id))
            dev = g->devices.items[i];
    return dev;
}

json_t *device_description(const struct device *dev)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "plugin", dev->plugin->id, "class",
                          dev->plugin->device_class, "transport", transport_name(dev->transport_kind),
                          "hotplug", dev->syspath != NULL);
    /* a Bluetooth address identifies a visitor's hearing aid: never published */
    if (dev->path && dev->transport_kind != AGW_TRANSPORT_BLUEZ)
        json_object_set_new(o, "path", json_string(dev->path));
    if (dev->location)
        json_object_set_new(o, "location", json_string(dev->location));
    return o;
}

static void add_device(struct gateway *g, const struct device_params *p)
{
    struct device *dev = device_new(p, &g->outbox);
    if (!dev || !device_table_add(&g->devices, dev)) {
        log_err("device %s: out of memory", p->id);
        device_free(dev);
        return;
    }
    log_lifecycle(6, "device %s attached (plugin %s, %s%s%s)", dev->id, dev->plugin->id,
             transport_name(dev->transport_kind), dev->path ? " " : "", dev->path ? dev->path : "");
    publish_device_event(g, dev->id, "attached", device_description(dev));
    g->runner.ops->attach(&g->runner, dev);
}

void retire_device(struct gateway *g, struct device *dev, bool removed)
{
    if (dev->retiring)
        return;
    g->runner.ops->detach(&g->runner, dev, removed);
}

void forget_device(struct gateway *g, struct device *dev)
{
    device_table_remove(&g->devices, dev);
    device_free(dev);
}

static void start_static_device(struct gateway *g, const struct device_conf *dc)
{
    const struct agw_plugin *p = plugin_set_find(&g->plugins, dc->plugin);
    if (!p)
        return; /* config_check_plugins refused this config already */
    struct device_setting *settings = calloc(dc->section->n_entries + 1, sizeof(*settings));
    char (*lines)[4200] = calloc(dc->section->n_entries + 1, sizeof(*lines));
    if (!settings || !lines) {
        free(settings);
        free(lines);
        return;
    }
    for (size_t i = 0; i < dc->section->n_entries; i++) { /* errors name FILE:LINE */
        snprintf(lines[i], sizeof(lines[i]), "%.4000s:%d", g->conf.path,
                 dc->section->entries[i].line);
        settings[i] = (struct device_setting){dc->section->entries[i].key,
                                              dc->section->entries[i].value, lines[i]};
    }
    /* a Bluetooth device is found by its address, a smart-card reader by its name */
    const char *where = dc->transport == AGW_TRANSPORT_BLUEZ ? dc->address
                      : dc->transport == AGW_TRANSPORT_PCSC  ? dc->reader
                                                             : dc->path;
    struct device_params params = {dc->name, p, dc->transport, where, dc->baud, dc->location,
                                   NULL, settings, dc->section->n_entries, NULL};
    add_device(g, &params);
    free(settings);
    free(lines);
}

static bool device_matches_conf(const struct device *dev, const struct device_conf *dc)
{
    if (dev->n_settings != dc->section->n_entries)
        return false;
    for (size_t i = 0; i < dev->n_settings; i++) {
        const struct ini_entry *e = ini_find(dc->section, dev->settings[i].key);
        if (!e || strcmp(e->value, dev->settings[i].value) != 0)
            return false;
    }
    return true;
}

/* Brings the running [device] sections in line with the config: stops the
 * removed and changed ones, starts what is configured and not running.  A
 * changed device restarts only once its old worker has let go of the port. */
void reconcile(struct gateway *g)
{
    for (size_t i = 0; i < g->devices.n; i++) {
        struct device *dev = g->devices.items[i];
        if (dev->syspath || dev->retiring)
            continue;
        const struct device_conf *dc = config_find_device(&g->conf, dev->id);
        if (!dc || !device_matches_conf(dev, dc)) {
            log_lifecycle(6, "device %s: %s; stopping it", dev->id,
                     dc ? "its section changed" : "its section is gone");
            retire_device(g, dev, false);
        }
    }
    for (size_t i = 0; i < g->conf.n_devices; i++)
        if (!find_device(g, g->conf.devices[i].name, true))
            start_static_device(g, &g->conf.devices[i]);
}

/* Same device node, however it is named (a /dev/serial/by-id link, say). */
static bool same_node(const char *a, const struct stat *b)
{
    struct stat st;
    if (stat(a, &st) < 0)
        return false;
    if (S_ISCHR(st.st_mode) && S_ISCHR(b->st_mode))
        return st.st_rdev == b->st_rdev;
    return st.st_dev == b->st_dev && st.st_ino == b->st_ino;
}

static bool claimed_by_config(struct gateway *g, const char *devnode)
{
    struct stat node;
    bool have_node = stat(devnode, &node) == 0;
    for (size_t i = 0; i < g->conf.n_devices; i++) {
        const char *path = g->conf.devices[i].path;
        if (path && (strcmp(path, devnode) == 0 || (have_node && same_node(path, &node))))
            return true;
    }
    return false;
}

void on_hotplug_add(void *ctx, const struct hotplug_match *m)
{
    struct gateway *g = ctx;
    for (size_t i = 0; i < g->devices.n; i++)
        if (g->devices.items[i]->syspath && strcmp(g->devices.items[i]->syspath, m->syspath) == 0 &&
            !g->devices.items[i]->retiring)
            return; /* a duplicate add event */
    if (claimed_by_config(g, m->devnode)) {
        log_info("hotplug: %s is declared in a [device] section; not claimed twice", m->devnode);
        return;
    }
    char id[DEVICE_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", m->id);
    for (int n = 2; find_device(g, id, true) && n < 100; n++)
        snprintf(id, sizeof(id), "%.58s-%d", m->id, n);
    struct device_params p = {id, m->plugin, m->transport, m->devnode, 0, NULL, m->syspath, NULL, 0, NULL};
    add_device(g, &p);
}

static bool address_configured(struct gateway *g, const char *address)
{
    for (size_t i = 0; i < g->conf.n_devices; i++)
        if (g->conf.devices[i].address && !strcasecmp(g->conf.devices[i].address, address))
            return true;
    return false;
}

void on_ble_add(void *ctx, const struct ble_match *m)
{
    struct gateway *g = ctx;
    for (size_t i = 0; i < g->devices.n; i++)
        if (g->devices.items[i]->syspath && !strcmp(g->devices.items[i]->syspath, m->object_path) && !g->devices.items[i]->retiring)
            return; /* already attached */
    if (address_configured(g, m->address) || find_device(g, m->id, true))
        return;
    log_info("Bluetooth hotplug: %s claimed by %s", m->id, m->plugin->id);
    struct device_params p = {m->id, m->plugin, AGW_TRANSPORT_BLUEZ, m->address, 0, NULL,
                              m->object_path, NULL, 0, NULL};
    add_device(g, &p);
}

void on_pcsc_add(void *ctx, const struct pcsc_match *m)
{
    struct gateway *g = ctx;
    char id[DEVICE_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", m->id);
    for (int n = 2; find_device(g, id, true) && n < 100; n++)
        snprintf(id, sizeof(id), "%.58s-%d", m->id, n);
    struct device_params p = {id, m->plugin, AGW_TRANSPORT_PCSC, m->reader, 0, NULL, m->key,
                              NULL, 0, NULL};
    add_device(g, &p);
}

void on_hotplug_remove(void *ctx, const char *syspath)
{
    struct gateway *g = ctx;
    for (size_t i = 0; i < g->devices.n; i++)
        if (g->devices.items[i]->syspath && strcmp(g->devices.items[i]->syspath, syspath) == 0 &&
            !g->devices.items[i]->retiring) {
            log_info("device %s unplugged", g->devices.items[i]->id);
            retire_device(g, g->devices.items[i], true);
        }
}

/* ---- for the runner: the devices, retiring ones too ---- */

struct device *registry_find(void *ctx, const char *id)
{
    return find_device(ctx, id, true);
}

struct device **registry(void *ctx, size_t *n)
{
    struct gateway *g = ctx;
    *n = g->devices.n;
    return g->devices.items;
}
