#define _GNU_SOURCE
#include "gateway.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "ble_hotplug.h"
#include "bus.h"
#include "child.h"
#include "config.h"
#include "control.h"
#include "curve.h"
#include "device.h"
#include "hotplug.h"
#include "journal.h"
#include "loader.h"
#include "log.h"
#include "monotonic.h"
#include "signals.h"
#include "mailbox.h"
#include "plugin_proc.h"
#include "state.h"
#include "trust.h"

#define STOP_GRACE_MS 5000

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
    struct device **devs;
    size_t n_devs;
    struct timespec started;      /* monotonic */
    struct timespec next_heartbeat;
    struct timespec next_watchdog;  /* systemd's watchdog, pinged at WATCHDOG_USEC/2 */
    struct timespec next_hang_check; /* workers stuck in a plugin, looked for every HANG_CHECK_MS */
    uint64_t watchdog_usec;
    char curve_public[Z85_KEY_LEN + 1]; /* of private_events: clients need it, it is not secret */
    char *private_endpoint;             /* as bound at start (endpoints change at restart only) */
    char degraded[512];                 /* why durability is lost, "" while it is not */
    struct journal journal;
    bool journal_failure_reported;
    struct child web;                   /* accessgw-web, while [web] is configured */
    struct plugin_procs procs;          /* accessgw-plugin-host children (isolation = process) */
    bool isolated;                      /* as started: isolation changes at restart only */
    struct inflight *inflight;          /* device commands handed to workers, not yet answered */
    size_t n_inflight, cap_inflight;
    bool running;
};

/* ---- publishing ---- */

static void publish_gateway_event(struct gateway *g, const char *event, json_t *data)
{
    struct timespec now;
    clock_now(&now);
    bus_publish(&g->bus, "gateway", g->bus.gateway_id, event, false, data, NULL, &now);
}

static void publish_device_event(struct gateway *g, const char *device, const char *event,
                                 json_t *data)
{
    struct timespec now;
    clock_now(&now);
    bus_publish(&g->bus, "device", device, event, true, data, NULL, &now);
}

/* The watchdog has its own clock: a heartbeat_ms longer than WatchdogSec must
 * not get a healthy gateway killed. */
static void ping_watchdog_if_due(struct gateway *g)
{
    if (!g->watchdog_usec || ms_until(&g->next_watchdog) > 0)
        return;
    sd_notify(0, "WATCHDOG=1");
    monotonic_now(&g->next_watchdog);
    add_ms(&g->next_watchdog, (unsigned)(g->watchdog_usec / 2000));
}

/* gateway/<id>/degraded: what the gateway can no longer promise (its state
 * cannot be written), published once per new reason; calls keep working. */
static void report_degraded(struct gateway *g, const char *reason)
{
    if (!reason)
        return;
    publish_gateway_event(g, "degraded", json_pack("{s:s, s:b, s:s}", "reason", reason, "durable",
                                                   0, "state_dir", g->conf.state_dir));
}

/* A journal write that fails (disk full, read-only) is said once, loudly, and
 * its end once: events keep flowing either way. */
static void watch_journal(struct gateway *g)
{
    if (g->bus.journal_failing == g->journal_failure_reported)
        return;
    g->journal_failure_reported = g->bus.journal_failing;
    if (g->bus.journal_failing) {
        char reason[400];
        snprintf(reason, sizeof(reason), "journal: %.380s", g->journal.failure);
        log_err("DEGRADED: %s; events are still published, but a replay across this gap says "
                "truncated", reason);
        report_degraded(g, reason);
    } else {
        log_notice("journal: events are written again (the gap before is marked)");
    }
}

static void publish_heartbeat(struct gateway *g)
{
    json_t *data = json_pack("{s:I, s:I, s:I}", "seq", (json_int_t)(g->bus.seq + 1), "uptime_s",
                             (json_int_t)(elapsed_ms(&g->started) / 1000), "devices",
                             (json_int_t)g->n_devs);
    publish_gateway_event(g, "heartbeat", data);
    add_ms(&g->next_heartbeat, g->conf.heartbeat_ms);
    if (ms_until(&g->next_heartbeat) == 0 && elapsed_ms(&g->next_heartbeat) > 5000)
        monotonic_now(&g->next_heartbeat); /* the clock jumped or we were stopped: don't burst */
}

/* ---- the device registry ---- */

static struct device *find_device(struct gateway *g, const char *id, bool include_retiring)
{
    for (size_t i = 0; i < g->n_devs; i++)
        if (strcmp(g->devs[i]->id, id) == 0 && (include_retiring || !g->devs[i]->retiring))
            return g->devs[i];
    return NULL;
}

/* The device with this id, or the parent of the child with this id. */
static struct device *find_target(struct gateway *g, const char *id)
{
    struct device *dev = find_device(g, id, false);
    for (size_t i = 0; !dev && i < g->n_devs; i++)
        if (!g->devs[i]->retiring && device_has_child(g->devs[i], id))
            dev = g->devs[i];
    return dev;
}

static json_t *device_description(const struct device *dev)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "plugin", dev->plugin->id, "class",
                          dev->plugin->device_class, "transport", transport_name(dev->transport_kind),
                          "hotplug", dev->syspath != NULL);
    /* a Bluetooth address identifies a visitor's hearing aid: never published */
    if (dev->path && dev->transport_kind != AGW_TRANSPORT_BLUEZ)
        json_object_set_new(o, "path", json_string(dev->path));
    if (dev->location)
        json_object_set_new(o, "location", json_string(dev->location));
    return o;
}

static void add_device(struct gateway *g, const struct device_params *p)
{
    struct device **grown = realloc(g->devs, (g->n_devs + 1) * sizeof(*grown));
    if (!grown)
        return;
    g->devs = grown;
    struct device *dev = device_new(p, &g->outbox);
    if (!dev) {
        log_err("device %s: out of memory", p->id);
        return;
    }
    g->devs[g->n_devs++] = dev;
    log_info("device %s attached (plugin %s, %s%s%s)", dev->id, dev->plugin->id,
             transport_name(dev->transport_kind), dev->path ? " " : "", dev->path ? dev->path : "");
    publish_device_event(g, dev->id, "attached", device_description(dev));
    if (g->isolated)
        procs_attach(&g->procs, dev);
    else
        device_start(dev);
}

