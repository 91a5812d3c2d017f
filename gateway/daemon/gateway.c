/* accessgwd's life: start (config, bus, runner, hotplug), the loop, stop.
 * Main loop only; the files it calls are listed in daemon.h. */
#define _GNU_SOURCE
#include "daemon.h"

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

/* The audit's head rides in every heartbeat; a state_dir it cannot be kept in leaves the
 * head at zeros, said, as for the journal. */
static void open_audit(struct gateway *g)
{
    char note[700], why[700];
    if (audit_open(&g->audit, g->conf.state_dir, g->conf.audit.max_days, note, sizeof(note), why,
                   sizeof(why)) < 0)
        log_err("audit: %s; no disclosure can be recorded, so none is made", why);
    else if (note[0])
        log_warn("audit: %s", note);
}

static int open_bus(struct gateway *g, char *err, size_t errlen)
{
    uint64_t epoch;
    char secret[Z85_KEY_LEN + 1] = "", note[512];
    syncer_start(&g->syncer); /* on failure its syncs are done on the loop, as before */
    open_journal(g);
    g->journal.syncer = &g->syncer;
    int durable = state_next_epoch(g->conf.state_dir, g->journal.last.epoch, &epoch, note,
                                   sizeof(note), err, errlen);
    if (note[0])
        log_warn("%s", note);
    open_audit(g); /* after the epoch: a state_dir holding an audit has seen epochs */
    g->audit.syncer = &g->syncer;
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
    if (load_keys(&g->conf, &g->keys, secret, err, errlen) < 0)
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
    g->bus.audit = g->audit.dir ? &g->audit : NULL; /* none: no private twin is sent */
    g->control = control_bind(g->zctx, g->conf.control, err, errlen);
    return g->control ? 0 : -1;
}

/* Readers a [device] section names are its own; pcscd's others are hotplugged. */
static void start_reader_hotplug(struct gateway *g)
{
    const char **named = readers_named(&g->conf);
    if (!named)
        return;
    g->pcsc = pcsc_hotplug_open(&g->plugins, named, on_pcsc_add, on_hotplug_remove, g);
    free(named);
}

static void start_hotplug(struct gateway *g)
{
    if (!g->conf.hotplug)
        return;
    g->ble = ble_hotplug_open(&g->plugins, on_ble_add, on_hotplug_remove, g);
    g->hotplug = hotplug_open(on_hotplug_add, on_hotplug_remove, g);
    if (g->hotplug)
        hotplug_enumerate(g->hotplug, &g->plugins); /* the monitor already listens */
    start_reader_hotplug(g);
}

static void stop_devices(struct gateway *g)
{
    for (size_t i = 0; i < g->devices.n; i++)
        retire_device(g, g->devices.items[i], false);
    struct loop stopping = {0};
    struct timespec start;
    monotonic_now(&start);
    if (add_stopping_sources(g, &stopping) < 0)
        log_err("out of memory: devices are not waited for");
    while (stopping.n && g->devices.n > 0 && elapsed_ms(&start) < STOP_GRACE_MS) {
        loop_turn(&stopping, 100);
        drain_outbox(g); /* what a plugin host that ended left */
    }
    loop_free(&stopping);
    if (g->devices.n > 0)
        log_err("%zu device(s) did not stop within %d ms; exiting anyway", g->devices.n, STOP_GRACE_MS);
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
    app_link_close(g);
    if (g->bus.pub) {
        stop_devices(g);
        publish_gateway_event(g, "stopped", json_pack("{s:I}", "seq", (json_int_t)g->bus.seq + 1));
    }
    g->runner.ops->close(&g->runner);
    hotplug_close(g->hotplug);
    ble_hotplug_close(g->ble);
    pcsc_hotplug_close(g->pcsc);
    if (g->control)
        zmq_close(g->control);
    bus_close(&g->bus);
    journal_close(&g->journal);
    audit_close(&g->audit);
    syncer_stop(&g->syncer);
    free(g->private_endpoint);
    free(g->inflight); /* the routes belong to mail that never came back */
    if (g->zap)
        zmq_close(g->zap);
    bool clean = g->devices.n == 0 && !devices_may_hang;
    if (g->zctx)
        zmq_ctx_term(g->zctx);
    if (clean) {
        device_table_free(&g->devices);
        transports_global_exit();
        plugin_set_free(&g->plugins);
    }
    curve_free_authorized(&g->keys);
    config_free(&g->conf);
    if (g->sigfd >= 0)
        close(g->sigfd);
    mailbox_destroy(&g->outbox);
    loop_free(&g->loop);
}

int gateway_run(const char *config_path)
{
    struct gateway g = {.sigfd = -1, .running = true, .journal.fd = -1, .audit.lock_fd = -1,
                        .app_link = -1, .web.keep_fd = -1};
    char err[1024] = "";
    log_init("accessgwd");
    abi1_use_calls(&abi1_device_calls); /* before any plugin is loaded */
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
    struct proc_hooks hooks = {&g, deliver_mail, publish_device_data, registry, registry_find,
                               &g.outbox};
    if (runner_init(&g.runner, g.conf.isolation, &g.plugins, &hooks, g.conf.state_dir,
                    g.conf.log_level, g.conf.command_timeout_ms) < 0 ||
        open_bus(&g, err, sizeof(err)) < 0 || add_loop_sources(&g, &g.loop) < 0) {
        log_err("%s", err[0] ? err : "out of memory");
        shutdown_gateway(&g, false);
        return 1;
    }
    runner_set_event_budget(&g.runner, g.conf.plugin_events_per_s);
    monotonic_now(&g.started);
    g.next_heartbeat = g.started;
    sd_watchdog_enabled(0, &g.watchdog_usec);
    g.next_watchdog = g.started;
    publish_started(&g);
    start_hotplug(&g);
    child_init(&g.web, "accessgw-web", g.conf.path);
    app_link_open(&g);
    child_want(&g.web, g.conf.web.line != 0);
    reconcile(&g);
    sd_notify(0, "READY=1");
    while (g.running)
        loop_turn(&g.loop, -1);
    sd_notify(0, "STOPPING=1");
    shutdown_gateway(&g, false);
    log_notice("stopped");
    return 0;
}
