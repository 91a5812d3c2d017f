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
    default: return NULL;
    }
}

int usb_global_init(void);
void usb_global_exit(void);

int transports_global_init(bool usb) { return usb ? usb_global_init() : 0; }
void transports_global_exit(void) { usb_global_exit(); }

/* ---- character devices (ttys, hidraw): the helpers both share ---- */

int transport_fd_open(struct transport *t, const char *path, char *err, size_t errlen)
{
    t->fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (t->fd >= 0)
        return 0;
    int e = errno;
    snprintf(err, errlen, "%s: %s%s", path, strerror(e),
             e == EACCES ? " (is the service user in the accessgw group? see udev/)" : "");
    return -e;
}

void transport_fd_close(struct transport *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

/* A device that went away says so in several ways; all become -ENODEV. */
static ssize_t gone_or_errno(int e)
{
    return (e == EIO || e == ENXIO || e == ENODEV || e == EBADF) ? -ENODEV : -e;
}

ssize_t transport_fd_read(struct transport *t, void *buf, size_t max, int timeout_ms)
{
    struct pollfd p = {.fd = t->fd, .events = POLLIN};
    int r = poll(&p, 1, timeout_ms);
    if (r < 0)
        return errno == EINTR ? 0 : -errno;
    if (r == 0)
        return 0;
    ssize_t n = read(t->fd, buf, max);
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n == 0 || (p.revents & (POLLHUP | POLLERR)))
        return -ENODEV; /* hung up: a USB device pulled, or a pty master closed */
    return gone_or_errno(errno);
}

ssize_t transport_fd_write(struct transport *t, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(t->fd, p, left);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd pf = {.fd = t->fd, .events = POLLOUT};
            if (poll(&pf, 1, 1000) == 0)
                return -ETIMEDOUT;
            continue;
        }
        if (n < 0)
            return gone_or_errno(errno);
        p += n;
        left -= (size_t)n;
    }
    return (ssize_t)len;
}

int transport_fd_pollfd(struct transport *t) { return t->fd; }