static void retire_device(struct gateway *g, struct device *dev, bool removed)
{
    if (dev->retiring)
        return;
    if (g->isolated)
        procs_detach(&g->procs, dev, removed);
    else
        device_request_stop(dev, removed);
}

static void forget_device(struct gateway *g, struct device *dev)
{
    for (size_t i = 0; i < g->n_devs; i++)
        if (g->devs[i] == dev) {
            memmove(&g->devs[i], &g->devs[i + 1], (g->n_devs - i - 1) * sizeof(*g->devs));
            g->n_devs--;
            break;
        }
    device_free(dev);
}

static void start_static_device(struct gateway *g, const struct device_conf *dc)
{
    const struct agw_plugin *p = plugin_set_find(&g->plugins, dc->plugin);
    if (!p)
        return; /* config_check_plugins refused this config already */
    struct device_setting *settings = calloc(dc->section->n_entries + 1, sizeof(*settings));
    char (*lines)[4200] = calloc(dc->section->n_entries + 1, sizeof(*lines));
    if (!settings || !lines) {
        free(settings);
        free(lines);
        return;
    }
    for (size_t i = 0; i < dc->section->n_entries; i++) { /* errors name FILE:LINE */
        snprintf(lines[i], sizeof(lines[i]), "%.4000s:%d", g->conf.path,
                 dc->section->entries[i].line);
        settings[i] = (struct device_setting){dc->section->entries[i].key,
                                              dc->section->entries[i].value, lines[i]};
    }
    /* a Bluetooth device is found by its address */
    const char *where = dc->transport == AGW_TRANSPORT_BLUEZ ? dc->address : dc->path;
    struct device_params params = {dc->name, p, dc->transport, where, dc->baud, dc->location,
                                   NULL, settings, dc->section->n_entries};
    add_device(g, &params);
    free(settings);
    free(lines);
}

static bool device_matches_conf(const struct device *dev, const struct device_conf *dc)
{
    if (dev->n_settings != dc->section->n_entries)
        return false;
    for (size_t i = 0; i < dev->n_settings; i++) {
        const struct ini_entry *e = ini_find(dc->section, dev->settings[i].key);
        if (!e || strcmp(e->value, dev->settings[i].value) != 0)
            return false;
    }
    return true;
}

/* Brings the running [device] sections in line with the config: stops the
 * removed and changed ones, starts what is configured and not running.  A
 * changed device restarts only once its old worker has let go of the port. */
static void reconcile(struct gateway *g)
{
    for (size_t i = 0; i < g->n_devs; i++) {
        struct device *dev = g->devs[i];
        if (dev->syspath || dev->retiring)
            continue;
        const struct device_conf *dc = config_find_device(&g->conf, dev->id);
        if (!dc || !device_matches_conf(dev, dc)) {
            log_info("device %s: %s; stopping it", dev->id,
                     dc ? "its section changed" : "its section is gone");
            retire_device(g, dev, false);
        }
    }
    for (size_t i = 0; i < g->conf.n_devices; i++)
        if (!find_device(g, g->conf.devices[i].name, true))
            start_static_device(g, &g->conf.devices[i]);
}

/* Same device node, however it is named (a /dev/serial/by-id link, say). */
static bool same_node(const char *a, const struct stat *b)
{
    struct stat st;
    if (stat(a, &st) < 0)
        return false;
    if (S_ISCHR(st.st_mode) && S_ISCHR(b->st_mode))
        return st.st_rdev == b->st_rdev;
    return st.st_dev == b->st_dev && st.st_ino == b->st_ino;
}

static bool claimed_by_config(struct gateway *g, const char *devnode)
{
    struct stat node;
    bool have_node = stat(devnode, &node) == 0;
    for (size_t i = 0; i < g->conf.n_devices; i++) {
        const char *path = g->conf.devices[i].path;
        if (path && (strcmp(path, devnode) == 0 || (have_node && same_node(path, &node))))
            return true;
    }
    return false;
}

static void on_hotplug_add(void *ctx, const struct hotplug_match *m)
{
    struct gateway *g = ctx;
    for (size_t i = 0; i < g->n_devs; i++)
        if (g->devs[i]->syspath && strcmp(g->devs[i]->syspath, m->syspath) == 0 &&
            !g->devs[i]->retiring)
            return; /* a duplicate add event */
    if (claimed_by_config(g, m->devnode)) {
        log_info("hotplug: %s is declared in a [device] section; not claimed twice", m->devnode);
        return;
    }
    char id[DEVICE_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", m->id);
    for (int n = 2; find_device(g, id, true) && n < 100; n++)
        snprintf(id, sizeof(id), "%.58s-%d", m->id, n);
    struct device_params p = {id, m->plugin, m->transport, m->devnode, 0, NULL, m->syspath, NULL, 0};
    add_device(g, &p);
}

static bool address_configured(struct gateway *g, const char *address)
{
    for (size_t i = 0; i < g->conf.n_devices; i++)
        if (g->conf.devices[i].address && !strcasecmp(g->conf.devices[i].address, address))
            return true;
    return false;
}

static void on_ble_add(void *ctx, const struct ble_match *m)
{
    struct gateway *g = ctx;
    for (size_t i = 0; i < g->n_devs; i++)
        if (g->devs[i]->syspath && !strcmp(g->devs[i]->syspath, m->object_path) && !g->devs[i]->retiring)
            return; /* already attached */
    if (address_configured(g, m->address) || find_device(g, m->id, true))
        return;
    log_info("Bluetooth hotplug: %s claimed by %s", m->id, m->plugin->id);
    struct device_params p = {m->id, m->plugin, AGW_TRANSPORT_BLUEZ, m->address, 0, NULL,
                              m->object_path, NULL, 0};
    add_device(g, &p);
}

static void on_hotplug_remove(void *ctx, const char *syspath)
{
    struct gateway *g = ctx;
    for (size_t i = 0; i < g->n_devs; i++)
        if (g->devs[i]->syspath && strcmp(g->devs[i]->syspath, syspath) == 0 &&
            !g->devs[i]->retiring) {
            log_info("device %s unplugged", g->devs[i]->id);
            retire_device(g, g->devs[i], true);
        }
}

/* ---- device commands in flight ----
 * A worker may be stuck (in a plugin's open(), or in a transaction with a
 * device that went silent), so the main loop keeps each command it handed
 * over with a deadline: a device with COMMANDS_PER_DEVICE unanswered answers
 * "busy" at once, and a command unanswered after command_timeout_ms gets
 * "timeout".  The route stays with the worker's mail until that comes back
 * (then the late answer is dropped), so nothing is freed twice and the queue
 * a client can build is bounded. */
#define COMMANDS_PER_DEVICE 16

struct inflight {
    struct route *route;
    const struct device *dev; /* compared, never followed: it may be gone */
    char target[DEVICE_ID_MAX + 1];
    struct timespec deadline;
};

static size_t commands_waiting(const struct gateway *g, const struct device *dev)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n_inflight; i++)
        n += g->inflight[i].dev == dev;
    return n;
}

