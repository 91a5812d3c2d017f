/* Serial ports through termios, at any baud rate (termios2 for odd ones). */
#include <errno.h>
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

static int serial_adopt(struct transport *t, int fd, unsigned baud, char *err, size_t errlen)
{
    t->fd = fd;
    if (serial_configure(t->fd, baud ? baud : 9600, err, errlen) < 0) {
        transport_fd_close(t);
        return -EINVAL;
    }
    /* Keep a second program from interleaving bytes on the same port. */
    ioctl(t->fd, TIOCEXCL);
    tcflush(t->fd, TCIOFLUSH);
    return 0;
}

static int serial_open(struct transport *t, const char *path, unsigned baud, char *err,
                       size_t errlen)
{
    int r = transport_fd_open(t, path, err, errlen);
    return r < 0 ? r : serial_adopt(t, t->fd, baud, err, errlen);
}

static void serial_flush(struct transport *t) { tcflush(t->fd, TCIFLUSH); }

const struct transport_ops transport_serial_ops = {
    .open = serial_open, .close = transport_fd_close, .read = transport_fd_read,
    .write = transport_fd_write, .flush_input = serial_flush, .pollfd = transport_fd_pollfd,
    .adopt = serial_adopt,
};
