/* The mail devices send back (replies, exits, degraded, events), from worker
 * threads through the outbox or from plugin hosts through the runner: one
 * dispatcher for both.  Main loop only. */
#define _GNU_SOURCE
#include "daemon.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mask.h"

static void deliver_reply(struct gateway *g, struct out_mail *m)
{
    struct route *r = m->route;
    if (!untrack_command(g, r)) {
        route_free(r);
        return;
    }
    if (m->status == AGW_CMD_OK) {
        /* the control socket is as public as the events endpoint: masked here, by the
         * plugin's declaration, wherever the answer came from */
        json_t *result = m->data;
        m->data = NULL;
        if (mask_has_personal(result, m->personal)) {
            json_t *masked = mask_public_view(result, m->personal);
            mask_wipe_decref(result);
            result = masked;
        }
        control_reply_ok(g->control, r, result);
        return;
    }
    json_t *msg = json_object_get(m->data, "message");
    const char *code = device_status_code(m->status);
    control_reply_error(g->control, r, code, "%s",
                        json_is_string(msg) ? json_string_value(msg) : code);
}

static void handle_exited(struct gateway *g, struct out_mail *m)
{
    struct device *dev = device_table_find(&g->devices, m->device);
    if (!dev || !dev->retiring)
        return;
    const char *reason = !g->running     ? "gateway stopping"
                         : dev->syspath ? "unplugged"
                                        : "reconfigured";
    publish_device_event(g, dev->id, "detached",
                         json_pack("{s:s, s:s}", "plugin", dev->plugin->id, "reason", reason));
    json_t *children = device_children(dev);
    size_t k;
    json_t *c;
    json_array_foreach(children, k, c) publish_device_event(
        g, json_string_value(json_object_get(c, "id")), "detached",
        json_pack("{s:s, s:s}", "plugin", dev->plugin->id, "reason", "parent detached"));
    json_decref(children);
    log_lifecycle(6, "device %s detached", dev->id);
    forget_device(g, dev);
    if (g->running)
        reconcile(g);
}

/* Mail from a device worker, or from a plugin host process (plugin_proc.c). */
static void handle_out_mail(struct gateway *g, struct out_mail *m)
{
    switch (m->kind) {
    case OUT_EVENT:
        publish_device_data(g, m->cls, m->device, m->event, m->data_json, m->personal, &m->time);
        break;
    case OUT_REPLY: deliver_reply(g, m); break;
    case OUT_DEGRADED: report_degraded(g, json_string_value(json_object_get(m->data, "reason"))); break;
    case OUT_EXITED: handle_exited(g, m); break;
    case OUT_CHANGED: break; /* read under the device's lock when asked */
    case OUT_OPEN:
    case OUT_SAVE: break; /* only plugin hosts post these, to their own loop */
    }
    out_mail_free(m); /* an answer nobody took any more: its personal fields are wiped */
}

void deliver_mail(void *ctx, struct out_mail *m) { handle_out_mail(ctx, m); }

void drain_outbox(struct gateway *g)
{
    struct mail *all = mailbox_take_all(&g->outbox);
    while (all) {
        struct out_mail *m = (struct out_mail *)all;
        all = all->next;
        handle_out_mail(g, m);
    }
    bus_flush(&g->bus);
}