static bool track_command(struct gateway *g, const struct device *dev, const char *target,
                          struct route *r)
{
    if (g->n_inflight == g->cap_inflight) {
        size_t cap = g->cap_inflight ? g->cap_inflight * 2 : 16;
        struct inflight *grown = realloc(g->inflight, cap * sizeof(*grown));
        if (!grown)
            return false;
        g->inflight = grown;
        g->cap_inflight = cap;
    }
    struct inflight *f = &g->inflight[g->n_inflight++];
    f->route = r;
    f->dev = dev;
    snprintf(f->target, sizeof(f->target), "%s", target);
    monotonic_now(&f->deadline);
    add_ms(&f->deadline, g->conf.command_timeout_ms);
    return true;
}

/* Forgets the command; false when it was answered "timeout" already. */
static bool untrack_command(struct gateway *g, struct route *r)
{
    for (size_t i = 0; i < g->n_inflight; i++)
        if (g->inflight[i].route == r) {
            g->inflight[i] = g->inflight[--g->n_inflight];
            break;
        }
    return !r->expired;
}

static void expire_commands(struct gateway *g)
{
    for (size_t i = 0; i < g->n_inflight; i++) {
        struct inflight *f = &g->inflight[i];
        if (f->route->expired || ms_until(&f->deadline) > 0)
            continue;
        struct route *copy = route_copy(f->route);
        if (!copy)
            continue; /* tried again at the next turn */
        f->route->expired = true;
        control_reply_error(g->control, copy, "timeout", "device %s did not answer within %u ms",
                            f->target, g->conf.command_timeout_ms);
    }
}

static long ms_until_next_expiry(const struct gateway *g)
{
    long t = LONG_MAX;
    for (size_t i = 0; i < g->n_inflight; i++)
        if (!g->inflight[i].route->expired && ms_until(&g->inflight[i].deadline) < t)
            t = ms_until(&g->inflight[i].deadline);
    return t;
}

/* A worker stuck in a plugin callback cannot say so itself: the main loop
 * does, so staff see the device down instead of a silent one.  Looked for
 * once a second, not at every turn of the loop: the limit is seconds, and a
 * busy loop turns thousands of times a second. */
#define HANG_CHECK_MS 1000

static void report_hung_devices(struct gateway *g)
{
    if (ms_until(&g->next_hang_check) > 0)
        return;
    monotonic_now(&g->next_hang_check);
    add_ms(&g->next_hang_check, HANG_CHECK_MS);
    char reason[DEVICE_REASON_MAX];
    for (size_t i = 0; i < g->n_devs; i++)
        if (device_check_hung(g->devs[i], g->conf.command_timeout_ms, reason, sizeof(reason)))
            publish_device_event(g, g->devs[i]->id, "state",
                                 json_pack("{s:s, s:s}", "state", "error", "reason", reason));
}

/* ---- worker mail ---- */

static void deliver_reply(struct gateway *g, struct out_mail *m)
{
    struct route *r = m->route;
    if (!untrack_command(g, r)) {
        route_free(r);
        return;
    }
    if (m->status == AGW_CMD_OK) {
        control_reply_ok(g->control, r, m->data);
        m->data = NULL;
        return;
    }
    json_t *msg = json_object_get(m->data, "message");
    const char *code = device_status_code(m->status);
    control_reply_error(g->control, r, code, "%s",
                        json_is_string(msg) ? json_string_value(msg) : code);
}

static void handle_exited(struct gateway *g, struct out_mail *m)
{
    struct device *dev = NULL;
    for (size_t i = 0; i < g->n_devs && !dev; i++)
        if (g->devs[i]->retiring && strcmp(g->devs[i]->id, m->device) == 0)
            dev = g->devs[i];
    if (!dev)
        return;
    const char *reason = !g->running     ? "gateway stopping"
                         : dev->syspath ? "unplugged"
                                        : "reconfigured";
    publish_device_event(g, dev->id, "detached",
                         json_pack("{s:s, s:s}", "plugin", dev->plugin->id, "reason", reason));
    json_t *children = device_children(dev);
    size_t k;
    json_t *c;
    json_array_foreach(children, k, c) publish_device_event(
        g, json_string_value(json_object_get(c, "id")), "detached",
        json_pack("{s:s, s:s}", "plugin", dev->plugin->id, "reason", "parent detached"));
    json_decref(children);
    log_info("device %s detached", dev->id);
    forget_device(g, dev);
    if (g->running)
        reconcile(g);
}

