/* Everything accessgwd puts on the bus goes through here: its own events
 * (gateway/<id>/..., device/<id>/...) and the events of devices, wherever
 * they run.  Main loop only. */
#define _GNU_SOURCE
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "monotonic.h"

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
void watch_journal(struct gateway *g)
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

void publish_heartbeat(struct gateway *g)
{
    json_t *data = json_pack("{s:I, s:I, s:I, s:s}", "seq", (json_int_t)(g->bus.seq + 1),
                             "uptime_s", (json_int_t)(elapsed_ms(&g->started) / 1000), "devices",
                             (json_int_t)g->devices.n, "audit_head", audit_head(&g->audit));
    publish_gateway_event(g, "heartbeat", data);
    add_ms(&g->next_heartbeat, g->conf.heartbeat_ms);
    if (ms_until(&g->next_heartbeat) == 0 && elapsed_ms(&g->next_heartbeat) > 5000)
        monotonic_now(&g->next_heartbeat); /* the clock jumped or we were stopped: don't burst */
}

void publish_started(struct gateway *g)
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

void publish_device_data(void *ctx, const char *cls, const char *subject, const char *event,
                         const char *data_json, const struct agw_personal_field *personal,
                         const struct timespec *time)
{
    struct gateway *g = ctx;
    bus_publish(&g->bus, cls, subject, event, true, data_json, personal, time);
}
