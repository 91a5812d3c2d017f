/* The control verbs: ping, devices, replay, followup_handled, and
 * <class>.<verb> for a device (handed to the runner).  Main loop only. */
#define _GNU_SOURCE
#include "daemon.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "log.h"
#include "monotonic.h"
#include "state.h"

static void verb_ping(struct gateway *g, struct control_request *req)
{
    json_t *result = json_pack("{s:s, s:s, s:I, s:I, s:I}", "gateway", g->bus.gateway_id,
                               "version", ACCESSGW_VERSION_STRING, "epoch",
                               (json_int_t)g->bus.epoch, "seq", (json_int_t)g->bus.seq,
                               "uptime_s", (json_int_t)(elapsed_ms(&g->started) / 1000));
    if (g->curve_public[0])
        json_object_set_new(result, "private_events_key", json_string(g->curve_public));
    control_reply_ok(g->control, req->route, result);
}

/* [{verb, args (a JSON Schema), help}] from the plugin's verb table */
static json_t *verbs_of(const struct agw_plugin *p)
{
    json_t *list = json_array();
    for (const struct agw_verb *v = AGW_PLUGIN_HAS(p, verbs) ? p->verbs : NULL; v && v->name; v++) {
        char full[128];
        snprintf(full, sizeof(full), "%s.%s", p->device_class, v->name);
        json_t *o = json_pack("{s:s, s:s}", "verb", full, "help", v->help ? v->help : "");
        json_t *schema = v->args ? json_loads(v->args, 0, NULL) : NULL;
        if (schema)
            json_object_set_new(o, "args", schema);
        json_array_append_new(list, o);
    }
    return list;
}

static void verb_devices(struct gateway *g, struct control_request *req)
{
    bool with_verbs = json_is_true(json_object_get(req->args, "verbs"));
    json_t *list = json_array();
    for (size_t i = 0; i < g->devices.n; i++) {
        struct device *dev = g->devices.items[i];
        if (dev->retiring)
            continue;
        enum agw_state st;
        char reason[DEVICE_REASON_MAX];
        device_get_state(dev, &st, reason, sizeof(reason));
        json_t *o = device_description(dev);
        json_object_set_new(o, "id", json_string(dev->id));
        json_object_set_new(o, "state", json_string(device_state_name(st)));
        json_object_set_new(o, "reason", json_string(reason));
        json_t *info = device_get_info(dev);
        if (json_object_size(info))
            json_object_set(o, "info", info);
        json_decref(info);
        if (with_verbs)
            json_object_set_new(o, "verbs", verbs_of(dev->plugin));
        json_t *children = device_children(dev);
        size_t k;
        json_t *c;
        json_array_foreach(children, k, c)
        { /* a child shares its parent's transport and state */
            json_t *child = json_deep_copy(o);
            json_object_del(child, "info");
            json_object_set(child, "id", json_object_get(c, "id"));
            json_object_set_new(child, "parent", json_string(dev->id));
            if (json_string_length(json_object_get(c, "location")))
                json_object_set(child, "location", json_object_get(c, "location"));
            else
                json_object_del(child, "location");
            json_array_append_new(list, child);
        }
        json_decref(children);
        json_array_append_new(list, o);
    }
    control_reply_ok(g->control, req->route, json_pack("{s:o}", "devices", list));
}

static bool whole_number(const json_t *v) { return json_is_integer(v) && json_integer_value(v) >= 0; }

/* {"since":{"epoch":E,"seq":N}} -> *key; false (after the error reply) when malformed. */
static bool parse_since(struct gateway *g, struct control_request *req, const json_t *since,
                        struct journal_key *key)
{
    json_t *epoch = json_object_get(since, "epoch"), *seq = json_object_get(since, "seq");
    if (!json_is_object(since) || !whole_number(epoch) || !whole_number(seq)) {
        control_reply_error(g->control, req->route, "bad_args",
                            "\"since\" must be {\"epoch\": E, \"seq\": N} with whole numbers >= 0");
        return false;
    }
    *key = (struct journal_key){(uint64_t)json_integer_value(epoch),
                                (uint64_t)json_integer_value(seq)};
    return true;
}

static char *replay_from_journal(struct gateway *g, struct control_request *req, const json_t *since,
                                 const char *const *list, size_t n, size_t limit)
{
    struct journal_key key;
    if (!parse_since(g, req, since, &key))
        return NULL;
    if (!journal_is_open(&g->journal)) {
        control_reply_error(g->control, req->route, "unavailable",
                            "the journal is not available (%s); since_seq replays this epoch",
                            g->degraded[0] ? g->degraded : "[journal] max_mb = 0");
        return NULL;
    }
    struct journal_key now = {g->bus.epoch, g->bus.seq};
    char *result = journal_replay_json(&g->journal, key, list, n, limit, BUS_REPLAY_PAGE_BYTES, now);
    if (!result)
        control_reply_error(g->control, req->route, "internal", "out of memory");
    return result;
}

