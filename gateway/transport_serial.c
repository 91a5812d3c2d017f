/* Serial ports through termios, at any baud rate (termios2 for odd ones). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "transport.h"

int serial_set_custom_baud(int fd, unsigned baud); /* serial_baud.c */

static speed_t standard_speed(unsigned baud)
{
    static const struct { unsigned baud; speed_t speed; } table[] = {
        {1200, B1200},     {2400, B2400},     {4800, B4800},     {9600, B9600},
        {19200, B19200},   {38400, B38400},   {57600, B57600},   {115200, B115200},
        {230400, B230400}, {460800, B460800}, {921600, B921600},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].baud == baud)
            return table[i].speed;
    return 0;
}

static int serial_configure(int fd, unsigned baud, char *err, size_t errlen)
{
    struct termios tio;
    if (tcgetattr(fd, &tio) < 0) {
        snprintf(err, errlen, "not a serial port: %s", strerror(errno));
        return -1;
    }
    cfmakeraw(&tio); /* 8N1, no echo, no flow control */
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cflag &= ~(CRTSCTS | CSTOPB | PARENB);
    tio.c_cc[VMIN] = 0;
    tio.c_cc[VTIME] = 0;
    speed_t sp = standard_speed(baud);
    if (sp) {
        cfsetispeed(&tio, sp);
        cfsetospeed(&tio, sp);
    }
    if (tcsetattr(fd, TCSANOW, &tio) < 0) {
        snprintf(err, errlen, "cannot configure the port: %s", strerror(errno));
        return -1;
    }
    if (!sp && serial_set_custom_baud(fd, baud) < 0) {
        snprintf(err, errlen, "cannot set %u baud: %s", baud, strerror(errno));
        return -1;
    }
    return 0;
}

static int serial_open(struct transport *t, const char *path, unsigned baud, char *err,
                       size_t errlen)
{
    t->fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (t->fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s%s", path, strerror(e),
                 e == EACCES ? " (is the service user in the accessgw group? see udev/)" : "");
        return -e;
    }
    if (serial_configure(t->fd, baud ? baud : 9600, err, errlen) < 0) {
        close(t->fd);
        t->fd = -1;
        return -EINVAL;
    }
    /* Keep a second program from interleaving bytes on the same port. */
    ioctl(t->fd, TIOCEXCL);
    tcflush(t->fd, TCIOFLUSH);
    return 0;
}

static void serial_close(struct transport *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

static ssize_t gone_or_errno(int e)
{
    return (e == EIO || e == ENXIO || e == ENODEV || e == EBADF) ? -ENODEV : -e;
}

static ssize_t serial_read(struct transport *t, void *buf, size_t max, int timeout_ms)
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
    if (n == 0 || (p.revents & (POLLHUP | POLLERR)))
        return -ENODEV; /* hung up: a USB adapter pulled, or the pty master closed */
    return (errno == EAGAIN || errno == EINTR) ? 0 : gone_or_errno(errno);
}

static ssize_t serial_write(struct transport *t, const void *buf, size_t len)
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

static void serial_flush(struct transport *t) { tcflush(t->fd, TCIFLUSH); }
static int serial_pollfd(struct transport *t) { return t->fd; }

const struct transport_ops transport_serial_ops = {
    "serial", serial_open, serial_close, serial_read, serial_write, serial_flush, serial_pollfd, NULL,
};
