/* USB devices with a vendor-specific bulk interface, through libusb.  A
 * device is named by its node, /dev/bus/usb/BUS/ADDRESS, whether udev found
 * it or the config names it. */
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

/* /dev/bus/usb/BBB/DDD -> the libusb device with that bus number and address. */
static libusb_device *find_by_path(const char *path)
{
    unsigned bus, addr;
    if (sscanf(path, "/dev/bus/usb/%u/%u", &bus, &addr) != 2)
        return NULL;
    libusb_device **list, *found = NULL;
    ssize_t n = libusb_get_device_list(usb_ctx, &list);
    for (ssize_t i = 0; i < n && !found; i++)
        if (libusb_get_bus_number(list[i]) == bus && libusb_get_device_address(list[i]) == addr)
            found = libusb_ref_device(list[i]);
    if (n >= 0)
        libusb_free_device_list(list, 1);
    return found;
}

static int usb_open(struct transport *t, const char *path, unsigned baud, char *err, size_t errlen)
{
    (void)baud;
    t->fd = -1;
    if (!usb_ctx) {
        snprintf(err, errlen, "%s: USB is not set up in this process", path);
        return -ENOTSUP;
    }
    libusb_device *dev = find_by_path(path);
    if (!dev) {
        snprintf(err, errlen, "%s: no such USB device (expected /dev/bus/usb/BUS/ADDRESS)", path);
        return -ENODEV;
    }
    libusb_device_handle *h = NULL;
    struct libusb_config_descriptor *cfg = NULL;
    int r = libusb_open(dev, &h);
    if (r == 0)
        r = libusb_get_active_config_descriptor(dev, &cfg);
    libusb_unref_device(dev);
    if (r == 0 && find_bulk_interface(t, cfg) < 0) {
        snprintf(err, errlen, "%s: no interface with bulk IN and OUT endpoints", path);
        r = LIBUSB_ERROR_NOT_FOUND;
    } else if (r < 0) {
        snprintf(err, errlen, "%s: %s%s", path, libusb_strerror(r),
                 r == LIBUSB_ERROR_ACCESS ? " (is the service user in the accessgw group? see udev/)"
                                          : "");
    }
    if (cfg)
        libusb_free_config_descriptor(cfg);
    if (r == 0) {
        /* A kernel driver bound to the vendor interface (rare) is detached first. */
        if (libusb_kernel_driver_active(h, t->interface) == 1)
            libusb_detach_kernel_driver(h, t->interface);
        r = libusb_claim_interface(h, t->interface);
        if (r < 0)
            snprintf(err, errlen, "%s: cannot claim interface %d: %s", path, t->interface,
                     libusb_strerror(r));
    }
    if (r < 0) {
        if (h)
            libusb_close(h);
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
    .open = usb_open, .close = usb_close, .read = usb_read, .write = usb_write,
    .flush_input = usb_flush, .pollfd = usb_pollfd,
};
