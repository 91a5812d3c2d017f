/* The processes runner (runner.h): the default, one sandboxed plugin host per
 * plugin; plugin_proc.c does the work.  Main loop only. */
#include "runner.h"

static void attach(struct runner *r, struct device *dev) { procs_attach(&r->procs, dev); }

static void detach(struct runner *r, struct device *dev, bool removed)
{
    procs_detach(&r->procs, dev, removed);
}

static void command(struct runner *r, struct device *dev, const char *target, char *verb,
                    json_t *args, void *route)
{
    procs_command(&r->procs, dev, target, verb, args, route);
}

static size_t pollitems(struct runner *r, zmq_pollitem_t *items, size_t max)
{
    return procs_pollitems(&r->procs, items, max);
}

static void handle(struct runner *r, const zmq_pollitem_t *items, size_t n)
{
    procs_handle(&r->procs, items, n);
}

static void reap(struct runner *r) { procs_reap(&r->procs); }

/* the plugin hosts' hang watch and liveness ride on accessgwd's heartbeat */
static void beat(struct runner *r) { procs_tick(&r->procs); }

static long ms_until_due(const struct runner *r) { return procs_ms_until_start(&r->procs); }

static void run_due(struct runner *r) { procs_start_due(&r->procs); }

static void close_all(struct runner *r) { procs_close(&r->procs); }

const struct runner_ops runner_procs = {
    .attach = attach,
    .detach = detach,
    .command = command,
    .pollitems = pollitems,
    .handle = handle,
    .reap = reap,
    .beat = beat,
    .ms_until_due = ms_until_due,
    .run_due = run_due,
    .close = close_all,
};
