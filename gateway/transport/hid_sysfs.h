/* What udev and sysfs say about a hidraw node: its ids, its report
 * descriptor, its USB interface and product name (the HID extension's
 * answers, and what hotplug matches on). */
#ifndef AGW_HID_SYSFS_H
#define AGW_HID_SYSFS_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct udev_device;

/* A hidraw node's VID:PID (from HID_ID) and report descriptor (from sysfs).
 * Returns the descriptor length, or -errno. */
int hidraw_node_info(const char *devnode, uint16_t *vid, uint16_t *pid, uint8_t *desc, size_t max);
/* The USB interface number (-1 if none) and product name (HID_NAME) of a hidraw node. */
int hidraw_node_names(const char *devnode, int *interface, char *product, size_t len);
/* Of a udev "hid" device: its report descriptor (length or -errno), its VID:PID. */
ssize_t hid_read_descriptor(struct udev_device *hid, uint8_t *buf, size_t max);
int hid_parent_ids(struct udev_device *hid, uint16_t *vid, uint16_t *pid);
#endif