/* Mail from a device worker, or from a plugin host process (plugin_proc.c). */
static void handle_out_mail(struct gateway *g, struct out_mail *m)
{
    switch (m->kind) {
    case OUT_EVENT:
        if (m->data_json)
            bus_publish_encoded(&g->bus, m->cls, m->device, m->event, true, m->data_json,
                                &m->time);
        else if (m->data)
            bus_publish(&g->bus, m->cls, m->device, m->event, true, m->data, m->personal,
                        &m->time);
        m->data = NULL;
        m->data_json = NULL;
        break;
    case OUT_REPLY: deliver_reply(g, m); break;
    case OUT_DEGRADED: report_degraded(g, json_string_value(json_object_get(m->data, "reason"))); break;
    case OUT_EXITED: handle_exited(g, m); break;
    case OUT_CHANGED: break; /* read under the device's lock when asked */
    }
    json_decref(m->data);
    free(m->data_json);
    free(m);
}

static void deliver_mail(void *ctx, struct out_mail *m) { handle_out_mail(ctx, m); }

static struct device **registry(void *ctx, size_t *n)
{
    struct gateway *g = ctx;
    *n = g->n_devs;
    return g->devs;
}

static void drain_outbox(struct gateway *g)
{
    struct mail *all = mailbox_take_all(&g->outbox);
    while (all) {
        struct out_mail *m = (struct out_mail *)all;
        all = all->next;
        handle_out_mail(g, m);
    }
    bus_flush(&g->bus);
}

/* ---- control verbs ---- */

static void verb_ping(struct gateway *g, struct control_request *req)
{
    json_t *result = json_pack("{s:s, s:s, s:I, s:I, s:I}", "gateway", g->bus.gateway_id,
                               "version", ACCESSGW_VERSION_STRING, "epoch",
                               (json_int_t)g->bus.epoch, "seq", (json_int_t)g->bus.seq,
                               "uptime_s", (json_int_t)(elapsed_ms(&g->started) / 1000));
    if (g->curve_public[0])
        json_object_set_new(result, "private_events_key", json_string(g->curve_public));
    control_reply_ok(g->control, req->route, result);
}

/* [{verb, args (a JSON Schema), help}] from the plugin's verb table */
static json_t *verbs_of(const struct agw_plugin *p)
{
    json_t *list = json_array();
    for (const struct agw_verb *v = AGW_PLUGIN_HAS(p, verbs) ? p->verbs : NULL; v && v->name; v++) {
        char full[128];
        snprintf(full, sizeof(full), "%s.%s", p->device_class, v->name);
        json_t *o = json_pack("{s:s, s:s}", "verb", full, "help", v->help ? v->help : "");
        json_t *schema = v->args ? json_loads(v->args, 0, NULL) : NULL;
        if (schema)
            json_object_set_new(o, "args", schema);
        json_array_append_new(list, o);
    }
    return list;
}

static void verb_devices(struct gateway *g, struct control_request *req)
{
    bool with_verbs = json_is_true(json_object_get(req->args, "verbs"));
    json_t *list = json_array();
    for (size_t i = 0; i < g->n_devs; i++) {
        struct device *dev = g->devs[i];
        if (dev->retiring)
            continue;
        enum agw_state st;
        char reason[DEVICE_REASON_MAX];
        device_get_state(dev, &st, reason, sizeof(reason));
        json_t *o = device_description(dev);
        json_object_set_new(o, "id", json_string(dev->id));
        json_object_set_new(o, "state", json_string(device_state_name(st)));
        json_object_set_new(o, "reason", json_string(reason));
        json_t *info = device_get_info(dev);
        if (json_object_size(info))
            json_object_set(o, "info", info);
        json_decref(info);
        if (with_verbs)
            json_object_set_new(o, "verbs", verbs_of(dev->plugin));
        json_t *children = device_children(dev);
        size_t k;
        json_t *c;
        json_array_foreach(children, k, c)
        { /* a child shares its parent's transport and state */
            json_t *child = json_deep_copy(o);
            json_object_del(child, "info");
            json_object_set(child, "id", json_object_get(c, "id"));
            json_object_set_new(child, "parent", json_string(dev->id));
            if (json_string_length(json_object_get(c, "location")))
                json_object_set(child, "location", json_object_get(c, "location"));
            else
                json_object_del(child, "location");
            json_array_append_new(list, child);
        }
        json_decref(children);
        json_array_append_new(list, o);
    }
    control_reply_ok(g->control, req->route, json_pack("{s:o}", "devices", list));
}

static bool whole_number(const json_t *v) { return json_is_integer(v) && json_integer_value(v) >= 0; }

/* {"since":{"epoch":E,"seq":N}} -> *key; false (after the error reply) when malformed. */
static bool parse_since(struct gateway *g, struct control_request *req, const json_t *since,
                        struct journal_key *key)
{
    json_t *epoch = json_object_get(since, "epoch"), *seq = json_object_get(since, "seq");
    if (!json_is_object(since) || !whole_number(epoch) || !whole_number(seq)) {
        control_reply_error(g->control, req->route, "bad_args",
                            "\"since\" must be {\"epoch\": E, \"seq\": N} with whole numbers >= 0");
        return false;
    }
    *key = (struct journal_key){(uint64_t)json_integer_value(epoch),
                                (uint64_t)json_integer_value(seq)};
    return true;
}

static char *replay_from_journal(struct gateway *g, struct control_request *req, const json_t *since,
                                 const char *const *list, size_t n, size_t limit)
{
    struct journal_key key;
    if (!parse_since(g, req, since, &key))
        return NULL;
    if (!journal_is_open(&g->journal)) {
        control_reply_error(g->control, req->route, "unavailable",
                            "the journal is not available (%s); since_seq replays this epoch",
                            g->degraded[0] ? g->degraded : "[journal] max_mb = 0");
        return NULL;
    }
    struct journal_key now = {g->bus.epoch, g->bus.seq};
    char *result = journal_replay_json(&g->journal, key, list, n, limit, BUS_REPLAY_PAGE_BYTES, now);
    if (!result)
        control_reply_error(g->control, req->route, "internal", "out of memory");
    return result;
}

