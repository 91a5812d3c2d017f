/* The mail a device sends the thread that carries it (events, replies,
 * state), from its worker thread, and how long a mail lives.  Worker threads
 * (the hang watch too). */
#define _GNU_SOURCE
#include "device_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy_text.h"
#include "envelope.h"
#include "log.h"
#include "mask.h"

void out_mail_free(struct out_mail *m)
{
    if (m->device_owned) { /* the device keeps it for its next event */
        if (m->personal && m->data_json)
            explicit_bzero(m->data_json, strlen(m->data_json));
        return;
    }
    if (m->personal) {
        mask_wipe_decref(m->data);
        mask_wipe_free(m->data_json);
    } else {
        json_decref(m->data);
        free(m->data_json);
    }
    free(m);
}

struct out_mail *out_new(struct device *dev, enum out_kind kind)
{
    struct out_mail *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->kind = kind;
    copy_text(m->device, sizeof(m->device), dev->id);
    return m;
}

/* Backpressure: a device flooding faster than the bus publishes waits
 * here (its bytes wait in the kernel) instead of growing memory or losing
 * events. */
#define OUTBOX_HIGH_WATER 5000

/* The worker whose device this thread runs (NULL on any other thread). */
static __thread struct device *this_worker;

void wait_for_outbox_room(struct device *dev)
{
    while (mailbox_depth(dev->outbox) > OUTBOX_HIGH_WATER && !dev->stop)
        usleep(1000);
}

void host_api_enter_worker(struct device *dev) { this_worker = dev; }

static int append_text(const char *buf, size_t len, void *ctx)
{
    struct device *dev = ctx;
    if (dev->event_text_len + len + 1 > dev->event_text_cap) {
        size_t cap = dev->event_text_cap ? dev->event_text_cap : 256;
        while (cap < dev->event_text_len + len + 1)
            cap *= 2;
        char *grown = realloc(dev->event_text, cap);
        if (!grown)
            return -1;
        dev->event_text = grown;
        dev->event_text_cap = cap;
    }
    memcpy(dev->event_text + dev->event_text_len, buf, len);
    dev->event_text_len += len;
    dev->event_text[dev->event_text_len] = '\0';
    return 0;
}

/* An event's mail: on its worker's thread, when the outbox's reader takes it there
 * and then (a plugin host, mailbox take_now), the device's own mail and text, reused
 * (jansson's json_dumps costs several allocations an event); else a new one. */
static struct out_mail *event_mail(struct device *dev, json_t *data)
{
    if (this_worker == dev && dev->outbox->take_now) {
        if (!dev->event_mail && !(dev->event_mail = out_new(dev, OUT_EVENT)))
            return NULL;
        struct out_mail *m = dev->event_mail;
        *m = (struct out_mail){.kind = OUT_EVENT, .device_owned = true};
        copy_text(m->device, sizeof(m->device), dev->id);
        dev->event_text_len = 0;
        if (json_dump_callback(data, append_text, dev, JSON_COMPACT) < 0 || !dev->event_text)
            return NULL;
        m->data_json = dev->event_text;
        return m;
    }
    struct out_mail *m = out_new(dev, OUT_EVENT);
    if (m)
        m->data_json = json_dumps(data, JSON_COMPACT);
    return m;
}

/* subject: the device (NULL) or one of its children.  Without waiting for room:
 * for the outbox's own reader (the hang watch). */
static void post_event_now(struct device *dev, const char *subject, const char *cls,
                           const char *event, json_t *data, bool personal,
                           const struct timespec *when)
{
    struct out_mail *m = event_mail(dev, data);
    if (!m) {
        json_decref(data);
        return;
    }
    if (subject)
        copy_text(m->device, sizeof(m->device), subject);
    copy_text(m->cls, sizeof(m->cls), cls);
    copy_text(m->event, sizeof(m->event), event);
    /* Encoded here, on the device's thread, to spare the one that publishes; what is
     * personal in it is masked there (bus_publish), by the plugin's declaration. */
    m->personal = personal ? dev->plugin->personal : NULL;
    if (m->personal)
        mask_wipe_decref(data);
    else
        json_decref(data);
    if (when)
        m->time = *when;
    else
        clock_now(&m->time);
    mailbox_post(dev->outbox, &m->link);
}

void post_event(struct device *dev, const char *subject, const char *cls, const char *event,
                       json_t *data, bool personal, const struct timespec *when)
{
    wait_for_outbox_room(dev);
    post_event_now(dev, subject, cls, event, data, personal, when);
}

void post_reply(struct device *dev, void *route, int status, json_t *result)
{
    struct out_mail *m = out_new(dev, OUT_REPLY);
    if (!m) {
        json_decref(result);
        return;
    }
    m->route = route;
    m->status = status;
    m->data = result;
    m->personal = dev->plugin->personal; /* the main thread masks the result, as events */
    mailbox_post(dev->outbox, &m->link);
}

void post_changed(struct device *dev)
{
    struct out_mail *m = out_new(dev, OUT_CHANGED);
    if (m)
        mailbox_post(dev->outbox, &m->link);
}

/* From the worker, or (waiting for nothing: it reads the outbox itself) from the
 * hang watch: read under the lock. */
void publish_state(struct device *dev, bool wait)
{
    post_changed(dev);
    pthread_mutex_lock(&dev->lock);
    json_t *data = json_pack("{s:s, s:s}", "state", device_state_name(dev->state), "reason",
                             dev->reason);
    pthread_mutex_unlock(&dev->lock);
    if (wait)
        post_event(dev, NULL, "device", "state", data, false, NULL);
    else
        post_event_now(dev, NULL, "device", "state", data, false, NULL);
}

void host_set_state(struct agw_device *d, enum agw_state state, const char *reason)
{
    struct device *dev = (struct device *)d;
    if (dev->in_open)
        dev->state_set = true;
    pthread_mutex_lock(&dev->lock);
    bool changed = dev->state != state || strcmp(dev->reason, reason ? reason : "") != 0;
    dev->state = state;
    snprintf(dev->reason, sizeof(dev->reason), "%s", reason ? reason : "");
    pthread_mutex_unlock(&dev->lock);
    if (changed) {
        log_lifecycle(state == AGW_STATE_UP ? AGW_LOG_INFO : AGW_LOG_WARNING, "device %s: %s%s%s",
                dev->id, device_state_name(state), reason && *reason ? ": " : "",
                reason ? reason : "");
        dev->republish_state = false;
        publish_state(dev, true);
    }
}
