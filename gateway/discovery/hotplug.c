#include "hotplug.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hid.h"
#include "hid_sysfs.h"
#include "log.h"

struct hotplug {
    struct udev *udev;
    struct udev_monitor *mon;
    hotplug_add_fn add;
    hotplug_remove_fn remove;
    void *ctx;
};

static const char *const subsystems[] = {"usb", "hidraw", "tty", "input"};

struct hotplug *hotplug_open(hotplug_add_fn add, hotplug_remove_fn remove, void *ctx)
{
    struct hotplug *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->add = add;
    h->remove = remove;
    h->ctx = ctx;
    h->udev = udev_new();
    if (h->udev)
        h->mon = udev_monitor_new_from_netlink(h->udev, "udev");
    if (!h->mon) {
        log_warn("hotplug: no udev monitor; only [device] sections will be used");
        hotplug_close(h);
        return NULL;
    }
    for (size_t i = 0; i < sizeof(subsystems) / sizeof(subsystems[0]); i++)
        udev_monitor_filter_add_match_subsystem_devtype(h->mon, subsystems[i], NULL);
    if (udev_monitor_enable_receiving(h->mon) < 0) {
        log_warn("hotplug: cannot listen to udev; only [device] sections will be used");
        hotplug_close(h);
        return NULL;
    }
    return h;
}

void hotplug_close(struct hotplug *h)
{
    if (!h)
        return;
    if (h->mon)
        udev_monitor_unref(h->mon);
    if (h->udev)
        udev_unref(h->udev);
    free(h);
}

int hotplug_fd(struct hotplug *h) { return udev_monitor_get_fd(h->mon); }

const struct agw_id *hotplug_match_row(const struct agw_plugin *p, enum agw_bus bus, unsigned vid,
                                       unsigned pid, unsigned usage_page, const char *plugin_hint)
{
    bool hinted = plugin_hint && strcmp(plugin_hint, p->id) == 0;
    for (const struct agw_id *r = p->ids; r && r->bus != AGW_BUS_END; r++) {
        if (r->bus != bus || r->vid != vid || r->pid != pid)
            continue;
        if (r->usage_page && r->usage_page != usage_page)
            continue;
        /* Generic USB-serial bridges are everyone's: only an installer's opt-in rule claims one. */
        if ((r->flags & AGW_ID_GENERIC_BRIDGE) && !hinted)
            continue;
        return r;
    }
    return NULL;
}

static unsigned hex_attr(struct udev_device *d, const char *name)
{
    const char *v = d ? udev_device_get_sysattr_value(d, name) : NULL;
    return v ? (unsigned)strtoul(v, NULL, 16) : 0;
}


static unsigned first_usage_page(struct udev_device *hid)
{
    uint8_t d[4096];
    ssize_t n = hid_read_descriptor(hid, d, sizeof(d));
    return n > 0 ? hid_first_usage_page(d, (size_t)n) : 0;
}

void hotplug_sanitize(char *out, size_t len, const char *in)
{
    size_t j = 0;
    for (; *in && j + 1 < len; in++)
        out[j++] = (isalnum((unsigned char)*in) || *in == '-' || *in == '.' || *in == '_')
                       ? (char)tolower((unsigned char)*in)
                       : '-';
    out[j] = '\0';
}

/* "<plugin>-<usb serial>" when the device has one, else "<plugin>-<usb port>",
 * so the id survives a re-plug into the same port. */
static void stable_id(struct hotplug_match *m, struct udev_device *usb, struct udev_device *dev)
{
    const char *serial = usb ? udev_device_get_sysattr_value(usb, "serial") : NULL;
    const char *port = usb ? udev_device_get_sysname(usb) : udev_device_get_sysname(dev);
    char tail[48];
    hotplug_sanitize(tail, sizeof(tail), serial && *serial ? serial : port);
    snprintf(m->id, sizeof(m->id), "%s-%s", m->plugin->id, tail);
}

