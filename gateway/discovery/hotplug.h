/* Hotplug through udev: a monitor created before the first enumeration (so
 * nothing plugged in between is missed), and matching of udev devices
 * against the plugins' ID tables. */
#ifndef AGW_HOTPLUG_H
#define AGW_HOTPLUG_H
#include <stdbool.h>
#include <stddef.h>

#include "accessgw/plugin.h"
#include "loader.h"

struct udev_device;

struct hotplug_match {
    const struct agw_plugin *plugin;
    enum agw_transport transport;
    char devnode[256];
    char syspath[512];
    char id[65]; /* "<plugin>-<serial or port>": stable across re-plug in one port */
};

struct hotplug;
typedef void (*hotplug_add_fn)(void *ctx, const struct hotplug_match *m);
typedef void (*hotplug_remove_fn)(void *ctx, const char *syspath);

struct hotplug *hotplug_open(hotplug_add_fn add, hotplug_remove_fn remove, void *ctx);
void hotplug_close(struct hotplug *h);
int hotplug_fd(struct hotplug *h);
/* Reports every present device that a plugin claims. */
void hotplug_enumerate(struct hotplug *h, const struct plugin_set *plugins);
/* Reads one pending uevent from the monitor. */
void hotplug_dispatch(struct hotplug *h, const struct plugin_set *plugins);

/* A name as it may stand in a device id: lower case; letters, digits, - . _ kept, any
 * other character '-'. */
void hotplug_sanitize(char *out, size_t len, const char *in);

/* Which plugin row claims a device with these properties (NULL: none).
 * plugin_hint: the ACCESSGW_PLUGIN property set by opt-in udev rules. */
const struct agw_id *hotplug_match_row(const struct agw_plugin *p, enum agw_bus bus, unsigned vid,
                                       unsigned pid, unsigned usage_page, const char *plugin_hint);
#endif
