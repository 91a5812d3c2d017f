/* The threads runner (runner.h): isolation = none, each device's worker
 * thread inside accessgwd.  Main loop only. */
#include "runner.h"

#include <limits.h>

#include "monotonic.h"

/* A worker stuck in a plugin callback cannot say so itself: the main loop
 * does, so staff see the device down instead of a silent one.  Looked for
 * once a second, not at every turn of the loop: the limit is seconds, and a
 * busy loop turns thousands of times a second. */
#define HANG_CHECK_MS 1000

static void attach(struct runner *r, struct device *dev)
{
    (void)r;
    device_start(dev);
}

static void detach(struct runner *r, struct device *dev, bool removed)
{
    (void)r;
    device_request_stop(dev, removed);
}

static void command(struct runner *r, struct device *dev, const char *target, char *verb,
                    json_t *args, void *route)
{
    (void)r;
    device_post_command(dev, target, verb, args, route);
}

static size_t no_pollitems(struct runner *r, zmq_pollitem_t *items, size_t max)
{
    (void)r, (void)items, (void)max;
    return 0;
}

static void no_handle(struct runner *r, const zmq_pollitem_t *items, size_t n)
{
    (void)r, (void)items, (void)n;
}

static void nothing(struct runner *r) { (void)r; }

static long ms_until_hang_check(const struct runner *r)
{
    return ms_until(&r->next_hang_check);
}

static void check_hung_devices(struct runner *r)
{
    if (ms_until(&r->next_hang_check) > 0)
        return;
    monotonic_now(&r->next_hang_check);
    add_ms(&r->next_hang_check, HANG_CHECK_MS);
    size_t n;
    struct device **devs = r->hooks.devices(r->hooks.ctx, &n);
    for (size_t i = 0; i < n; i++)
        device_check_hung(devs[i], r->hang_ms);
}

const struct runner_ops runner_threads = {
    .attach = attach,
    .detach = detach,
    .command = command,
    .pollitems = no_pollitems,
    .handle = no_handle,
    .reap = nothing,
    .beat = nothing,
    .ms_until_due = ms_until_hang_check,
    .run_due = check_hung_devices,
    .close = nothing,
};