static void verb_replay(struct gateway *g, struct control_request *req)
{
    bus_flush(&g->bus); /* what a replay returns is on disk and sent first */
    json_t *since_seq = json_object_get(req->args, "since_seq");
    json_t *since = json_object_get(req->args, "since");
    json_t *prefixes = json_object_get(req->args, "prefixes");
    json_t *limit = json_object_get(req->args, "limit");
    if (!since && !whole_number(since_seq)) {
        control_reply_error(g->control, req->route, "bad_args",
                            "replay needs {\"since_seq\": N} or {\"since\": {\"epoch\": E, "
                            "\"seq\": N}} with whole numbers >= 0");
        return;
    }
    if ((prefixes && !json_is_array(prefixes)) || json_array_size(prefixes) > 32 ||
        (limit && (!json_is_integer(limit) || json_integer_value(limit) < 0))) {
        control_reply_error(g->control, req->route, "bad_args",
                            "\"prefixes\" must be an array of at most 32 strings, \"limit\" a "
                            "whole number");
        return;
    }
    const char *list[32];
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(prefixes); i++) {
        const char *s = json_string_value(json_array_get(prefixes, i));
        if (!s) {
            control_reply_error(g->control, req->route, "bad_args", "prefixes[%zu] is not a string", i);
            return;
        }
        list[n++] = s;
    }
    size_t max = limit ? (size_t)json_integer_value(limit) : 0;
    char *result;
    if (since) {
        if (!(result = replay_from_journal(g, req, since, list, n, max)))
            return;
    } else if (!(result = bus_replay_json(&g->bus, (uint64_t)json_integer_value(since_seq), list,
                                          n, max))) {
        control_reply_error(g->control, req->route, "internal", "out of memory");
        return;
    }
    control_reply_raw(g->control, req->route, result);
    free(result);
}

static void verb_for_device(struct gateway *g, struct control_request *req)
{
    const char *dot = strchr(req->verb, '.');
    if (!req->device) {
        control_reply_error(g->control, req->route, "bad_request",
                            "verb %.64s needs a \"device\"", req->verb);
        return;
    }
    struct device *dev = find_target(g, req->device);
    if (!dev) {
        control_reply_error(g->control, req->route, "unknown_device", "no device %.64s",
                            req->device);
        return;
    }
    size_t cls_len = (size_t)(dot - req->verb);
    if (strlen(dev->plugin->device_class) != cls_len ||
        strncmp(dev->plugin->device_class, req->verb, cls_len) != 0 || !dot[1]) {
        control_reply_error(g->control, req->route, "unknown_verb",
                            "device %s is a %s device; it has no verb %.64s", dev->id,
                            dev->plugin->device_class, req->verb);
        return;
    }
    if (commands_waiting(g, dev) >= COMMANDS_PER_DEVICE) {
        control_reply_error(g->control, req->route, "busy",
                            "device %s has %d commands waiting; try again later", dev->id,
                            COMMANDS_PER_DEVICE);
        return;
    }
    if (!track_command(g, dev, req->device, req->route)) {
        control_reply_error(g->control, req->route, "internal", "out of memory");
        return;
    }
    if (g->isolated)
        procs_command(&g->procs, dev, req->device, strdup(dot + 1), json_incref(req->args),
                      req->route);
    else
        device_post_command(dev, req->device, strdup(dot + 1), json_incref(req->args), req->route);
}

static void handle_control(struct gateway *g)
{
    struct control_request req;
    if (!control_recv(g->control, &req))
        return;
    if (strcmp(req.verb, "ping") == 0)
        verb_ping(g, &req);
    else if (strcmp(req.verb, "devices") == 0)
        verb_devices(g, &req);
    else if (strcmp(req.verb, "replay") == 0)
        verb_replay(g, &req);
    else if (strchr(req.verb, '.'))
        verb_for_device(g, &req);
    else
        control_reply_error(g->control, req.route, "unknown_verb", "no verb %.64s", req.verb);
    control_request_done(&req);
}

/* ---- configuration ---- */

static int load_keys(struct gateway *g, const struct gateway_conf *conf, struct key_list *keys,
                     char *secret, char *err, size_t errlen)
{
    memset(keys, 0, sizeof(*keys));
    if (!conf->private_events)
        return 0;
    bool legacy;
    char why[1024], where[512];
    if (trust_check(conf->curve_secret_key, TRUST_SECRET, why, sizeof(why)) < 0 ||
        curve_read_key_file(conf->curve_secret_key, CURVE_SECRET, secret, &legacy, why,
                            sizeof(why)) < 0) {
        snprintf(err, errlen, "%.300s: %.700s",
                 config_where(conf, "bus", "curve_secret_key", where, sizeof(where)), why);
        return -1;
    }
    if (trust_check(conf->authorized_keys, TRUST_GRANTS, why, sizeof(why)) < 0 ||
        curve_load_authorized(conf->authorized_keys, keys, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%.300s: %.700s",
                 config_where(conf, "bus", "authorized_keys", where, sizeof(where)), why);
        return -1;
    }
    if (legacy)
        log_notice("%s: a one-line key file of an earlier version; it still works, but "
                   "`accessgwctl keygen` now writes certificates czmq and pyzmq read too",
                   conf->curve_secret_key);
    (void)g;
    return 0;
}

/* plugin_path, else plugin_dir, else the local directory (if there) and the packaged one. */
static int load_plugins(const struct gateway_conf *conf, struct plugin_set *plugins, char *err,
                        size_t errlen)
{
    bool defaults = !conf->plugin_path && !conf->plugin_dir_set;
    const char *key = conf->plugin_path ? "plugin_path" : "plugin_dir";
    char list[8192], failed[4096] = "", why[512], where[512];
    if (defaults)
        snprintf(list, sizeof(list), "%s:%s", AGW_LOCAL_PLUGIN_DIR, AGW_DEFAULT_PLUGIN_DIR);
    else
        snprintf(list, sizeof(list), "%s", conf->plugin_path ? conf->plugin_path : conf->plugin_dir);
    if (plugin_set_load_path(plugins, list, defaults, failed, sizeof(failed)) >= 0)
        return 0;
    if (trust_check(failed, TRUST_CODE_DIR, why, sizeof(why)) < 0)
        snprintf(err, errlen, "%s refused: %s", config_where(conf, "gateway", key, where,
                                                            sizeof(where)), why);
    else
        snprintf(err, errlen, "%s: %s cannot be read (see the line above)",
                 config_where(conf, "gateway", key, where, sizeof(where)), failed);
    return -1;
}

