/* A map from a name (a device id) to a pointer, for lookups on the event path:
 * accessgwd checked each event a plugin host sent by comparing its device id
 * with every device's (perf, bench/scale.py: a third of accessgwd's CPU with
 * 1,000 devices).  Open addressing, linear probing; keys are borrowed (they
 * must live until removed).  One thread: the caller's. */
#ifndef AGW_IDMAP_H
#define AGW_IDMAP_H
#include <stdbool.h>
#include <stddef.h>

struct idmap_slot {
    const char *key; /* NULL: never used; a marker of idmap.c: removed */
    void *value;
};

struct idmap {
    struct idmap_slot *slots;
    size_t cap, used; /* used counts removed slots too, until the next rebuild */
};

/* Puts or replaces; false only when out of memory (the map is unchanged). */
bool idmap_put(struct idmap *m, const char *key, void *value);
void *idmap_get(const struct idmap *m, const char *key);
/* Removes the key if it maps to value (a newer entry under the same key stays). */
void idmap_remove(struct idmap *m, const char *key, const void *value);
void idmap_free(struct idmap *m);
#endif
