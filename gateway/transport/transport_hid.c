/* hidraw devices: one report per read(), one report per write().
 *
 * The node is opened directly rather than through hidapi: hidapi keeps its
 * file descriptor to itself, so a worker could only wait for a report by
 * polling hid_read_timeout() in slices (a verb to the device waited for the
 * slice, an idle device woke its thread 20 times a second).  The kernel's
 * hidraw interface is small and stable (Documentation/hid/hidraw.rst): a
 * pollable fd, read() returning one input report (its id first when the
 * device numbers its reports), write() taking one output report (id first,
 * 0 when unnumbered), POLLHUP/POLLERR and EIO once the device is gone. */
#include <unistd.h>

#include "transport.h"

static int hid_transport_open(struct transport *t, const char *path, unsigned baud, char *err,
                              size_t errlen)
{
    (void)baud;
    return transport_fd_open(t, path, err, errlen);
}

static int hid_transport_adopt(struct transport *t, int fd, unsigned baud, char *err,
                               size_t errlen)
{
    (void)baud, (void)err, (void)errlen;
    t->fd = fd;
    return 0;
}

static void hid_transport_flush(struct transport *t)
{
    unsigned char junk[256];
    while (read(t->fd, junk, sizeof(junk)) > 0)
        ;
}

const struct transport_ops transport_hid_ops = {
    .open = hid_transport_open, .close = transport_fd_close, .read = transport_fd_read,
    .write = transport_fd_write, .flush_input = hid_transport_flush,
    .pollfd = transport_fd_pollfd, .adopt = hid_transport_adopt,
};
