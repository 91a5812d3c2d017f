/* Transports the host owns and lends to plugins: serial (termios), USB
 * (libusb, vendor bulk interface), hidraw (hidapi) and none.  Every
 * operation is blocking with a timeout and runs on the device's worker. */
#ifndef AGW_TRANSPORT_H
#define AGW_TRANSPORT_H
#include <stddef.h>
#include <sys/types.h>

#include "accessgw/plugin.h"

struct transport;

struct transport_ops {
    const char *name;
    /* 0, or -errno with a human reason in err */
    int (*open)(struct transport *t, const char *path, unsigned baud, char *err, size_t errlen);
    void (*close)(struct transport *t);
    /* bytes read, 0 on timeout, -ENODEV when the device is gone, -errno */
    ssize_t (*read)(struct transport *t, void *buf, size_t max, int timeout_ms);
    ssize_t (*write)(struct transport *t, const void *buf, size_t len);
    void (*flush_input)(struct transport *t);
    /* an fd that polls readable when input waits, or -1 (then read() is polled) */
    int (*pollfd)(struct transport *t);
};

struct transport {
    const struct transport_ops *ops;
    int fd;
    void *handle;   /* hid_device * or libusb_device_handle * */
    unsigned char ep_in, ep_out;
    int interface;
    size_t packet;  /* USB max packet size */
};

const struct transport_ops *transport_ops_for(enum agw_transport kind);
/* Once, from the main thread, before any worker starts. */
int transports_global_init(void);
void transports_global_exit(void);

extern const struct transport_ops transport_none_ops, transport_serial_ops,
    transport_usb_ops, transport_hid_ops;
#endif
