/* Transports the host owns and lends to plugins: serial (termios), USB
 * (libusb, vendor bulk interface), hidraw and none.  Every
 * operation is blocking with a timeout and runs on the device's worker. */
#ifndef AGW_TRANSPORT_H
#define AGW_TRANSPORT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "accessgw/plugin.h"

struct transport;

/* Where event-driven transports (BlueZ) deliver what happened. */
struct transport_sink {
    void *ctx;
    void (*notify)(void *ctx, const char *uuid, const uint8_t *value, size_t len);
    void (*link)(void *ctx, bool up, const char *why);
};

struct transport_ops {
    /* 0, or -errno with a human reason in err */
    int (*open)(struct transport *t, const char *path, unsigned baud, char *err, size_t errlen);
    void (*close)(struct transport *t);
    /* bytes read, 0 on timeout, -ENODEV when the device is gone, -errno */
    ssize_t (*read)(struct transport *t, void *buf, size_t max, int timeout_ms);
    ssize_t (*write)(struct transport *t, const void *buf, size_t len);
    void (*flush_input)(struct transport *t);
    /* an fd that polls readable when input waits, or -1 (then read() is polled) */
    int (*pollfd)(struct transport *t);
    /* event-driven transports: handle what is waiting on pollfd; -ENODEV when lost */
    int (*process)(struct transport *t, const struct transport_sink *sink);
    /* Character devices: takes a node someone else opened (accessgwd, for a
     * sandboxed plugin host), as open() would have left it; NULL elsewhere. */
    int (*adopt)(struct transport *t, int fd, unsigned baud, char *err, size_t errlen);
    /* Transports with a link of their own (BlueZ; PC/SC: the card): whether it is
     * up now; NULL elsewhere. */
    bool (*link_up)(struct transport *t);
    /* After process() said -ENODEV: why, in words for the device's state (NULL: the
     * generic "stopped answering or was unplugged"). */
    const char *(*lost_reason)(struct transport *t);
    /* Nodes that must be claimed on the open file itself (evdev's grab): done by
     * whoever opens the node, accessgwd for a plugin host; NULL elsewhere. */
    int (*claim)(struct transport *t, char *err, size_t errlen);
};

struct transport {
    const struct transport_ops *ops;
    int fd;
    void *handle;   /* libusb_device_handle * */
    unsigned char ep_in, ep_out;
    int interface;
    size_t packet;  /* USB max packet size */
};

const struct transport_ops *transport_ops_for(enum agw_transport kind);

/* Character devices (serial ttys, hidraw): open O_NONBLOCK, poll+read with a
 * timeout, write everything; -ENODEV once the device is gone. */
int transport_fd_open(struct transport *t, const char *path, char *err, size_t errlen);
void transport_fd_close(struct transport *t);
ssize_t transport_fd_read(struct transport *t, void *buf, size_t max, int timeout_ms);
ssize_t transport_fd_write(struct transport *t, const void *buf, size_t len);
int transport_fd_pollfd(struct transport *t);
/* Once, from the main thread, before any worker starts; usb: libusb too. */
int transports_global_init(bool usb);
void transports_global_exit(void);

extern const struct transport_ops transport_none_ops, transport_serial_ops,
    transport_usb_ops, transport_hid_ops, transport_bluez_ops, transport_pcsc_ops,
    transport_evdev_ops;

/* BlueZ GATT access (transport_bluez.c) */
ssize_t bluez_gatt_read(struct transport *t, const char *uuid, uint8_t *buf, size_t max);
int bluez_gatt_write(struct transport *t, const char *uuid, const uint8_t *data, size_t len,
                     uint8_t *att_error);
int bluez_gatt_notify(struct transport *t, const char *uuid);
const char *bluez_name(struct transport *t);

/* Smart cards through pcscd (transport_pcsc.c): as struct agw_pcsc_ext says */
ssize_t pcsc_transmit(struct transport *t, const uint8_t *apdu, size_t len, uint8_t *answer,
                      size_t max);
ssize_t pcsc_atr(struct transport *t, uint8_t *buf, size_t max);
const char *pcsc_reader_name(struct transport *t);
#endif
