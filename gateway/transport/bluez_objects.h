/* Walking BlueZ's object tree (ObjectManager.GetManagedObjects) and reading
 * property dictionaries: shared by the BlueZ transport and Bluetooth hotplug. */
#ifndef AGW_BLUEZ_OBJECTS_H
#define AGW_BLUEZ_OBJECTS_H
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#define BLUEZ_NAME "org.bluez"
#define BLUEZ_DEVICE_IFACE "org.bluez.Device1"
#define BLUEZ_CHAR_IFACE "org.bluez.GattCharacteristic1"
#define BLUEZ_BATTERY_IFACE "org.bluez.Battery1"

/* The properties of one interface that callers care about. */
struct bluez_props {
    char address[18];
    char name[64];           /* Device1.Alias (what the user named it), else Name */
    char uuid[40];           /* GattCharacteristic1.UUID, lower case */
    char uuids[16][40];      /* Device1.UUIDs, lower case */
    size_t n_uuids;
    int connected, resolved; /* -1: not in the dictionary */
    int percentage;          /* Battery1.Percentage, -1: none */
};

/* Reads an a{sv} at the cursor into p (unknown entries skipped). */
int bluez_read_props(sd_bus_message *m, struct bluez_props *p);

typedef void (*bluez_object_fn)(void *ctx, const char *path, const char *iface,
                                const struct bluez_props *props);

/* Calls fn for every interface of every object in a GetManagedObjects reply; 0
 * or -errno with a reason in err. */
int bluez_read_objects(sd_bus_message *reply, bluez_object_fn fn, void *ctx, char *err,
                       size_t errlen);

/* The same, asking org.bluez and waiting for its answer: for a device's worker
 * thread, never for a loop that serves others. */
int bluez_walk_objects(sd_bus *bus, bluez_object_fn fn, void *ctx, char *err, size_t errlen);
#endif
