/* Device commands in flight.  Main loop only.
 *
 * A worker may be stuck (in a plugin's open(), or in a transaction with a
 * device that went silent), so the main loop keeps each command it handed
 * over with a deadline: a device with COMMANDS_PER_DEVICE unanswered answers
 * "busy" at once, and a command unanswered after command_timeout_ms gets
 * "timeout".  The route stays with the worker's mail until that comes back
 * (then the late answer is dropped), so nothing is freed twice and the queue
 * a client can build is bounded. */
#include "daemon.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "monotonic.h"

size_t commands_waiting(const struct gateway *g, const struct device *dev)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n_inflight; i++)
        n += g->inflight[i].dev == dev;
    return n;
}

bool track_command(struct gateway *g, const struct device *dev, const char *target,
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
bool untrack_command(struct gateway *g, struct route *r)
{
    for (size_t i = 0; i < g->n_inflight; i++)
        if (g->inflight[i].route == r) {
            g->inflight[i] = g->inflight[--g->n_inflight];
            break;
        }
    return !r->expired;
}

void expire_commands(struct gateway *g)
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

long ms_until_next_expiry(const struct gateway *g)
{
    long t = LONG_MAX;
    for (size_t i = 0; i < g->n_inflight; i++)
        if (!g->inflight[i].route->expired && ms_until(&g->inflight[i].deadline) < t)
            t = ms_until(&g->inflight[i].deadline);
    return t;
}
