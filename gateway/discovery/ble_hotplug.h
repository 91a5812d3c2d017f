/* Bluetooth hotplug: BlueZ devices exposing a service UUID from a plugin's ID
 * table (HAS, VCS, ASHA ...) are attached as bluez devices; the device id is
 * "<plugin>-<hash of the address>", so no Bluetooth address reaches a topic. */
#ifndef AGW_BLE_HOTPLUG_H
#define AGW_BLE_HOTPLUG_H
#include "loader.h"

struct ble_hotplug;

struct ble_match {
    const struct agw_plugin *plugin;
    char address[18];
    char id[65];
    char object_path[256];
};

typedef void (*ble_add_fn)(void *ctx, const struct ble_match *m);
typedef void (*ble_remove_fn)(void *ctx, const char *object_path);

/* NULL (logged) when there is no system bus or BlueZ: Bluetooth hotplug is then off. */
struct ble_hotplug *ble_hotplug_open(const struct plugin_set *plugins, ble_add_fn add,
                                     ble_remove_fn remove, void *ctx);
void ble_hotplug_close(struct ble_hotplug *h);
int ble_hotplug_fd(struct ble_hotplug *h);
/* What to poll the fd for, and in how many ms sd-bus wants to run even if nothing
 * arrives (a call's deadline; -1: none). */
short ble_hotplug_events(struct ble_hotplug *h);
long ble_hotplug_ms_until(struct ble_hotplug *h);
/* Handles what waits on the connection (call after polling, and once per loop);
 * never waits for BlueZ. */
void ble_hotplug_process(struct ble_hotplug *h);
/* The id a device with this address gets for this plugin (stable, address-free). */
void ble_device_id(const char *plugin_id, const char *address, char out[65]);
#endif