static int load_config_and_plugins(struct gateway_conf *conf, struct plugin_set *plugins,
                                   const char *path, char *err, size_t errlen)
{
    if (config_load(path, conf, err, errlen) < 0)
        return -1;
    trust_relax(conf->insecure_files);
    if (conf->insecure_files)
        log_warn("%s: insecure_files = yes: files that grant access are not checked (development "
                 "only)", path);
    if (plugins->n == 0 && load_plugins(conf, plugins, err, errlen) < 0)
        return -1;
    return config_check_plugins(conf, plugins, err, errlen);
}

static bool key_listed(const struct key_list *keys, const char *z85)
{
    for (size_t i = 0; i < keys->n; i++)
        if (strcmp(keys->keys[i].z85, z85) == 0)
            return true;
    return false;
}

/* Access granted is also taken back: when a key left authorized_keys (or the
 * gateway's own key changed), live private subscribers are dropped and must
 * pass ZAP again with the keys of now. */
static void cut_off_revoked(struct gateway *g, const struct key_list *fresh, const char *secret,
                            int sndhwm)
{
    if (!g->bus.priv || !g->private_endpoint || !secret[0])
        return;
    size_t revoked = 0;
    for (size_t i = 0; i < g->keys.n; i++)
        if (!key_listed(fresh, g->keys.keys[i].z85)) {
            log_notice("private events: key %s revoked; its live connections are dropped",
                       g->keys.keys[i].name);
            revoked++;
        }
    char public_key[Z85_KEY_LEN + 1] = "";
    bool own_key_changed = zmq_curve_public(public_key, secret) == 0 &&
                           strcmp(public_key, g->curve_public) != 0;
    if (!revoked && !own_key_changed)
        return;
    struct bus_options o = {.private_events = g->private_endpoint, .curve_secret_key = secret,
                            .sndhwm = sndhwm};
    char err[512];
    if (bus_reopen_private(&g->bus, g->zctx, &o, err, sizeof(err)) < 0) {
        log_err("private events: %s; the endpoint is closed until a restart", err);
        return;
    }
    if (own_key_changed)
        memcpy(g->curve_public, public_key, sizeof(public_key));
    log_notice("private events: endpoint %s reopened; subscribers are checked again",
               g->private_endpoint);
}

static void reload(struct gateway *g)
{
    char err[1024];
    struct gateway_conf fresh;
    log_notice("SIGHUP: reloading %s", g->conf.path);
    if (config_load(g->conf.path, &fresh, err, sizeof(err)) < 0) {
        log_err("reload refused, keeping the running config: %s", err);
        return;
    }
    trust_relax(fresh.insecure_files);
    if (config_check_plugins(&fresh, &g->plugins, err, sizeof(err)) < 0) {
        log_err("reload refused, keeping the running config: %s", err);
        trust_relax(g->conf.insecure_files);
        config_free(&fresh);
        return;
    }
    struct key_list keys;
    char secret[Z85_KEY_LEN + 1];
    if (load_keys(g, &fresh, &keys, secret, err, sizeof(err)) < 0) {
        log_err("reload refused, keeping the running config: %s", err);
        trust_relax(g->conf.insecure_files);
        config_free(&fresh);
        return;
    }
    cut_off_revoked(g, &keys, secret, fresh.sndhwm);
    explicit_bzero(secret, sizeof(secret));
    if (strcmp(fresh.events, g->conf.events) || strcmp(fresh.control, g->conf.control) ||
        strcmp(fresh.id, g->conf.id) || strcmp(fresh.state_dir, g->conf.state_dir))
        log_warn("reload: [gateway] id and state_dir and [bus] endpoints change only at restart");
    curve_free_authorized(&g->keys);
    g->keys = keys;
    /* Running devices hold copies of their settings, so the old config can go. */
    struct gateway_conf old = g->conf;
    g->conf = fresh;
    config_free(&old);
    log_set_level(g->conf.log_level);
    /* [web] may have come, gone or changed: its browsers reconnect with Last-Event-ID */
    child_stop(&g->web, 3000);
    child_want(&g->web, g->conf.web.line != 0);
    reconcile(g);
}

/* ---- start and stop ---- */

static void reap_children(struct gateway *g)
{
    int status;
    pid_t pid;
    if (g->web.pid > 0 && (pid = waitpid(g->web.pid, &status, WNOHANG)) > 0)
        child_reaped(&g->web, pid, status);
    if (g->isolated)
        procs_reap(&g->procs);
}

static void handle_signal(struct gateway *g)
{
    struct signalfd_siginfo si;
    while (read(g->sigfd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            sd_notify(0, "RELOADING=1");
            reload(g);
            sd_notify(0, "READY=1");
        } else if (si.ssi_signo == SIGCHLD) {
            reap_children(g);
        } else {
            log_notice("%s: stopping", strsignal((int)si.ssi_signo));
            g->running = false;
        }
    }
}

/* No journal (a state_dir that cannot be written) is not a refusal to start:
 * the gateway runs degraded, replay reaches back only within the epoch. */
static void open_journal(struct gateway *g)
{
    if (g->conf.journal.max_mb == 0)
        return;
    struct journal_options o = {(uint64_t)g->conf.journal.max_mb << 20,
                                (uint64_t)g->conf.journal.max_days * 86400,
                                g->conf.journal.sync_ms};
    char note[700], why[600];
    if (journal_open(&g->journal, g->conf.state_dir, &o, note, sizeof(note), why, sizeof(why)) < 0) {
        log_err("DEGRADED: %s; events are published but not journaled: replay across restarts "
                "is not available", why);
        snprintf(g->degraded, sizeof(g->degraded), "%.500s", why);
        return;
    }
    if (note[0])
        log_warn("%s", note);
}

