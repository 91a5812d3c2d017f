#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int none_open(struct transport *t, const char *path, unsigned baud, char *err, size_t len)
{
    (void)path, (void)baud, (void)err, (void)len;
    t->fd = -1;
    return 0;
}
static void none_close(struct transport *t) { (void)t; }
static ssize_t none_read(struct transport *t, void *buf, size_t max, int timeout_ms)
{
    (void)t, (void)buf, (void)max, (void)timeout_ms;
    return -ENOTSUP;
}
static ssize_t none_write(struct transport *t, const void *buf, size_t len)
{
    (void)t, (void)buf, (void)len;
    return -ENOTSUP;
}
static void none_flush(struct transport *t) { (void)t; }
static int none_pollfd(struct transport *t)
{
    (void)t;
    return -1;
}

const struct transport_ops transport_none_ops = {
    .open = none_open, .close = none_close, .read = none_read, .write = none_write,
    .flush_input = none_flush, .pollfd = none_pollfd,
};

const struct transport_ops *transport_ops_for(enum agw_transport kind)
{
    switch (kind) {
    case AGW_TRANSPORT_NONE: return &transport_none_ops;
    case AGW_TRANSPORT_SERIAL: return &transport_serial_ops;
    case AGW_TRANSPORT_USB: return &transport_usb_ops;
    case AGW_TRANSPORT_HIDRAW: return &transport_hid_ops;
    case AGW_TRANSPORT_BLUEZ: return &transport_bluez_ops;
    case AGW_TRANSPORT_PCSC: return &transport_pcsc_ops;
    case AGW_TRANSPORT_EVDEV: return &transport_evdev_ops;
    default: return NULL;
    }
}

int usb_global_init(void);
void usb_global_exit(void);

int transports_global_init(bool usb) { return usb ? usb_global_init() : 0; }
void transports_global_exit(void) { usb_global_exit(); }

