#define _GNU_SOURCE
#include "hid_sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ssize_t hid_read_descriptor(struct udev_device *hid, uint8_t *buf, size_t max)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/report_descriptor", udev_device_get_syspath(hid));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, max);
    int e = errno;
    close(fd);
    return n < 0 ? -e : n;
}

int hid_parent_ids(struct udev_device *hid, uint16_t *vid, uint16_t *pid)
{
    const char *hid_id = hid ? udev_device_get_property_value(hid, "HID_ID") : NULL;
    unsigned bus, v, p;
    if (!hid_id || sscanf(hid_id, "%x:%x:%x", &bus, &v, &p) != 3)
        return -ENOENT;
    *vid = (uint16_t)v;
    *pid = (uint16_t)p;
    return 0;
}

/* Calls fn on the hidraw device whose node is devnode; returns fn's result or -ENODEV. */
static int with_hidraw(const char *devnode, int (*fn)(struct udev_device *d, void *ctx), void *ctx)
{
    struct udev *udev = udev_new();
    if (!udev)
        return -ENOMEM;
    /* found by enumeration, which works the same under a real udev and umockdev */
    struct udev_enumerate *e = udev_enumerate_new(udev);
    udev_enumerate_add_match_subsystem(e, "hidraw");
    udev_enumerate_scan_devices(e);
    int rc = -ENODEV;
    struct udev_list_entry *entry;
    udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(e))
    {
        struct udev_device *d = udev_device_new_from_syspath(udev, udev_list_entry_get_name(entry));
        const char *node = d ? udev_device_get_devnode(d) : NULL;
        if (node && strcmp(node, devnode) == 0)
            rc = fn(d, ctx);
        if (d)
            udev_device_unref(d);
        if (rc != -ENODEV)
            break;
    }
    udev_enumerate_unref(e);
    udev_unref(udev);
    return rc;
}

struct hid_info_ctx {
    uint16_t *vid, *pid;
    uint8_t *desc;
    size_t max;
    int *interface;
    char *product;
    size_t len;
};

static int take_info(struct udev_device *d, void *ctx)
{
    struct hid_info_ctx *c = ctx;
    struct udev_device *hid = udev_device_get_parent_with_subsystem_devtype(d, "hid", NULL);
    int rc = hid_parent_ids(hid, c->vid, c->pid);
    return rc == 0 ? (int)hid_read_descriptor(hid, c->desc, c->max) : rc;
}

static int take_names(struct udev_device *d, void *ctx)
{
    struct hid_info_ctx *c = ctx;
    struct udev_device *hid = udev_device_get_parent_with_subsystem_devtype(d, "hid", NULL);
    struct udev_device *intf = udev_device_get_parent_with_subsystem_devtype(d, "usb", "usb_interface");
    const char *name = hid ? udev_device_get_property_value(hid, "HID_NAME") : NULL;
    const char *num = intf ? udev_device_get_sysattr_value(intf, "bInterfaceNumber") : NULL;
    *c->interface = num ? (int)strtol(num, NULL, 16) : -1;
    snprintf(c->product, c->len, "%s", name ? name : "");
    return 0;
}

int hidraw_node_info(const char *devnode, uint16_t *vid, uint16_t *pid, uint8_t *desc, size_t max)
{
    struct hid_info_ctx c = {vid, pid, desc, max, NULL, NULL, 0};
    return with_hidraw(devnode, take_info, &c);
}

int hidraw_node_names(const char *devnode, int *interface, char *product, size_t len)
{
    struct hid_info_ctx c = {NULL, NULL, NULL, 0, interface, product, len};
    return with_hidraw(devnode, take_names, &c);
}
