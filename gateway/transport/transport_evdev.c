/* Input devices (keyboard-wedge code scanners): /dev/input/eventN, grabbed.
 *
 * EVIOCGRAB (drivers/input/evdev.c) makes this open file the only one the
 * kernel delivers the device's events to, so a scan never types into the
 * console or a desktop.  A grab belongs to the open file, not the process:
 * when accessgwd opens the node for a sandboxed plugin host it grabs it there
 * (claim) and hands the grabbed file over.  read() gives whole struct
 * input_events; the plugin decodes them. */
#include <errno.h>
#include <linux/input.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "transport.h"

static int evdev_claim(struct transport *t, char *err, size_t errlen)
{
    if (ioctl(t->fd, EVIOCGRAB, 1) == 0)
        return 0;
    int e = errno;
    snprintf(err, errlen, "cannot grab the input device (EVIOCGRAB: %s%s)", strerror(e),
             e == EBUSY ? "; another program holds it" : "");
    return -e;
}

static int evdev_open(struct transport *t, const char *path, unsigned baud, char *err,
                      size_t errlen)
{
    (void)baud;
    int r = transport_fd_open(t, path, err, errlen);
    if (r == 0 && (r = evdev_claim(t, err, errlen)) < 0)
        transport_fd_close(t);
    return r;
}

static int evdev_adopt(struct transport *t, int fd, unsigned baud, char *err, size_t errlen)
{
    (void)baud, (void)err, (void)errlen;
    t->fd = fd; /* grabbed by accessgwd before it was handed over */
    return 0;
}

static ssize_t evdev_write(struct transport *t, const void *buf, size_t len)
{
    (void)t, (void)buf, (void)len;
    return -ENOTSUP; /* nothing is typed back into a scanner */
}

static void evdev_flush(struct transport *t)
{
    struct input_event junk[16];
    while (read(t->fd, junk, sizeof(junk)) > 0)
        ;
}

const struct transport_ops transport_evdev_ops = {
    .open = evdev_open, .close = transport_fd_close, .read = transport_fd_read,
    .write = evdev_write, .flush_input = evdev_flush, .pollfd = transport_fd_pollfd,
    .adopt = evdev_adopt, .claim = evdev_claim,
};