static bool classify(struct udev_device *dev, enum agw_bus *bus, unsigned *vid, unsigned *pid,
                     unsigned *usage_page, struct udev_device **usb_out)
{
    const char *subsystem = udev_device_get_subsystem(dev);
    struct udev_device *usb = udev_device_get_parent_with_subsystem_devtype(dev, "usb", "usb_device");
    *usage_page = 0;
    *usb_out = usb;
    if (!subsystem)
        return false;
    if (strcmp(subsystem, "usb") == 0) {
        const char *devtype = udev_device_get_devtype(dev);
        if (!devtype || strcmp(devtype, "usb_device") != 0)
            return false;
        *usb_out = dev;
        *bus = AGW_BUS_USB;
        *vid = hex_attr(dev, "idVendor");
        *pid = hex_attr(dev, "idProduct");
        return true;
    }
    if (strcmp(subsystem, "hidraw") == 0) {
        struct udev_device *hid = udev_device_get_parent_with_subsystem_devtype(dev, "hid", NULL);
        uint16_t v, p;
        if (hid_parent_ids(hid, &v, &p) < 0)
            return false;
        *vid = v;
        *pid = p;
        *bus = AGW_BUS_HID;
        *usage_page = first_usage_page(hid);
        return true;
    }
    /* event nodes only (not the inputN parent, nor the legacy mouseN/jsN) */
    const char *sysname = udev_device_get_sysname(dev);
    if (strcmp(subsystem, "input") == 0 && usb && sysname && strncmp(sysname, "event", 5) == 0) {
        *bus = AGW_BUS_INPUT;
        *vid = hex_attr(usb, "idVendor");
        *pid = hex_attr(usb, "idProduct");
        return true;
    }
    if (strcmp(subsystem, "tty") == 0 && usb) {
        *bus = AGW_BUS_SERIAL;
        *vid = hex_attr(usb, "idVendor");
        *pid = hex_attr(usb, "idProduct");
        return true;
    }
    return false;
}

static const enum agw_transport transport_of_bus[] = {
    [AGW_BUS_USB] = AGW_TRANSPORT_USB, [AGW_BUS_HID] = AGW_TRANSPORT_HIDRAW,
    [AGW_BUS_SERIAL] = AGW_TRANSPORT_SERIAL, [AGW_BUS_BLE] = AGW_TRANSPORT_BLUEZ,
    [AGW_BUS_PCSC] = AGW_TRANSPORT_PCSC,     [AGW_BUS_INPUT] = AGW_TRANSPORT_EVDEV,
};

static void consider(struct hotplug *h, struct udev_device *dev, const struct plugin_set *plugins)
{
    const char *devnode = udev_device_get_devnode(dev);
    enum agw_bus bus;
    unsigned vid = 0, pid = 0, usage_page = 0;
    struct udev_device *usb = NULL;
    if (!devnode || !classify(dev, &bus, &vid, &pid, &usage_page, &usb))
        return;
    const char *hint = udev_device_get_property_value(dev, "ACCESSGW_PLUGIN");
    for (size_t i = 0; i < plugins->n; i++) {
        const struct agw_plugin *p = plugins->items[i].desc;
        const struct agw_id *row = hotplug_match_row(p, bus, vid, pid, usage_page, hint);
        if (!row)
            continue;
        struct hotplug_match m = {.plugin = p, .transport = transport_of_bus[bus]};
        snprintf(m.devnode, sizeof(m.devnode), "%s", devnode);
        snprintf(m.syspath, sizeof(m.syspath), "%s", udev_device_get_syspath(dev));
        stable_id(&m, usb, dev);
        log_debug("hotplug: %s %04x:%04x claimed by %s", devnode, vid, pid, p->id);
        h->add(h->ctx, &m);
        return;
    }
}

void hotplug_enumerate(struct hotplug *h, const struct plugin_set *plugins)
{
    struct udev_enumerate *e = udev_enumerate_new(h->udev);
    if (!e)
        return;
    for (size_t i = 0; i < sizeof(subsystems) / sizeof(subsystems[0]); i++)
        udev_enumerate_add_match_subsystem(e, subsystems[i]);
    udev_enumerate_scan_devices(e);
    struct udev_list_entry *entry;
    udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(e))
    {
        struct udev_device *dev =
            udev_device_new_from_syspath(h->udev, udev_list_entry_get_name(entry));
        if (dev) {
            consider(h, dev, plugins);
            udev_device_unref(dev);
        }
    }
    udev_enumerate_unref(e);
}

void hotplug_dispatch(struct hotplug *h, const struct plugin_set *plugins)
{
    struct udev_device *dev = udev_monitor_receive_device(h->mon);
    if (!dev)
        return;
    const char *action = udev_device_get_action(dev);
    if (action && strcmp(action, "add") == 0)
        consider(h, dev, plugins);
    else if (action && strcmp(action, "remove") == 0)
        h->remove(h->ctx, udev_device_get_syspath(dev));
    udev_device_unref(dev);
}