static int open_bus(struct gateway *g, char *err, size_t errlen)
{
    uint64_t epoch;
    char secret[Z85_KEY_LEN + 1] = "", note[512];
    open_journal(g);
    int durable = state_next_epoch(g->conf.state_dir, g->journal.last.epoch, &epoch, note,
                                   sizeof(note), err, errlen);
    if (note[0])
        log_warn("%s", note);
    if (durable != 0) {
        snprintf(g->degraded, sizeof(g->degraded), "%.500s", err);
        log_err("DEGRADED: %s; the gateway runs, but open calls, invitations and learned codes "
                "are not kept across a restart until state_dir can be written", err);
        err[0] = '\0';
    }
    if (load_keys(g, &g->conf, &g->keys, secret, err, errlen) < 0)
        return -1;
    g->zctx = zmq_ctx_new();
    if (g->conf.private_events && !(g->zap = zap_bind(g->zctx, err, errlen)))
        return -1;
    struct bus_options o = {g->conf.id, g->conf.events, g->conf.private_events,
                            g->conf.private_events ? secret : NULL, g->conf.history,
                            g->conf.sndhwm, epoch, &g->journal};
    g->private_endpoint = g->conf.private_events ? strdup(g->conf.private_events) : NULL;
    if (g->conf.private_events && zmq_curve_public(g->curve_public, secret) < 0) {
        snprintf(err, errlen, "%s: not a valid CURVE secret key", g->conf.curve_secret_key);
        explicit_bzero(secret, sizeof(secret));
        return -1;
    }
    int r = bus_open(&g->bus, g->zctx, &o, err, errlen);
    explicit_bzero(secret, sizeof(secret));
    if (r < 0)
        return -1;
    g->control = control_bind(g->zctx, g->conf.control, err, errlen);
    return g->control ? 0 : -1;
}

static void publish_started(struct gateway *g)
{
    json_t *plugins = json_array();
    for (size_t i = 0; i < g->plugins.n; i++)
        json_array_append_new(plugins, json_string(g->plugins.items[i].desc->id));
    publish_gateway_event(g, "started",
                          json_pack("{s:s, s:I, s:o, s:s, s:s}", "version", ACCESSGW_VERSION_STRING,
                                    "epoch", (json_int_t)g->bus.epoch, "plugins", plugins,
                                    "events", g->conf.events, "control", g->conf.control));
    log_notice("gateway %s started: epoch %llu, %zu plugin(s), events on %s, control on %s%s%s",
               g->conf.id, (unsigned long long)g->bus.epoch, g->plugins.n, g->conf.events,
               g->conf.control, g->conf.private_events ? ", private events on " : "",
               g->conf.private_events ? g->conf.private_events : "");
    if (g->degraded[0])
        report_degraded(g, g->degraded);
}

static void start_hotplug(struct gateway *g)
{
    if (!g->conf.hotplug)
        return;
    g->ble = ble_hotplug_open(&g->plugins, on_ble_add, on_hotplug_remove, g);
    g->hotplug = hotplug_open(on_hotplug_add, on_hotplug_remove, g);
    if (g->hotplug)
        hotplug_enumerate(g->hotplug, &g->plugins); /* the monitor already listens */
}

/* The plugin host processes' sockets come after the loop's own items. */
#define MAX_PROC_ITEMS 64

static void poll_once(struct gateway *g)
{
    zmq_pollitem_t items[6 + MAX_PROC_ITEMS] = {
        {g->control, 0, ZMQ_POLLIN, 0},
        {NULL, g->outbox.fd, ZMQ_POLLIN, 0},
        {NULL, g->sigfd, ZMQ_POLLIN, 0},
        {g->zap, 0, ZMQ_POLLIN, 0},
        {NULL, g->hotplug ? hotplug_fd(g->hotplug) : -1, ZMQ_POLLIN, 0},
        {NULL, g->ble ? ble_hotplug_fd(g->ble) : -1, ZMQ_POLLIN, 0},
    };
    int n = 3 + (g->zap != NULL);
    int udev_item = -1;
    if (g->hotplug) {
        items[n] = items[4];
        udev_item = n++;
    }
    if (g->ble) {
        ble_hotplug_process(g->ble); /* sd-bus may hold messages it already read */
        items[n++] = items[5];
    }
    size_t first_proc = (size_t)n;
    n += (int)procs_pollitems(&g->procs, items + n, MAX_PROC_ITEMS);
    long timeout = ms_until(&g->next_heartbeat);
    if (g->watchdog_usec && ms_until(&g->next_watchdog) < timeout)
        timeout = ms_until(&g->next_watchdog);
    long expiry = ms_until_next_expiry(g);
    if (expiry < timeout)
        timeout = expiry;
    if (ms_until(&g->next_hang_check) < timeout)
        timeout = ms_until(&g->next_hang_check);
    bus_flush(&g->bus); /* nothing published waits while the loop does */
    int journal_due = journal_tick(&g->journal);
    if (journal_due >= 0 && journal_due < timeout)
        timeout = journal_due;
    long child_due = child_ms_until_start(&g->web);
    if (child_due >= 0 && child_due < timeout)
        timeout = child_due;
    long proc_due = procs_ms_until_start(&g->procs);
    if (proc_due >= 0 && proc_due < timeout)
        timeout = proc_due;
    if (zmq_poll(items, n, timeout) < 0 && zmq_errno() != EINTR) {
        log_err("zmq_poll: %s", zmq_strerror(zmq_errno()));
        usleep(10000);
        return;
    }
    if (items[1].revents)
        drain_outbox(g);
    procs_handle(&g->procs, items + first_proc, (size_t)n - first_proc);
    bus_flush(&g->bus);
    if (items[0].revents)
        for (int i = 0; i < 64; i++) { /* a burst of requests cannot starve the rest */
            int events = 0;
            size_t len = sizeof(events);
            zmq_getsockopt(g->control, ZMQ_EVENTS, &events, &len);
            if (!(events & ZMQ_POLLIN))
                break;
            handle_control(g);
        }
    if (g->zap && items[3].revents)
        zap_handle(g->zap, &g->keys);
    if (udev_item >= 0 && items[udev_item].revents)
        hotplug_dispatch(g->hotplug, &g->plugins);
    if (g->ble)
        ble_hotplug_process(g->ble);
    if (items[2].revents)
        handle_signal(g);
    if (ms_until(&g->next_heartbeat) == 0)
        publish_heartbeat(g);
    expire_commands(g);
    report_hung_devices(g);
    watch_journal(g);
    child_start_if_due(&g->web);
    procs_start_due(&g->procs);
    ping_watchdog_if_due(g);
}

