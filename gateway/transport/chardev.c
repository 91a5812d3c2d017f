/* Character devices (ttys, hidraw): what the serial and hidraw transports share. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "transport.h"

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
