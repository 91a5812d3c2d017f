#define _GNU_SOURCE
#include "gateway.h"
#include "gateway_internal.h"

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

/* ---- publishing ---- */

/* accessgwd's own events (nothing personal in them); takes data */
static void publish_own(struct gateway *g, const char *cls, const char *subject,
                        const char *event, bool device_source, json_t *data)
{
    struct timespec now;
    clock_now(&now);
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    bus_publish(&g->bus, cls, subject, event, device_source, text, NULL, &now);
    free(text);
}

void publish_gateway_event(struct gateway *g, const char *event, json_t *data)
{
    publish_own(g, "gateway", g->bus.gateway_id, event, false, data);
}

void publish_device_event(struct gateway *g, const char *device, const char *event,
                                 json_t *data)
{
    publish_own(g, "device", device, event, true, data);
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
void report_degraded(struct gateway *g, const char *reason)
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
    g->procs.events_per_s = g->conf.plugin_events_per_s;
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
    } else {
        int kept = state_reserve(g->conf.state_dir);
        if (kept < 0)
            log_warn("%s: cannot keep room for saves on a full disk: %s", g->conf.state_dir,
                     strerror(-kept));
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

/* The plugin host processes' sockets come after the loop's own items: at most
 * one per plugin loaded. */

static void poll_once(struct gateway *g)
{
    zmq_pollitem_t items[6 + 2 * g->procs.n]; /* a host's link and its stderr */
    const zmq_pollitem_t own[6] = {
        {g->control, 0, ZMQ_POLLIN, 0},
        {NULL, g->outbox.fd, ZMQ_POLLIN, 0},
        {NULL, g->sigfd, ZMQ_POLLIN, 0},
        {g->zap, 0, ZMQ_POLLIN, 0},
        {NULL, g->hotplug ? hotplug_fd(g->hotplug) : -1, ZMQ_POLLIN, 0},
        {NULL, g->ble ? ble_hotplug_fd(g->ble) : -1, ZMQ_POLLIN, 0},
    };
    memcpy(items, own, sizeof(own));
    int n = 3 + (g->zap != NULL);
    int udev_item = -1;
    if (g->hotplug) {
        items[n] = own[4];
        udev_item = n++;
    }
    if (g->ble) {
        ble_hotplug_process(g->ble); /* sd-bus may hold messages it already read */
        items[n] = own[5];
        items[n++].events = ble_hotplug_events(g->ble); /* a call may wait to be written */
    }
    size_t first_proc = (size_t)n;
    n += (int)procs_pollitems(&g->procs, items + n, 2 * g->procs.n);
    long timeout = ms_until(&g->next_heartbeat);
    if (g->watchdog_usec && ms_until(&g->next_watchdog) < timeout)
        timeout = ms_until(&g->next_watchdog);
    long expiry = ms_until_next_expiry(g);
    if (expiry < timeout)
        timeout = expiry;
    if (!g->isolated && ms_until(&g->next_hang_check) < timeout) /* else the hosts watch */
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
    long ble_due = g->ble ? ble_hotplug_ms_until(g->ble) : -1;
    if (ble_due >= 0 && ble_due < timeout)
        timeout = ble_due;
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
    if (ms_until(&g->next_heartbeat) == 0) {
        publish_heartbeat(g);
        log_flush_suppressed(); /* on the same beat: no wake-up of its own */
        procs_tick(&g->procs);  /* the plugin hosts' hang watch and liveness, too */
    }
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
        zmq_pollitem_t items[1 + 2 * g->procs.n];
        items[0] = (zmq_pollitem_t){NULL, g->outbox.fd, ZMQ_POLLIN, 0};
        size_t n = 1 + procs_pollitems(&g->procs, items + 1, 2 * g->procs.n);
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
        idmap_free(&g->devs_by_id);
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
    struct proc_hooks hooks = {&g, deliver_mail, publish_device_data, registry, registry_find,
                              &g.outbox};
    if (procs_init(&g.procs, &g.plugins, &hooks, g.conf.state_dir, g.conf.log_level,
                   g.conf.command_timeout_ms) < 0) {
        log_err("out of memory");
        shutdown_gateway(&g, false);
        return 1;
    }
    g.procs.events_per_s = g.conf.plugin_events_per_s;
    /* libusb (a netlink socket, a thread) only where USB devices are driven */
    if (transports_global_init(!g.isolated) < 0 || open_bus(&g, err, sizeof(err)) < 0) {
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
    if (rc == 0 && conf.web.token_file) { /* accessgw-web would serve with commands off */
        char why[512], where[600];
        char *token = trust_read_secret("[web] token_file", conf.web.token_file, 16, why,
                                        sizeof(why));
        if (!token) {
            snprintf(err, sizeof(err), "%s: %s",
                     config_where(&conf, "web", "token_file", where, sizeof(where)), why);
            rc = -1;
        } else {
            explicit_bzero(token, strlen(token));
            free(token);
        }
    }
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
