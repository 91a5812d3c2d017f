/* What accessgwd's main-loop files share: the gateway's state and each
 * file's part of it, listed from the bottom up (a file calls only files listed
 * above its own; gateway.c, the loop, is the top).  Main loop only. */
#ifndef AGW_DAEMON_H
#define AGW_DAEMON_H
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ble_hotplug.h"
#include "pcsc_hotplug.h"
#include "bus.h"
#include "child.h"
#include "config.h"
#include "control.h"
#include "curve.h"
#include "device.h"
#include "hotplug.h"
#include "idmap.h"
#include "journal.h"
#include "audit.h"
#include "syncer.h"
#include "loader.h"
#include "mailbox.h"
#include "table.h"
#include "plugin_proc.h"
#include "loop.h"
#include "runner.h"
#include "gateway.h" /* the version */

#define COMMANDS_PER_DEVICE 16

struct inflight {
    struct route *route;
    const struct device *dev; /* compared, never followed: it may be gone */
    char target[DEVICE_ID_MAX + 1];
    struct timespec deadline;
};

struct gateway {
    struct gateway_conf conf;
    struct plugin_set plugins;
    void *zctx;
    struct bus bus;
    void *control, *zap;
    struct key_list keys;
    struct mailbox outbox;
    int sigfd;
    struct hotplug *hotplug;
    struct ble_hotplug *ble;
    struct pcsc_hotplug *pcsc;
    struct device_table devices; /* every device, wherever it runs, retiring ones too */
    struct timespec started;      /* monotonic */
    struct timespec next_heartbeat;
    struct timespec next_watchdog;  /* systemd's watchdog, pinged at WATCHDOG_USEC/2 */
    uint64_t watchdog_usec;
    char curve_public[Z85_KEY_LEN + 1]; /* of private_events: clients need it, it is not secret */
    char *private_endpoint;             /* as bound at start (endpoints change at restart only) */
    char degraded[512];                 /* why durability is lost, "" while it is not */
    struct journal journal;
    struct audit audit;                 /* disclosures of full records; its head in heartbeats */
    struct syncer syncer;               /* the journal's and the audit's fdatasync, off the loop */
    bool journal_failure_reported;
    struct child web;                   /* accessgw-web, while [web] is configured */
    int app_link;                       /* to accessgw-web: the window applications' events */
    struct loop loop;
    struct runner runner;               /* where devices run: threads or plugin host processes */
    struct inflight *inflight;          /* device commands handed to workers, not yet answered */
    size_t n_inflight, cap_inflight;
    bool running;
};

/* publish.c: everything accessgwd puts on the bus */
void publish_gateway_event(struct gateway *g, const char *event, json_t *data);
void publish_device_event(struct gateway *g, const char *device, const char *event,
                          json_t *data);
void publish_device_data(void *ctx, const char *cls, const char *subject, const char *event,
                         const char *data_json, const struct agw_personal_field *personal,
                         const struct timespec *time);
void report_degraded(struct gateway *g, const char *reason);
void watch_journal(struct gateway *g);
void publish_heartbeat(struct gateway *g);
void publish_started(struct gateway *g);

/* commands.c: device commands in flight */
size_t commands_waiting(const struct gateway *g, const struct device *dev);
bool track_command(struct gateway *g, const struct device *dev, const char *target,
                   struct route *r);
bool untrack_command(struct gateway *g, struct route *r);
void expire_commands(struct gateway *g);
long ms_until_next_expiry(const struct gateway *g);

/* registry.c: the device table, from the config and from hotplug */
struct device *find_target(struct gateway *g, const char *id);
json_t *device_description(const struct device *dev);
void retire_device(struct gateway *g, struct device *dev, bool removed);
void forget_device(struct gateway *g, struct device *dev);
void reconcile(struct gateway *g);
void on_hotplug_add(void *ctx, const struct hotplug_match *m);
void on_ble_add(void *ctx, const struct ble_match *m);
void on_pcsc_add(void *ctx, const struct pcsc_match *m);
void on_hotplug_remove(void *ctx, const char *syspath);
struct device **registry(void *ctx, size_t *n);
struct device *registry_find(void *ctx, const char *id);

/* dispatch.c: the mail devices send back, wherever they run */
void drain_outbox(struct gateway *g);
void deliver_mail(void *ctx, struct out_mail *m);

/* verbs.c: the control verbs */
void handle_control(struct gateway *g);

/* reload.c: the configuration, its keys, SIGHUP */
int load_keys(const struct gateway_conf *conf, struct key_list *keys, char *secret, char *err,
              size_t errlen);
int load_config_and_plugins(struct gateway_conf *conf, struct plugin_set *plugins,
                            const char *path, char *err, size_t errlen);
void reload(struct gateway *g);
/* The `reader` of every pcsc [device] section, NULL-terminated (free the array only). */
const char **readers_named(const struct gateway_conf *conf);

/* app_link.c: the window applications' events to accessgw-web (fd 3 there) */
int app_link_open(struct gateway *g);
void app_link_close(struct gateway *g);

/* sources.c: what the loop waits on */
int add_loop_sources(struct gateway *g, struct loop *l);
int add_stopping_sources(struct gateway *g, struct loop *l);
#endif
