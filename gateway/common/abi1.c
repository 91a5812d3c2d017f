/* Plugins built for ABI 1.x run unchanged: their descriptor is read once, at
 * load, into the 2.0 form every other part of the host reads, and the two
 * callbacks whose signature changed in 2.0 go through the trampolines of
 * device/abi1_calls.c.  The cost is these files and the flat table in
 * device/host_api.c, so the shim stays
 * (docs/PLUGINS.md, "ABI 1.x"). */
#include "abi1.h"

#include <stdio.h>
#include <stdlib.h>

#include <errno.h>

/* The 2.0 descriptor first: the host holds a pointer to it and finds the
 * plugin's own 1.x descriptor behind it. */
struct imported {
    struct agw_plugin desc;
    const struct agw1_plugin *v1;
};

#define V1_HAS(p, field) \
    ((p)->struct_size >= offsetof(struct agw1_plugin, field) + sizeof((p)->field) && (p)->field)

static const struct abi1_calls *device_calls;
void abi1_use_calls(const struct abi1_calls *calls) { device_calls = calls; }

/* Without the device layer's calls (accessgwctl reads descriptors only): the
 * descriptor keeps its shape, and running it says why it cannot. */
static int cannot_open_here(struct agw_device *d)
{
    (void)d;
    return -ENOTSUP;
}

static int cannot_command_here(struct agw_device *d, const char *target, const char *verb,
                               json_t *args, json_t **result)
{
    (void)d, (void)target, (void)verb, (void)args, (void)result;
    return AGW_CMD_UNSUPPORTED;
}

static bool reserved_are_null(const struct agw1_plugin *p)
{
    for (size_t i = 0; i < sizeof(p->reserved) / sizeof(p->reserved[0]); i++)
        if (p->reserved[i])
            return false;
    return true;
}

const struct agw_plugin *abi1_import(const void *descriptor, char *why, size_t whylen)
{
    const struct agw1_plugin *p = descriptor;
    if (!reserved_are_null(p)) {
        snprintf(why, whylen, "reserved fields are not NULL (built against a newer SDK?)");
        return NULL;
    }
    struct imported *im = calloc(1, sizeof(*im));
    if (!im) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    im->v1 = p;
    im->desc = (struct agw_plugin){
        .magic = p->magic,
        .abi_major = p->abi_major,
        .abi_minor = p->abi_minor,
        .struct_size = sizeof(struct agw_plugin),
        .id = p->id,
        .device_class = p->device_class,
        .version = p->version,
        .description = p->description,
        .ids = p->ids,
        .config_keys = p->config_keys,
        .personal = p->personal,
        .transports = p->transports,
        .verbs = V1_HAS(p, verbs) ? p->verbs : NULL,
        .open = !p->open ? NULL : device_calls ? device_calls->open : cannot_open_here,
        .close = p->close,
        .on_input = p->on_input,
        .on_timer = p->on_timer,
        .removed = p->removed,
        .command = !p->command ? NULL : device_calls ? device_calls->command : cannot_command_here,
        .on_notify = V1_HAS(p, on_notify) ? p->on_notify : NULL,
        .on_link = V1_HAS(p, on_link) ? p->on_link : NULL,
    };
    return &im->desc;
}

const struct agw1_plugin *abi1_original(const struct agw_plugin *imported)
{
    return ((const struct imported *)imported)->v1;
}

bool abi1_is_imported(const struct agw_plugin *p)
{
    return p && p->abi_major == AGW1_ABI_MAJOR;
}

void abi1_free(const struct agw_plugin *imported)
{
    if (abi1_is_imported(imported))
        free((struct imported *)imported);
}
