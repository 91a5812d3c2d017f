#include "table.h"

#include <stdlib.h>
#include <string.h>

bool device_table_add(struct device_table *t, struct device *dev)
{
    if (idmap_get(&t->by_id, dev->id))
        return false;
    struct device **grown = realloc(t->items, (t->n + 1) * sizeof(*grown));
    if (!grown)
        return false;
    t->items = grown;
    if (!idmap_put(&t->by_id, dev->id, dev))
        return false;
    t->items[t->n++] = dev;
    return true;
}

void device_table_remove(struct device_table *t, struct device *dev)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->items[i] == dev) {
            memmove(&t->items[i], &t->items[i + 1], (t->n - i - 1) * sizeof(*t->items));
            t->n--;
            break;
        }
    idmap_remove(&t->by_id, dev->id, dev);
}

struct device *device_table_find(const struct device_table *t, const char *id)
{
    return idmap_get(&t->by_id, id);
}

bool device_table_check_hung(struct device_table *t, unsigned limit_ms)
{
    bool any = false;
    for (size_t i = 0; i < t->n; i++)
        any |= device_check_hung(t->items[i], limit_ms);
    return any;
}

void device_table_free(struct device_table *t)
{
    free(t->items);
    idmap_free(&t->by_id);
    *t = (struct device_table){0};
}
