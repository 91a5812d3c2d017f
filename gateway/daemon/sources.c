/* What accessgwd's loop waits on, each a loop source (loop.h) in the order
 * the loop serves them: the devices' mail, the runner, the control socket,
 * ZAP, udev, BlueZ, signals, and the clock.  Main loop only. */
#define _GNU_SOURCE
#include "daemon.h"

#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"
#include "monotonic.h"

static size_t one_fd(zmq_pollitem_t *items, int fd)
{
    items[0] = (zmq_pollitem_t){NULL, fd, ZMQ_POLLIN, 0};
    return 1;
}

static bool ready(const zmq_pollitem_t *items, size_t n) { return n && items[0].revents; }

/* ---- the devices' mail: worker threads post to the outbox ---- */

static size_t outbox_fill(void *ctx, zmq_pollitem_t *items, size_t max)
{
    struct gateway *g = ctx;
    (void)max;
    return one_fd(items, g->outbox.fd);
}

static void outbox_run(void *ctx, const zmq_pollitem_t *items, size_t n)
{
    if (ready(items, n))
        drain_outbox(ctx);
}

/* ---- the runner: plugin hosts' links and stderr ---- */

static size_t runner_fill(void *ctx, zmq_pollitem_t *items, size_t max)
{
    struct gateway *g = ctx;
    return g->runner.ops->pollitems(&g->runner, items, max);
}

static long runner_due(void *ctx)
{
    struct gateway *g = ctx;
    return g->runner.ops->ms_until_due(&g->runner);
}

static void runner_run(void *ctx, const zmq_pollitem_t *items, size_t n)
{
    struct gateway *g = ctx;
    g->runner.ops->handle(&g->runner, items, n);
    bus_flush(&g->bus);
    g->runner.ops->run_due(&g->runner);
}

/* ---- the control socket ---- */

static size_t control_fill(void *ctx, zmq_pollitem_t *items, size_t max)
{
    struct gateway *g = ctx;
    (void)max;
    items[0] = (zmq_pollitem_t){g->control, 0, ZMQ_POLLIN, 0};
    return 1;
}

static void control_run(void *ctx, const zmq_pollitem_t *items, size_t n)
{
    struct gateway *g = ctx;
    if (!ready(items, n))
        return;
    for (int i = 0; i < 64; i++) { /* a burst of requests cannot starve the rest */
        int events = 0;
        size_t len = sizeof(events);
        zmq_getsockopt(g->control, ZMQ_EVENTS, &events, &len);
        if (!(events & ZMQ_POLLIN))
            break;
        handle_control(g);
    }
}

/* ---- ZAP: who may subscribe to private events ---- */

static size_t zap_fill(void *ctx, zmq_pollitem_t *items, size_t max)
{
    struct gateway *g = ctx;
    (void)max;
    if (!g->zap)
        return 0;
    items[0] = (zmq_pollitem_t){g->zap, 0, ZMQ_POLLIN, 0};
    return 1;
}

static void zap_run(void *ctx, const zmq_pollitem_t *items, size_t n)
{
    struct gateway *g = ctx;
    if (ready(items, n))
        zap_handle(g->zap, &g->keys);
}

/* ---- the private endpoint's subscribers (audited per key) ---- */

static size_t subscribers_fill(void *ctx, zmq_pollitem_t *items, size_t max)
{
    struct gateway *g = ctx;
    (void)max;
    if (!g->bus.priv || !g->bus.subs.monitor)
        return 0;
    items[0] = (zmq_pollitem_t){g->bus.priv, 0, ZMQ_POLLIN, 0};
    items[1] = (zmq_pollitem_t){g->bus.subs.monitor, 0, ZMQ_POLLIN, 0};
    return 2;
}

static void subscribers_run(void *ctx, const zmq_pollitem_t *items, size_t n)
{
    struct gateway *g = ctx;
    if (ready(items, n) || (n > 1 && (items[1].revents & ZMQ_POLLIN)))
        bus_take_subscriptions(&g->bus);
}

/* ---- hotplug: udev, BlueZ and PC/SC ---- */

static size_t udev_fill(void *ctx, zmq_pollitem_t *items, size_t max)
{
    struct gateway *g = ctx;
    (void)max;
    return g->hotplug ? one_fd(items, hotplug_fd(g->hotplug)) : 0;
}

static void udev_run(void *ctx, const zmq_pollitem_t *items, size_t n)
{
    struct gateway *g = ctx;
    if (ready(items, n))
        hotplug_dispatch(g->hotplug, &g->plugins);
}

