/* A plugin that watches where and when its on_timer runs, for the tests of
 * shared timers (AGW_TIMERS_SHARED): built once with the flag (testshared) and
 * once without (testowntimers).  Every callback counts itself in and out, so a
 * timer run beside another callback of the same device is seen (overlaps).
 *   [device] interval_ms = N         the timer
 *   verb slow {"ms": N}              a command that takes N ms
 *   verb stats                       what it saw */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <accessgw/plugin.h>

struct watched {
    pid_t worker;          /* the thread open() ran on: the device's own */
    atomic_int inside;     /* callbacks running now */
    atomic_long overlaps;  /* a callback that began while another ran */
    atomic_long ticks, on_own, on_other;
    atomic_int other_thread; /* the last thread not its own that ran on_timer */
};

static const char *const keys[] = {"interval_ms", NULL};

static struct watched *self(struct agw_device *dev) { return agw_userdata(dev); }

static void enter(struct watched *w)
{
    if (atomic_fetch_add(&w->inside, 1) != 0)
        atomic_fetch_add(&w->overlaps, 1);
}

static void leave(struct watched *w) { atomic_fetch_sub(&w->inside, 1); }

static int t_open(struct agw_device *dev)
{
    unsigned interval;
    if (agw_config_uint(dev, "interval_ms", 100, 1, 60000, &interval) < 0)
        return -22;
    struct watched *w = calloc(1, sizeof(*w));
    if (!w)
        return -12;
    w->worker = gettid();
    agw_set_userdata(dev, w);
    agw_set_timer(dev, interval);
    return 0;
}

static void t_close(struct agw_device *dev) { free(self(dev)); }

static void t_timer(struct agw_device *dev)
{
    struct watched *w = self(dev);
    enter(w);
    pid_t tid = gettid();
    if (tid == w->worker) {
        atomic_fetch_add(&w->on_own, 1);
    } else {
        atomic_fetch_add(&w->on_other, 1);
        atomic_store(&w->other_thread, tid);
    }
    atomic_fetch_add(&w->ticks, 1);
    usleep(200); /* long enough for an overlap to be caught */
    leave(w);
}

static int t_command(struct agw_device *dev, const char *target, const char *verb, json_t *args,
                     json_t **result)
{
    (void)target;
    struct watched *w = self(dev);
    if (strcmp(verb, "slow") == 0) {
        enter(w);
        usleep((useconds_t)json_integer_value(json_object_get(args, "ms")) * 1000);
        leave(w);
        return AGW_CMD_OK;
    }
    if (strcmp(verb, "stats") == 0) {
        *result = json_pack("{s:I, s:I, s:I, s:I, s:i, s:i}", "ticks", (json_int_t)w->ticks,
                            "on_own_thread", (json_int_t)w->on_own, "on_other_thread",
                            (json_int_t)w->on_other, "overlaps", (json_int_t)w->overlaps,
                            "worker", (int)w->worker, "other_thread", (int)w->other_thread);
        return AGW_CMD_OK;
    }
    return AGW_CMD_UNKNOWN_VERB;
}

AGW_PLUGIN_DEFINE(.id = PLUGIN_ID, .device_class = "timers", .version = "0",
                  .description = "test: where on_timer runs",
                  .config_keys = keys,
                  .transports = AGW_TRANSPORT_BIT(AGW_TRANSPORT_NONE),
                  .open = t_open, .close = t_close, .on_timer = t_timer, .command = t_command,
                  .timers = PLUGIN_TIMERS);
