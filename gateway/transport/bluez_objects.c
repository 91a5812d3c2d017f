#include "bluez_objects.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void lower_copy(char *dst, size_t len, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < len; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = '\0';
}

static int read_uuids(sd_bus_message *m, struct bluez_props *p)
{
    int r = sd_bus_message_enter_container(m, 'v', "as");
    if (r < 0 || (r = sd_bus_message_enter_container(m, 'a', "s")) < 0)
        return r;
    const char *u;
    while ((r = sd_bus_message_read(m, "s", &u)) > 0)
        if (p->n_uuids < sizeof(p->uuids) / sizeof(p->uuids[0]))
            lower_copy(p->uuids[p->n_uuids++], sizeof(p->uuids[0]), u);
    if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
        return r;
    return sd_bus_message_exit_container(m);
}

/* One property of the dictionary: the ones callers use are read, the rest skipped. */
static int read_prop(sd_bus_message *m, const char *name, struct bluez_props *p)
{
    const char *s;
    int b, r;
    uint8_t y;
    if (!strcmp(name, "Address")) {
        if ((r = sd_bus_message_read(m, "v", "s", &s)) >= 0)
            snprintf(p->address, sizeof(p->address), "%s", s);
    } else if (!strcmp(name, "Alias")) { /* BlueZ always has one: the Name, or the address */
        if ((r = sd_bus_message_read(m, "v", "s", &s)) >= 0)
            snprintf(p->name, sizeof(p->name), "%s", s);
    } else if (!strcmp(name, "Name")) {
        if ((r = sd_bus_message_read(m, "v", "s", &s)) >= 0 && !p->name[0])
            snprintf(p->name, sizeof(p->name), "%s", s);
    } else if (!strcmp(name, "UUID")) {
        if ((r = sd_bus_message_read(m, "v", "s", &s)) >= 0)
            lower_copy(p->uuid, sizeof(p->uuid), s);
    } else if (!strcmp(name, "UUIDs")) {
        r = read_uuids(m, p);
    } else if (!strcmp(name, "Connected") || !strcmp(name, "ServicesResolved")) {
        if ((r = sd_bus_message_read(m, "v", "b", &b)) >= 0)
            *(name[0] == 'C' ? &p->connected : &p->resolved) = b;
    } else if (!strcmp(name, "Percentage")) {
        if ((r = sd_bus_message_read(m, "v", "y", &y)) >= 0)
            p->percentage = y;
    } else {
        r = sd_bus_message_skip(m, "v");
    }
    return r;
}

int bluez_read_props(sd_bus_message *m, struct bluez_props *p)
{
    memset(p, 0, sizeof(*p));
    p->connected = p->resolved = p->percentage = -1;
    int r = sd_bus_message_enter_container(m, 'a', "{sv}");
    if (r < 0)
        return r;
    while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
        const char *name;
        if ((r = sd_bus_message_read(m, "s", &name)) < 0 || (r = read_prop(m, name, p)) < 0 ||
            (r = sd_bus_message_exit_container(m)) < 0)
            return r;
    }
    return r < 0 ? r : sd_bus_message_exit_container(m);
}

static int walk_object(sd_bus_message *m, bluez_object_fn fn, void *ctx)
{
    const char *path;
    int r = sd_bus_message_read(m, "o", &path);
    if (r < 0 || (r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}")) < 0)
        return r;
    while ((r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
        const char *iface;
        struct bluez_props props;
        if ((r = sd_bus_message_read(m, "s", &iface)) < 0 || (r = bluez_read_props(m, &props)) < 0)
            return r;
        fn(ctx, path, iface, &props);
        if ((r = sd_bus_message_exit_container(m)) < 0)
            return r;
    }
    return r < 0 ? r : sd_bus_message_exit_container(m);
}

int bluez_read_objects(sd_bus_message *reply, bluez_object_fn fn, void *ctx, char *err,
                       size_t errlen)
{
    int r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
    while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0)
        if ((r = walk_object(reply, fn, ctx)) < 0 || (r = sd_bus_message_exit_container(reply)) < 0)
            break;
    if (r < 0)
        snprintf(err, errlen, "unreadable answer from BlueZ: %s", strerror(-r));
    return r < 0 ? r : 0;
}

int bluez_walk_objects(sd_bus *bus, bluez_object_fn fn, void *ctx, char *err, size_t errlen)
{
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    int r = sd_bus_call_method(bus, BLUEZ_NAME, "/", "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &error, &reply, "");
    if (r < 0) {
        snprintf(err, errlen, "BlueZ does not answer: %s", error.message ? error.message : strerror(-r));
        sd_bus_error_free(&error);
        return r;
    }
    r = bluez_read_objects(reply, fn, ctx, err, errlen);
    sd_bus_message_unref(reply);
    return r;
}
