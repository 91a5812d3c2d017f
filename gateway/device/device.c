#define _GNU_SOURCE
#include "device_internal.h"
#include "abi1.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "envelope.h"
#include "config.h"
#include "loader.h"
#include "log.h"
#include "monotonic.h"
#include "mask.h"
#include "state.h"

void clock_now(struct timespec *ts) { clock_gettime(CLOCK_REALTIME, ts); }

const char *device_state_name(enum agw_state s)
{
    switch (s) {
    case AGW_STATE_UP: return "up";
    case AGW_STATE_STALE: return "stale";
    default: return "error";
    }
}

/* ---- main-thread side ---- */

void device_request_stop(struct device *dev, bool removed)
{
    dev->retiring = true;
    struct in_mail *m = calloc(1, sizeof(*m));
    if (!m)
        return;
    m->kind = IN_STOP;
    m->removed = removed;
    mailbox_post(&dev->inbox, &m->link);
}

void device_post_command(struct device *dev, const char *target, char *verb, json_t *args,
                         void *route)
{
    struct in_mail *m = calloc(1, sizeof(*m));
    if (!m) {
        free(verb);
        json_decref(args);
        return;
    }
    m->kind = IN_COMMAND;
    snprintf(m->target, sizeof(m->target), "%s", target);
    m->verb = verb;
    m->args = args;
    m->route = route;
    mailbox_post(&dev->inbox, &m->link);
}

void device_hand_fd(struct device *dev, int fd, const char *why)
{
    struct in_mail *m = calloc(1, sizeof(*m));
    if (!m) {
        if (fd >= 0)
            close(fd);
        return;
    }
    m->kind = IN_FD;
    m->fd = fd;
    snprintf(m->reason, sizeof(m->reason), "%s", why ? why : "");
    mailbox_post(&dev->inbox, &m->link);
}

bool device_has_child(struct device *dev, const char *id)
{
    pthread_mutex_lock(&dev->lock);
    bool known = child_known(dev, id);
    pthread_mutex_unlock(&dev->lock);
    return known;
}

json_t *device_children(struct device *dev)
{
    json_t *list = json_array();
    pthread_mutex_lock(&dev->lock);
    for (size_t i = 0; i < dev->n_children; i++)
        json_array_append_new(list, json_pack("{s:s, s:s}", "id", dev->children[i].id, "location",
                                              dev->children[i].location));
    pthread_mutex_unlock(&dev->lock);
    return list;
}

json_t *device_get_info(struct device *dev)
{
    pthread_mutex_lock(&dev->lock);
    json_t *copy = dev->info ? json_deep_copy(dev->info) : json_object();
    pthread_mutex_unlock(&dev->lock);
    return copy;
}

void device_get_state(struct device *dev, enum agw_state *state, char *reason, size_t len)
{
    pthread_mutex_lock(&dev->lock);
    *state = dev->state;
    snprintf(reason, len, "%s", dev->reason);
    pthread_mutex_unlock(&dev->lock);
}

static const char *const status_codes[] = {
    "ok", "unknown_verb", "bad_args", "device_error", "busy", "timeout", "unsupported",
};

const char *device_status_code(int status)
{
    int i = -status;
    return (i >= 0 && i < (int)(sizeof(status_codes) / sizeof(status_codes[0]))) ? status_codes[i]
                                                                                  : "device_error";
}


bool child_known(struct device *dev, const char *id)
{
    for (size_t i = 0; i < dev->n_children; i++)
        if (strcmp(dev->children[i].id, id) == 0)
            return true;
    return false;
}
