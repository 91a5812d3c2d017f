/* The devices a process runs, in the order they came, found by id: accessgwd's
 * registry (every device, wherever it runs) and a plugin host's (its plugin's). */
#ifndef AGW_DEVICE_TABLE_H
#define AGW_DEVICE_TABLE_H
#include <stdbool.h>
#include <stddef.h>

#include "device.h"
#include "idmap.h"

struct device_table {
    struct device **items;
    size_t n;
    struct idmap by_id; /* ids are unique in a table, retiring devices' too */
};

/* False (the table unchanged) when out of memory or the id is taken. */
bool device_table_add(struct device_table *t, struct device *dev);
/* Takes dev out (the order of the rest kept); it is not freed. */
void device_table_remove(struct device_table *t, struct device *dev);
/* The device with this id, retiring ones included; NULL: none. */
struct device *device_table_find(const struct device_table *t, const char *id);
/* The hang watch over every device: true when one was newly found hung. */
bool device_table_check_hung(struct device_table *t, unsigned limit_ms);
/* Frees the table, not the devices. */
void device_table_free(struct device_table *t);
#endif
