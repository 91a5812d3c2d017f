/* What a plugin host sends accessgwd: every field is checked, a host may be broken. */
#define _GNU_SOURCE
#include "proc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "monotonic.h"
#include "config.h"
#include "envelope.h"
#include "json_check.h"
#include "mask.h"

/* The device of this child with this id, or (children_too) the one that has a
 * child of that id: by the registry's index, each of this child's devices
 * looked at only for its children. */
static struct device *device_of(struct plugin_procs *ps, struct plugin_proc *p, const char *id,
                                bool children_too)
{
    struct device *dev = ps->hooks.find(ps->hooks.ctx, id);
    if (dev && dev->plugin == p->plugin->desc)
        return dev;
    if (!children_too)
        return NULL;
    size_t n;
    struct device **all = ps->hooks.devices(ps->hooks.ctx, &n);
    for (size_t i = 0; i < n; i++)
        if (all[i]->plugin == p->plugin->desc && all[i]->n_children &&
            device_has_child(all[i], id))
            return all[i];
    return NULL;
}

static json_t *parse_object(const char *text)
{
    json_t *o = text[0] ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (o && !json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* An event's data is checked without building it (protocols/json): jansson
 * decides only what the checker is not sure of. */
static bool is_one_object(const char *text)
{
    enum json_check v = json_check_object(text, strlen(text), NULL);
    if (v == JSON_CHECK_UNSURE) {
        json_t *o = parse_object(text);
        v = o ? JSON_CHECK_OBJECT : JSON_CHECK_INVALID;
        mask_wipe_decref(o);
    }
    return v == JSON_CHECK_OBJECT;
}

static const char *take_event(struct plugin_procs *ps, struct plugin_proc *p,
                              const struct plink_msg *m)
{
    if (!within_event_budget(ps, p))
        return "more events a second than [gateway] plugin_events_per_s allows";
    const struct agw_plugin *desc = p->plugin->desc;
    bool own_class = strcmp(m->s1, desc->device_class) == 0;
    bool device_event = strcmp(m->s1, "device") == 0 &&
                        (strcmp(m->s2, "state") == 0 || strcmp(m->s2, "attached") == 0);
    if (!own_class && !device_event)
        return "an event of another class";
    if (!envelope_valid_name(m->s2) || !device_of(ps, p, m->device, true))
        return "an event of a device it does not run";
    if (!is_one_object(m->json))
        return "event data that is not a JSON object";
    struct timespec time = {(time_t)m->sec, (long)m->nsec};
    /* Published as the child encoded it, checked above; whether to mask is the
     * plugin's declaration, never the child's say. */
    ps->hooks.publish(ps->hooks.ctx, m->s1, m->device, m->s2, m->json,
                      own_class ? desc->personal : NULL, &time);
    return NULL;
}

static const char *take_reply(struct plugin_procs *ps, struct plugin_proc *p,
                              const struct plink_msg *m)
{
    size_t i = 0;
    while (i < p->n_pending && p->pending[i].token != m->token)
        i++;
    if (i == p->n_pending || strcmp(p->pending[i].device, m->device) != 0)
        return "an answer to a command it was not given";
    struct pending_command c = p->pending[i];
    p->pending[i] = p->pending[--p->n_pending];
    int status = m->status <= 0 && m->status >= AGW_CMD_UNSUPPORTED ? m->status : AGW_CMD_DEVICE_ERROR;
    struct out_mail *out = mail_for(c.device, OUT_REPLY);
    if (!out)
        return NULL;
    out->route = c.route;
    out->status = status;
    out->data = parse_object(m->json);
    out->personal = p->plugin->desc->personal; /* masked by accessgwd, not trusted to the child */
    ps->hooks.deliver(ps->hooks.ctx, out);
    return NULL;
}

/* A child's id names no other device: not a configured or plugged one, not another
 * device's child, not twice in one list.  A plugin that names one is impersonating it
 * (its state, its events, the console's row, the uplink's retained state). */
static bool child_id_taken(struct plugin_procs *ps, const struct device *parent, const char *id,
                           const struct device_child *earlier, size_t n_earlier)
{
    if (ps->hooks.find(ps->hooks.ctx, id))
        return true;
    for (size_t i = 0; i < n_earlier; i++)
        if (strcmp(earlier[i].id, id) == 0)
            return true;
    size_t n;
    struct device **all = ps->hooks.devices(ps->hooks.ctx, &n);
    for (size_t i = 0; i < n; i++)
        if (all[i] != parent && all[i]->n_children && device_has_child(all[i], id))
            return true;
    return false;
}

static const char *take_snapshot(struct plugin_procs *ps, struct plugin_proc *p,
                                 const struct plink_msg *m)
{
    struct device *dev = device_of(ps, p, m->device, false);
    json_t *info = parse_object(m->json);
    json_t *children = json_loads(m->json2, 0, NULL);
    size_t n = json_array_size(children);
    struct device_child *list = calloc(n + 1, sizeof(*list));
    const char *bad = !dev                                  ? "the state of a device it does not run"
                      : m->status < 0 || m->status > AGW_STATE_ERROR ? "an unknown state"
                      : !info || !json_is_array(children) || !list   ? "device info that is not JSON"
                                                                     : NULL;
    for (size_t i = 0; !bad && i < n; i++) {
        json_t *c = json_array_get(children, i);
        const char *id = json_string_value(json_object_get(c, "id"));
        const char *loc = json_string_value(json_object_get(c, "location"));
        if (!id || strlen(id) > DEVICE_ID_MAX || !config_valid_name(id) || !loc)
            bad = "a child device with a bad id";
        else if (child_id_taken(ps, dev, id, list, i))
            bad = "a child device named as another device";
        else {
            snprintf(list[i].id, sizeof(list[i].id), "%s", id);
            snprintf(list[i].location, sizeof(list[i].location), "%s", loc);
        }
    }
    if (!bad) {
        pthread_mutex_lock(&dev->lock);
        dev->state = (enum agw_state)m->status;
        snprintf(dev->reason, sizeof(dev->reason), "%s", m->s1);
        json_decref(dev->info);
        dev->info = info;
        info = NULL;
        free(dev->children);
        dev->children = list;
        dev->n_children = n;
        list = NULL;
        pthread_mutex_unlock(&dev->lock);
    }
    json_decref(info);
    json_decref(children);
    free(list);
    return bad;
}

/* A plugin host opens no device: accessgwd opens the node of a device it gave
 * that host (never a path the host names) and hands the descriptor over. */
static const char *open_node(struct plugin_procs *ps, struct plugin_proc *p, const char *id)
{
    struct device *dev = device_of(ps, p, id, false);
    const struct transport_ops *ops = dev ? transport_ops_for(dev->transport_kind) : NULL;
    if (!dev || !ops || !ops->adopt || !dev->path)
        return "a request to open a node it was not given";
    if (dev->retiring)
        return NULL;
    if (queued_nodes_of(p, id) >= QUEUED_FDS_PER_DEVICE)
        return "requests to open nodes faster than it takes them";
    struct transport t = {.fd = -1};
    char err[DEVICE_REASON_MAX] = "";
    int r = transport_fd_open(&t, dev->path, err, sizeof(err));
    if (r == 0 && ops->claim && (r = ops->claim(&t, err, sizeof(err))) < 0)
        transport_fd_close(&t);
    struct plink_writer w;
    plink_writer_init(&w, ps->out, PLINK_RECORD_MAX);
    if (plink_put_fd(&w, id, r < 0 ? -r : 0, err))
        send_record_with(p, w.buf, w.len, t.fd, id);
    else if (t.fd >= 0)
        close(t.fd);
    return NULL;
}

static void answer_save(struct plugin_procs *ps, struct plugin_proc *p, const char *device,
                        int error, const char *why);

/* A plugin host writes no file: accessgwd keeps its copy of the state (so a
 * host restarted while the disk is full still gets it), has it written off the
 * loop (state_writer.c), and says how that went (answer_saves); the host's
 * save_state waits for that answer. */
static const char *save_state(struct plugin_procs *ps, struct plugin_proc *p,
                              const struct plink_msg *m)
{
    struct device *dev = device_of(ps, p, m->device, false);
    if (!dev)
        return "the state of a device it does not run";
    long long now = monotonic_ms();
    if (now - p->saves_since_ms >= 1000) {
        p->saves_since_ms = now;
        p->saves = 0;
    }
    if (++p->saves > SAVES_PER_SECOND_MAX)
        return "more than 200 saved states in a second";
    json_t *state = parse_object(m->json);
    if (!state)
        return "saved state that is not a JSON object";
    json_decref(state);
    char *copy = strdup(m->json);
    if (!copy)
        return NULL;
    free(dev->saved_json);
    dev->saved_json = copy;
    struct state_save *s = state_save_new((size_t)(p - ps->items), p->pid, dev->plugin->id,
                                          dev->id, m->json);
    if (!s) {
        answer_save(ps, p, m->device, ENOMEM, "out of memory for the save");
        return NULL;
    }
    state_writer_post(&ps->saves, s);
    return NULL;
}

static void answer_save(struct plugin_procs *ps, struct plugin_proc *p, const char *device,
                        int error, const char *why)
{
    struct plink_writer w;
    plink_writer_init(&w, ps->out, PLINK_RECORD_MAX);
    if (plink_put_saved(&w, device, error, why))
        send_record(p, w.buf, w.len);
}

/* A failure to keep a device's state is said once per streak of failures. */
static void say_if_degraded(struct plugin_procs *ps, const struct state_save *s)
{
    struct device *dev = ps->hooks.find(ps->hooks.ctx, s->device);
    if (s->result < 0 && !(dev && dev->degraded_said)) {
        log_err("DEGRADED: %s", s->why);
        struct out_mail *out = mail_for("", OUT_DEGRADED);
        if (out) {
            out->data = json_pack("{s:s}", "reason", s->why);
            ps->hooks.deliver(ps->hooks.ctx, out);
        }
    }
    if (dev)
        dev->degraded_said = s->result < 0;
}

void answer_saves(struct plugin_procs *ps)
{
    for (struct state_save *s = state_writer_take_written(&ps->saves); s;) {
        struct state_save *next = (struct state_save *)s->link.next;
        say_if_degraded(ps, s);
        struct plugin_proc *p = s->proc < ps->n ? &ps->items[s->proc] : NULL;
        if (p && proc_running(p) && p->pid == s->host) /* else the host that asked is gone */
            answer_save(ps, p, s->device, s->result < 0 ? -s->result : 0, s->why);
        state_save_free(s);
        s = next;
    }
}

const char *take_record(struct plugin_procs *ps, struct plugin_proc *p, const struct plink_msg *m)
{
    switch (m->type) {
    case PLINK_EVENT: return take_event(ps, p, m);
    case PLINK_REPLY: return take_reply(ps, p, m);
    case PLINK_SNAPSHOT: return take_snapshot(ps, p, m);
    case PLINK_OPEN: return open_node(ps, p, m->device);
    case PLINK_SAVE: return save_state(ps, p, m);
    case PLINK_EXITED: {
        struct device *dev = device_of(ps, p, m->device, false);
        if (!dev)
            return "the end of a device it does not run";
        if (!dev->retiring) {
            set_mirror_error(dev, "the plugin host could not start the device");
            return NULL;
        }
        ps->hooks.deliver(ps->hooks.ctx, mail_for(m->device, OUT_EXITED));
        return NULL;
    }
    default: return "a message only accessgwd sends";
    }
}