static void verb_replay(struct gateway *g, struct control_request *req)
{
    bus_flush(&g->bus); /* what a replay returns is on disk and sent first */
    json_t *since_seq = json_object_get(req->args, "since_seq");
    json_t *since = json_object_get(req->args, "since");
    json_t *prefixes = json_object_get(req->args, "prefixes");
    json_t *limit = json_object_get(req->args, "limit");
    if (!since && !whole_number(since_seq)) {
        control_reply_error(g->control, req->route, "bad_args",
                            "replay needs {\"since_seq\": N} or {\"since\": {\"epoch\": E, "
                            "\"seq\": N}} with whole numbers >= 0");
        return;
    }
    if ((prefixes && !json_is_array(prefixes)) || json_array_size(prefixes) > 32 ||
        (limit && (!json_is_integer(limit) || json_integer_value(limit) < 0))) {
        control_reply_error(g->control, req->route, "bad_args",
                            "\"prefixes\" must be an array of at most 32 strings, \"limit\" a "
                            "whole number");
        return;
    }
    const char *list[32];
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(prefixes); i++) {
        const char *s = json_string_value(json_array_get(prefixes, i));
        if (!s) {
            control_reply_error(g->control, req->route, "bad_args", "prefixes[%zu] is not a string", i);
            return;
        }
        list[n++] = s;
    }
    size_t max = limit ? (size_t)json_integer_value(limit) : 0;
    char *result;
    if (since) {
        if (!(result = replay_from_journal(g, req, since, list, n, max)))
            return;
    } else if (!(result = bus_replay_json(&g->bus, (uint64_t)json_integer_value(since_seq), list,
                                          n, max))) {
        control_reply_error(g->control, req->route, "internal", "out of memory");
        return;
    }
    control_reply_raw(g->control, req->route, result);
    free(result);
}

static void verb_for_device(struct gateway *g, struct control_request *req)
{
    const char *dot = strchr(req->verb, '.');
    if (!req->device) {
        control_reply_error(g->control, req->route, "bad_request",
                            "verb %.64s needs a \"device\"", req->verb);
        return;
    }
    struct device *dev = find_target(g, req->device);
    if (!dev) {
        control_reply_error(g->control, req->route, "unknown_device", "no device %.64s",
                            req->device);
        return;
    }
    size_t cls_len = (size_t)(dot - req->verb);
    if (strlen(dev->plugin->device_class) != cls_len ||
        strncmp(dev->plugin->device_class, req->verb, cls_len) != 0 || !dot[1]) {
        control_reply_error(g->control, req->route, "unknown_verb",
                            "device %s is a %s device; it has no verb %.64s", dev->id,
                            dev->plugin->device_class, req->verb);
        return;
    }
    if (commands_waiting(g, dev) >= COMMANDS_PER_DEVICE) {
        control_reply_error(g->control, req->route, "busy",
                            "device %s has %d commands waiting; try again later", dev->id,
                            COMMANDS_PER_DEVICE);
        return;
    }
    if (!track_command(g, dev, req->device, req->route)) {
        control_reply_error(g->control, req->route, "internal", "out of memory");
        return;
    }
    g->runner.ops->command(&g->runner, dev, req->device, strdup(dot + 1), json_incref(req->args),
                           req->route);
}

/* A bad rating followed up (the staff console's 已处理): published for every console
 * and the platform, as an acknowledged call is.  The list itself is accessgw-web's. */
static void verb_followup_handled(struct gateway *g, struct control_request *req)
{
    const char *id = json_string_value(json_object_get(req->args, "id"));
    const char *by = json_string_value(json_object_get(req->args, "by"));
    if (!id || !by || !*id || !*by || strlen(id) > 128 || strlen(by) > 64) {
        control_reply_error(g->control, req->route, "bad_args",
                            "{\"id\": the rating event's id, \"by\": staff (1-64)}");
        return;
    }
    publish_gateway_event(g, "followup_handled", json_pack("{s:s, s:s}", "id", id, "by", by));
    control_reply_ok(g->control, req->route, json_object());
}

/* The gateway's own verbs; any other verb with a dot is a device's. */
static const struct gateway_verb {
    const char *name;
    void (*handle)(struct gateway *g, struct control_request *req);
} gateway_verbs[] = {
    {"ping", verb_ping},
    {"devices", verb_devices},
    {"replay", verb_replay},
    {"followup_handled", verb_followup_handled},
};

void handle_control(struct gateway *g)
{
    struct control_request req;
    if (!control_recv(g->control, &req))
        return;
    const struct gateway_verb *v = NULL;
    for (size_t i = 0; i < sizeof(gateway_verbs) / sizeof(*gateway_verbs) && !v; i++)
        if (strcmp(req.verb, gateway_verbs[i].name) == 0)
            v = &gateway_verbs[i];
    if (v)
        v->handle(g, &req);
    else if (strchr(req.verb, '.'))
        verb_for_device(g, &req);
    else
        control_reply_error(g->control, req.route, "unknown_verb", "no verb %.64s", req.verb);
    control_request_done(&req);
}