static size_t ble_fill(void *ctx, zmq_pollitem_t *items, size_t max)
{
    struct gateway *g = ctx;
    (void)max;
    if (!g->ble)
        return 0;
    ble_hotplug_process(g->ble); /* sd-bus may hold messages it already read */
    one_fd(items, ble_hotplug_fd(g->ble));
    items[0].events = (short)ble_hotplug_events(g->ble); /* a call may wait to be written */
    return 1;
}

static long ble_due(void *ctx)
{
    struct gateway *g = ctx;
    return g->ble ? ble_hotplug_ms_until(g->ble) : -1;
}

static void ble_run(void *ctx, const zmq_pollitem_t *items, size_t n)
{
    struct gateway *g = ctx;
    (void)items, (void)n;
    if (g->ble)
        ble_hotplug_process(g->ble);
}

static size_t pcsc_fill(void *ctx, zmq_pollitem_t *items, size_t max)
{
    struct gateway *g = ctx;
    (void)max;
    return g->pcsc ? one_fd(items, pcsc_hotplug_fd(g->pcsc)) : 0;
}

static void pcsc_run(void *ctx, const zmq_pollitem_t *items, size_t n)
{
    struct gateway *g = ctx;
    if (ready(items, n))
        pcsc_hotplug_dispatch(g->pcsc);
}

/* ---- signals ---- */

static void reap_children(struct gateway *g)
{
    int status;
    pid_t pid;
    if (g->web.pid > 0 && (pid = waitpid(g->web.pid, &status, WNOHANG)) > 0)
        child_reaped(&g->web, pid, status);
    g->runner.ops->reap(&g->runner);
}

static size_t signal_fill(void *ctx, zmq_pollitem_t *items, size_t max)
{
    struct gateway *g = ctx;
    (void)max;
    return one_fd(items, g->sigfd);
}

static void signal_run(void *ctx, const zmq_pollitem_t *items, size_t n)
{
    struct gateway *g = ctx;
    struct signalfd_siginfo si;
    if (!ready(items, n))
        return;
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

/* ---- the clock: heartbeat, command deadlines, the journal, accessgw-web, the watchdog ---- */

static long clock_due(void *ctx)
{
    struct gateway *g = ctx;
    long t = ms_until(&g->next_heartbeat);
    if (g->watchdog_usec)
        t = sooner(t, ms_until(&g->next_watchdog));
    t = sooner(t, ms_until_next_expiry(g));
    bus_flush(&g->bus); /* nothing published waits while the loop does */
    t = sooner(t, journal_tick(&g->journal));
    return sooner(t, child_ms_until_start(&g->web));
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

static void clock_run(void *ctx, const zmq_pollitem_t *items, size_t n)
{
    struct gateway *g = ctx;
    (void)items, (void)n;
    if (ms_until(&g->next_heartbeat) == 0) {
        publish_heartbeat(g);
        audit_sync(&g->audit);            /* lines written in the last second made durable */
        syncer_check(&g->syncer);         /* a disk that takes seconds to sync is said */
        log_flush_suppressed();           /* on the same beat: no wake-up of its own */
        g->runner.ops->beat(&g->runner); /* the plugin hosts' hang watch and liveness, too */
    }
    expire_commands(g);
    watch_journal(g);
    child_start_if_due(&g->web);
    ping_watchdog_if_due(g);
}

int add_loop_sources(struct gateway *g, struct loop *l)
{
    const struct loop_source all[] = {
        {g, 1, outbox_fill, NULL, outbox_run},
        {g, 2 * g->plugins.n + 1, runner_fill, runner_due, runner_run}, /* links, stderrs, saves */
        {g, 1, control_fill, NULL, control_run},
        {g, 1, zap_fill, NULL, zap_run},
        {g, 2, subscribers_fill, NULL, subscribers_run},
        {g, 1, udev_fill, NULL, udev_run},
        {g, 1, ble_fill, ble_due, ble_run},
        {g, 1, pcsc_fill, NULL, pcsc_run},
        {g, 1, signal_fill, NULL, signal_run},
        {g, 0, NULL, clock_due, clock_run},
    };
    for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
        if (loop_add(l, &all[i]) < 0)
            return -1;
    return 0;
}

/* While stopping, no plugin host is started again: only what they send is read. */
static void runner_run_stopping(void *ctx, const zmq_pollitem_t *items, size_t n)
{
    struct gateway *g = ctx;
    g->runner.ops->handle(&g->runner, items, n);
    g->runner.ops->reap(&g->runner);
}

/* While stopping: only the devices' mail, until every device has said it stopped. */
int add_stopping_sources(struct gateway *g, struct loop *l)
{
    const struct loop_source all[] = {
        {g, 1, outbox_fill, NULL, outbox_run},
        {g, 2 * g->plugins.n + 1, runner_fill, NULL, runner_run_stopping},
    };
    for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
        if (loop_add(l, &all[i]) < 0)
            return -1;
    return 0;
}
