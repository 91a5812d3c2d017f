/* Kept apart: <asm/termbits.h> (termios2) cannot share a file with <termios.h>. */
#include <asm/termbits.h>
#include <sys/ioctl.h>

int serial_set_custom_baud(int fd, unsigned baud);

int serial_set_custom_baud(int fd, unsigned baud)
{
    struct termios2 tio;
    if (ioctl(fd, TCGETS2, &tio) < 0)
        return -1;
    tio.c_cflag &= ~CBAUD;
    tio.c_cflag |= BOTHER;
    tio.c_ispeed = baud;
    tio.c_ospeed = baud;
    return ioctl(fd, TCSETS2, &tio);
}
