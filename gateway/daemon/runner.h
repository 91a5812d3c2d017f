/*
 * Where devices run, seen from accessgwd's main loop: one interface, two
 * backends (docs/ARCHITECTURE.md, "Runners").
 *
 *   runner_threads.c  each device's worker thread inside accessgwd
 *                     (isolation = none); the main loop watches for hangs.
 *   runner_procs.c    one sandboxed accessgw-plugin-host process per plugin
 *                     (the default), over plugin_proc.c; each host watches
 *                     its own workers.
 *
 * Either way what devices say comes back as worker mail (struct out_mail)
 * through hooks.deliver or the outbox, and their events through
 * hooks.publish: the rest of accessgwd never asks which backend runs.
 */
#ifndef AGW_RUNNER_H
#define AGW_RUNNER_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <zmq.h>

#include "device.h"
#include "loader.h"
#include "plugin_proc.h"

struct runner;

struct runner_ops {
    /* Runs dev (attached to the registry already). */
    void (*attach)(struct runner *r, struct device *dev);
    /* Stops dev (marked retiring at once); OUT_EXITED comes back as mail when it has stopped. */
    void (*detach)(struct runner *r, struct device *dev, bool removed);
    /* A device verb; takes verb and args; the answer comes back as mail. */
    void (*command)(struct runner *r, struct device *dev, const char *target, char *verb,
                    json_t *args, void *route);
    /* The backend's own sockets for the loop's poll, and their events. */
    size_t (*pollitems)(struct runner *r, zmq_pollitem_t *items, size_t max);
    void (*handle)(struct runner *r, const zmq_pollitem_t *items, size_t n);
    /* SIGCHLD */
    void (*reap)(struct runner *r);
    /* accessgwd's heartbeat: the same beat serves the backend's liveness checks */
    void (*beat)(struct runner *r);
    /* Work the backend has on a clock (restarts, hang checks): ms until the
     * next (-1: none), and doing what is due. */
    long (*ms_until_due)(const struct runner *r);
    void (*run_due)(struct runner *r);
    /* At shutdown, after every device stopped. */
    void (*close)(struct runner *r);
};

struct runner {
    const struct runner_ops *ops;
    struct proc_hooks hooks;
    unsigned hang_ms;
    struct timespec next_hang_check; /* threads: workers stuck in a plugin */
    struct plugin_procs procs;       /* processes */
};

/* isolated: plugin host processes (isolation = process), else threads.  Also
 * sets up the transports accessgwd drives itself (libusb only for threads). */
int runner_init(struct runner *r, bool isolated, const struct plugin_set *set,
                const struct proc_hooks *hooks, const char *state_dir, int log_level,
                unsigned hang_ms);
/* [gateway] plugin_events_per_s, at start and on reload */
void runner_set_event_budget(struct runner *r, unsigned events_per_s);

extern const struct runner_ops runner_threads, runner_procs;
#endif
