/* Plugins built for ABI 1.x run unchanged: their descriptor is read once, at
 * load, into the 2.0 form every other part of the host reads, and the two
 * callbacks whose signature changed in 2.0 go through the trampolines below.
 * The cost is this file and the flat table in host_api.c, so the shim stays
 * (docs/PLUGINS.md, "ABI 1.x"). */
#include "abi1.h"

#include <stdio.h>
#include <stdlib.h>

#include "device_internal.h"

/* The 2.0 descriptor first: the host holds a pointer to it and finds the
 * plugin's own 1.x descriptor behind it. */
struct imported {
    struct agw_plugin desc;
    const struct agw1_plugin *v1;
};

#define V1_HAS(p, field) \
    ((p)->struct_size >= offsetof(struct agw1_plugin, field) + sizeof((p)->field) && (p)->field)

static const struct agw1_plugin *v1_of(struct agw_device *d)
{
    return ((const struct imported *)((struct device *)d)->plugin)->v1;
}

static int open_v1(struct agw_device *d)
{
    return v1_of(d)->open(d, &host_api_v1);
}

/* 1.x plugins ask host->command_target() during the call instead. */
static int command_v1(struct agw_device *d, const char *target, const char *verb, json_t *args,
                      json_t **result)
{
    struct device *dev = (struct device *)d;
    dev->command_target = target;
    int status = v1_of(d)->command(d, verb, args, result);
    dev->command_target = NULL;
    return status;
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
        .open = p->open ? open_v1 : NULL,
        .close = p->close,
        .on_input = p->on_input,
        .on_timer = p->on_timer,
        .removed = p->removed,
        .command = p->command ? command_v1 : NULL,
        .on_notify = V1_HAS(p, on_notify) ? p->on_notify : NULL,
        .on_link = V1_HAS(p, on_link) ? p->on_link : NULL,
    };
    return &im->desc;
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
