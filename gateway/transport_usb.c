/* USB devices with a vendor-specific bulk interface, through libusb.  The
 * device node is opened by path and wrapped, so a udev-found device and a
 * configured path take the same route. */
#include <errno.h>
#include <fcntl.h>
#include <libusb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "transport.h"

static libusb_context *usb_ctx;

int usb_global_init(void);
void usb_global_exit(void);

int usb_global_init(void)
{
    /* Device nodes come from udev or the config, never from libusb's own scan. */
    libusb_set_option(NULL, LIBUSB_OPTION_NO_DEVICE_DISCOVERY);
    int r = libusb_init(&usb_ctx);
    if (r < 0) {
        log_err("libusb_init: %s", libusb_strerror(r));
        return -1;
    }
    return 0;
}

void usb_global_exit(void)
{
    if (usb_ctx)
        libusb_exit(usb_ctx);
    usb_ctx = NULL;
}

static int errno_of(int r)
{
    switch (r) {
    case LIBUSB_ERROR_NO_DEVICE: return ENODEV;
    case LIBUSB_ERROR_ACCESS: return EACCES;
    case LIBUSB_ERROR_BUSY: return EBUSY;
    case LIBUSB_ERROR_TIMEOUT: return ETIMEDOUT;
    case LIBUSB_ERROR_PIPE: return EPIPE;
    case LIBUSB_ERROR_NOT_FOUND: return ENOENT;
    case LIBUSB_ERROR_NO_MEM: return ENOMEM;
    default: return EIO;
    }
}

/* Prefers a vendor-class (0xFF) interface; takes its first bulk IN and OUT. */
static int find_bulk_interface(struct transport *t, const struct libusb_config_descriptor *cfg)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < cfg->bNumInterfaces; i++) {
            const struct libusb_interface_descriptor *alt = &cfg->interface[i].altsetting[0];
            if (pass == 0 && alt->bInterfaceClass != LIBUSB_CLASS_VENDOR_SPEC)
                continue;
            unsigned char in = 0, out = 0;
            size_t packet = 64;
            for (int e = 0; e < alt->bNumEndpoints; e++) {
                const struct libusb_endpoint_descriptor *ep = &alt->endpoint[e];
                if ((ep->bmAttributes & 3) != LIBUSB_TRANSFER_TYPE_BULK)
                    continue;
                if (ep->bEndpointAddress & LIBUSB_ENDPOINT_IN) {
                    if (!in) {
                        in = ep->bEndpointAddress;
                        packet = ep->wMaxPacketSize ? ep->wMaxPacketSize : 64;
                    }
                } else if (!out) {
                    out = ep->bEndpointAddress;
                }
            }
            if (in && out) {
                t->interface = alt->bInterfaceNumber;
                t->ep_in = in;
                t->ep_out = out;
                t->packet = packet;
                return 0;
            }
        }
    return -1;
}

static int usb_open(struct transport *t, const char *path, unsigned baud, char *err, size_t errlen)
{
    (void)baud;
    t->fd = open(path, O_RDWR | O_CLOEXEC);
    if (t->fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s%s", path, strerror(e),
                 e == EACCES ? " (is the service user in the accessgw group? see udev/)" : "");
        return -e;
    }
    libusb_device_handle *h = NULL;
    int r = libusb_wrap_sys_device(usb_ctx, (intptr_t)t->fd, &h);
    struct libusb_config_descriptor *cfg = NULL;
    if (r == 0)
        r = libusb_get_active_config_descriptor(libusb_get_device(h), &cfg);
    if (r == 0 && find_bulk_interface(t, cfg) < 0) {
        snprintf(err, errlen, "%s: no interface with bulk IN and OUT endpoints", path);
        r = LIBUSB_ERROR_NOT_FOUND;
    } else if (r < 0) {
        snprintf(err, errlen, "%s: %s", path, libusb_strerror(r));
    }
    if (cfg)
        libusb_free_config_descriptor(cfg);
    if (r == 0) {
        libusb_set_auto_detach_kernel_driver(h, 1);
        r = libusb_claim_interface(h, t->interface);
        if (r < 0)
            snprintf(err, errlen, "%s: cannot claim interface %d: %s", path, t->interface,
                     libusb_strerror(r));
    }
    if (r < 0) {
        if (h)
            libusb_close(h);
        close(t->fd);
        t->fd = -1;
        return -errno_of(r);
    }
    t->handle = h;
    return 0;
}

static void usb_close(struct transport *t)
{
    if (t->handle) {
        libusb_release_interface(t->handle, t->interface);
        libusb_close(t->handle);
    }
    t->handle = NULL;
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

static ssize_t usb_read(struct transport *t, void *buf, size_t max, int timeout_ms)
{
    if (max < t->packet)
        return -EINVAL; /* a short buffer would overflow on a full packet */
    int got = 0;
    int r = libusb_bulk_transfer(t->handle, t->ep_in, buf, (int)t->packet, &got,
                                 timeout_ms > 0 ? (unsigned)timeout_ms : 1);
    if (r == LIBUSB_ERROR_PIPE) {
        libusb_clear_halt(t->handle, t->ep_in);
        return -EPIPE;
    }
    if (r == LIBUSB_ERROR_TIMEOUT)
        return got;
    return r < 0 ? -errno_of(r) : got;
}

static ssize_t usb_write(struct transport *t, const void *buf, size_t len)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int done = 0;
        int r = libusb_bulk_transfer(t->handle, t->ep_out, (unsigned char *)buf, (int)len, &done,
                                     1000);
        if (r == LIBUSB_ERROR_PIPE) {
            libusb_clear_halt(t->handle, t->ep_out); /* a stall: clear it, try once more */
            continue;
        }
        if (r < 0)
            return -errno_of(r);
        return done;
    }
    return -EPIPE;
}

static void usb_flush(struct transport *t) { (void)t; }
static int usb_pollfd(struct transport *t)
{
    (void)t;
    return -1;
}

const struct transport_ops transport_usb_ops = {
    "usb", usb_open, usb_close, usb_read, usb_write, usb_flush, usb_pollfd,
};
