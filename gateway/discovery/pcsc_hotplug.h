/* Smart-card reader hotplug: readers pcscd reports, followed in a thread of
 * their own (SCardGetStatusChange blocks), are attached to the plugins whose
 * ID table has an AGW_BUS_PCSC row — except the readers a [device] section
 * names with `reader`.  The main loop learns of changes through a pipe. */
#ifndef AGW_PCSC_HOTPLUG_H
#define AGW_PCSC_HOTPLUG_H
#include "loader.h"

struct pcsc_hotplug;

struct pcsc_match {
    const struct agw_plugin *plugin;
    char reader[256];
    char key[270]; /* "pcsc:<reader>": what identifies it when it goes */
    char id[65];   /* "<plugin>-<reader's name>", as hotplug_sanitize writes names */
};

typedef void (*pcsc_add_fn)(void *ctx, const struct pcsc_match *m);
typedef void (*pcsc_remove_fn)(void *ctx, const char *key);

/* NULL when no plugin takes readers by hotplug.  configured: the `reader`
 * values of the [device] sections (NULL-terminated). */
struct pcsc_hotplug *pcsc_hotplug_open(const struct plugin_set *plugins,
                                       const char *const *configured, pcsc_add_fn add,
                                       pcsc_remove_fn remove, void *ctx);
int pcsc_hotplug_fd(const struct pcsc_hotplug *h);
/* SIGHUP, before the new [device] sections start: the readers they name now.  A
 * hotplugged reader one of them names is let go at once; a reader none names any
 * more is attached by the next pcsc_hotplug_dispatch.  h may be NULL. */
int pcsc_hotplug_configure(struct pcsc_hotplug *h, const char *const *configured);
/* Main loop: attaches and removes what changed since the last call. */
void pcsc_hotplug_dispatch(struct pcsc_hotplug *h);
void pcsc_hotplug_close(struct pcsc_hotplug *h);
#endif
