/* Mail for the gateway, made on a plugin host's behalf (replies, errors, exits). */
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

bool proc_running(const struct plugin_proc *p) { return p->sock >= 0; }

struct out_mail *mail_for(const char *device, enum out_kind kind)
{
    struct out_mail *m = calloc(1, sizeof(*m));
    if (m) {
        m->kind = kind;
        snprintf(m->device, sizeof(m->device), "%s", device);
        clock_now(&m->time);
    }
    return m;
}

void post_later(struct plugin_procs *ps, struct out_mail *m)
{
    if (m)
        mailbox_post(ps->hooks.outbox, &m->link);
}

struct out_mail *reply_mail(const char *device, void *route, int status, const char *message)
{
    struct out_mail *m = mail_for(device, OUT_REPLY);
    if (m) {
        m->route = route;
        m->status = status;
        m->data = json_pack("{s:s}", "message", message);
    }
    return m;
}

struct device **devices_of(struct plugin_procs *ps, struct plugin_proc *p, size_t *n_out)
{
    size_t n;
    struct device **all = ps->hooks.devices(ps->hooks.ctx, &n);
    struct device **mine = calloc(n + 1, sizeof(*mine));
    size_t k = 0;
    for (size_t i = 0; mine && i < n; i++)
        if (all[i]->plugin == p->plugin->desc)
            mine[k++] = all[i];
    *n_out = k;
    return mine;
}

struct plugin_proc *proc_of(struct plugin_procs *ps, const struct agw_plugin *desc)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->items[i].plugin->desc == desc)
            return &ps->items[i];
    return NULL;
}

void set_mirror_error(struct device *dev, const char *why)
{
    pthread_mutex_lock(&dev->lock);
    dev->state = AGW_STATE_ERROR;
    snprintf(dev->reason, sizeof(dev->reason), "%s", why);
    pthread_mutex_unlock(&dev->lock);
}