static void stop_devices(struct gateway *g)
{
    for (size_t i = 0; i < g->n_devs; i++)
        retire_device(g, g->devs[i], false);
    struct timespec start;
    monotonic_now(&start);
    while (g->n_devs > 0 && elapsed_ms(&start) < STOP_GRACE_MS) {
        zmq_pollitem_t items[1 + MAX_PROC_ITEMS] = {{NULL, g->outbox.fd, ZMQ_POLLIN, 0}};
        size_t n = 1 + procs_pollitems(&g->procs, items + 1, MAX_PROC_ITEMS);
        zmq_poll(items, (int)n, 100);
        drain_outbox(g);
        procs_handle(&g->procs, items + 1, n - 1);
        procs_reap(&g->procs);
        drain_outbox(g); /* what a plugin host that ended left */
    }
    if (g->n_devs > 0)
        log_err("%zu device(s) did not stop within %d ms; exiting anyway", g->n_devs, STOP_GRACE_MS);
}

/* Stopping, the loop answers no request: a client that connects now is refused at
 * once ("nothing listening") rather than left waiting for an answer that never comes.
 * Connected clients keep their connection, for the answers still owed them. */
static void stop_listening(struct gateway *g)
{
    char endpoint[512];
    size_t len = sizeof(endpoint);
    if (g->control && zmq_getsockopt(g->control, ZMQ_LAST_ENDPOINT, endpoint, &len) == 0)
        zmq_unbind(g->control, endpoint);
}

static void shutdown_gateway(struct gateway *g, bool devices_may_hang)
{
    stop_listening(g);
    child_stop(&g->web, 3000);
    if (g->bus.pub) {
        stop_devices(g);
        publish_gateway_event(g, "stopped", json_pack("{s:I}", "seq", (json_int_t)g->bus.seq + 1));
    }
    procs_close(&g->procs);
    hotplug_close(g->hotplug);
    ble_hotplug_close(g->ble);
    if (g->control)
        zmq_close(g->control);
    bus_close(&g->bus);
    journal_close(&g->journal);
    free(g->private_endpoint);
    free(g->inflight); /* the routes belong to mail that never came back */
    if (g->zap)
        zmq_close(g->zap);
    bool clean = g->n_devs == 0 && !devices_may_hang;
    if (g->zctx)
        zmq_ctx_term(g->zctx);
    if (clean) {
        free(g->devs);
        transports_global_exit();
        plugin_set_free(&g->plugins);
    }
    curve_free_authorized(&g->keys);
    config_free(&g->conf);
    if (g->sigfd >= 0)
        close(g->sigfd);
    mailbox_destroy(&g->outbox);
}

int gateway_run(const char *config_path)
{
    struct gateway g = {.sigfd = -1, .running = true, .journal.fd = -1};
    char err[1024];
    log_init("accessgwd");
    g.sigfd = signals_fd(SIGCHLD /* accessgw-web exited */);
    if (mailbox_init(&g.outbox) < 0 || g.sigfd < 0 ||
        load_config_and_plugins(&g.conf, &g.plugins, config_path, err, sizeof(err)) < 0) {
        log_err("%s", err[0] ? err : strerror(errno));
        plugin_set_free(&g.plugins);
        config_free(&g.conf);
        return 1;
    }
    log_set_level(g.conf.log_level);
    device_set_state_dir(g.conf.state_dir);
    g.isolated = g.conf.isolation;
    struct proc_hooks hooks = {&g, deliver_mail, registry, &g.outbox};
    if (procs_init(&g.procs, &g.plugins, &hooks, g.conf.state_dir, g.conf.log_level,
                   g.conf.command_timeout_ms) < 0) {
        log_err("out of memory");
        shutdown_gateway(&g, false);
        return 1;
    }
    if (transports_global_init() < 0 || open_bus(&g, err, sizeof(err)) < 0) {
        log_err("%s", err);
        shutdown_gateway(&g, false);
        return 1;
    }
    monotonic_now(&g.started);
    g.next_heartbeat = g.started;
    sd_watchdog_enabled(0, &g.watchdog_usec);
    g.next_watchdog = g.started;
    publish_started(&g);
    start_hotplug(&g);
    child_init(&g.web, "accessgw-web", g.conf.path);
    child_want(&g.web, g.conf.web.line != 0);
    reconcile(&g);
    sd_notify(0, "READY=1");
    while (g.running)
        poll_once(&g);
    sd_notify(0, "STOPPING=1");
    shutdown_gateway(&g, false);
    log_notice("stopped");
    return 0;
}

int gateway_check_config(const char *config_path)
{
    struct gateway_conf conf;
    struct plugin_set plugins = {0};
    char err[1024] = "";
    log_init("accessgwd");
    log_set_level(4);
    int rc = load_config_and_plugins(&conf, &plugins, config_path, err, sizeof(err));
    if (rc == 0 && conf.private_events) {
        struct key_list keys;
        char secret[Z85_KEY_LEN + 1];
        rc = load_keys(NULL, &conf, &keys, secret, err, sizeof(err));
        explicit_bzero(secret, sizeof(secret));
        curve_free_authorized(&keys);
    }
    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    else
        printf("%s: OK (%zu device(s), %zu plugin(s))\n", config_path, conf.n_devices, plugins.n);
    if (rc == 0 || conf.path)
        config_free(&conf);
    plugin_set_free(&plugins);
    return rc < 0 ? 1 : 0;
}
