#include "idmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A removed slot: probing goes on past it, a put may reuse it. */
static const char gone_marker;
#define GONE (&gone_marker)

/* FNV-1a: ids are short and chosen by people, nothing hostile to defend against. */
static size_t hash_of(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *c = (const unsigned char *)key; *c; c++)
        h = (h ^ *c) * 1099511628211ULL;
    return (size_t)h;
}

static struct idmap_slot *slot_of(const struct idmap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = hash_of(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct idmap_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != GONE && strcmp(s->key, key) == 0)
            return s;
    }
}

/* Rebuilt without the removed slots, at most half full: a map whose devices
 * come and go (hotplug) stays the size of what it holds. */
static bool rebuild(struct idmap *m)
{
    size_t live = 0;
    for (size_t i = 0; i < m->cap; i++)
        live += m->slots[i].key && m->slots[i].key != GONE;
    size_t cap = 16;
    while (2 * (live + 1) > cap)
        cap *= 2;
    struct idmap_slot *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return false;
    for (size_t i = 0; i < m->cap; i++) {
        const struct idmap_slot *s = &m->slots[i];
        if (!s->key || s->key == GONE)
            continue;
        size_t j = hash_of(s->key) & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = live;
    return true;
}

bool idmap_put(struct idmap *m, const char *key, void *value)
{
    struct idmap_slot *s = slot_of(m, key);
    if (s) {
        s->key = key;
        s->value = value;
        return true;
    }
    /* at most 3/4 full, removed slots counted: a probe always ends at an empty slot */
    if (4 * (m->used + 1) > 3 * m->cap && !rebuild(m))
        return false;
    size_t i = hash_of(key) & (m->cap - 1);
    while (m->slots[i].key && m->slots[i].key != GONE)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].key)
        m->used++;
    m->slots[i] = (struct idmap_slot){key, value};
    return true;
}

void *idmap_get(const struct idmap *m, const char *key)
{
    const struct idmap_slot *s = slot_of(m, key);
    return s ? s->value : NULL;
}

void idmap_remove(struct idmap *m, const char *key, const void *value)
{
    struct idmap_slot *s = slot_of(m, key);
    if (s && s->value == value)
        *s = (struct idmap_slot){GONE, NULL};
}

void idmap_free(struct idmap *m)
{
    free(m->slots);
    *m = (struct idmap){0};
}
