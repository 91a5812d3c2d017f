/* What a plugin host process gives up before it runs a plugin (docs/PROCESSES.md). */
#ifndef AGW_SANDBOX_H
#define AGW_SANDBOX_H
#include <stdbool.h>
#include <stddef.h>

struct sandbox_needs {
    const char *const *read; /* directories the plugin may read (its profiles) */
    size_t n_read;
    bool usb;   /* the plugin drives USB devices: libusb opens /dev/bus/usb itself */
    bool bluez; /* BlueZ devices: sd-bus connects to the system bus (AF_UNIX) */
    bool pcsc;  /* smart-card readers: libpcsclite connects to pcscd's socket (AF_UNIX) */
    bool sound; /* AGW_RESOURCE_SOUND: /dev/snd, ALSA's configuration, file PCMs' files */
};

/* Before any thread starts (Landlock binds only the threads started after it).
 * No new privileges; Landlock: files only where needs says (and the system's
 * libraries, sysfs and udev's database), nothing written; a seccomp
 * allow-list: no exec, no new processes, no network, no signals to others.
 * 0, or -1 after logging why. */
int sandbox_enter(const char *plugin_id, const struct sandbox_needs *needs);
#endif
