/* Choosing the runner (runner.h); the two backends live in their own files. */
#include "runner.h"

#include "transport.h"

int runner_init(struct runner *r, bool isolated, const struct plugin_set *set,
                const struct proc_hooks *hooks, const char *state_dir, int log_level,
                unsigned hang_ms)
{
    r->ops = isolated ? &runner_procs : &runner_threads;
    r->hooks = *hooks;
    r->hang_ms = hang_ms;
    if (isolated && procs_init(&r->procs, set, hooks, state_dir, log_level, hang_ms) < 0)
        return -1;
    /* libusb (a netlink socket, a thread) only where accessgwd drives devices itself */
    return transports_global_init(!isolated);
}

void runner_set_event_budget(struct runner *r, unsigned events_per_s)
{
    r->procs.events_per_s = events_per_s;
}
