/* hidraw devices through hidapi: reports in, reports out. */
#include <errno.h>
#include <hidapi/hidapi.h>
#include <stdio.h>
#include <string.h>

#include "transport.h"

static int hid_transport_open(struct transport *t, const char *path, unsigned baud, char *err,
                              size_t errlen)
{
    (void)baud;
    hid_device *h = hid_open_path(path);
    if (!h) {
        int e = errno ? errno : ENODEV;
        snprintf(err, errlen, "%s: cannot open with hidapi: %s%s", path, strerror(e),
                 e == EACCES ? " (is the service user in the accessgw group? see udev/)" : "");
        return -e;
    }
    hid_set_nonblocking(h, 0);
    t->handle = h;
    t->fd = -1;
    return 0;
}

static void hid_transport_close(struct transport *t)
{
    if (t->handle)
        hid_close(t->handle);
    t->handle = NULL;
}

static ssize_t hid_transport_read(struct transport *t, void *buf, size_t max, int timeout_ms)
{
    int n = hid_read_timeout(t->handle, buf, max, timeout_ms);
    return n < 0 ? -ENODEV : n;
}

static ssize_t hid_transport_write(struct transport *t, const void *buf, size_t len)
{
    int n = hid_write(t->handle, buf, len);
    return n < 0 ? -EIO : n;
}

static void hid_transport_flush(struct transport *t)
{
    unsigned char junk[256];
    while (hid_read_timeout(t->handle, junk, sizeof(junk), 0) > 0)
        ;
}

static int hid_transport_pollfd(struct transport *t)
{
    (void)t;
    return -1; /* hidapi hides its fd: the worker polls read() with a short timeout */
}

const struct transport_ops transport_hid_ops = {
    "hidraw", hid_transport_open, hid_transport_close, hid_transport_read,
    hid_transport_write, hid_transport_flush, hid_transport_pollfd, NULL,
};
