/* Records to a plugin host over its link (plink.h), queued while its socket is full. */
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
#include <sys/socket.h>

/* One record, with fd (a device node) in SCM_RIGHTS when it is not -1. */
static bool send_now(int sock, const uint8_t *buf, size_t len, int fd)
{
    struct iovec iov = {(void *)buf, len};
    union {
        char bytes[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        msg.msg_control = control.bytes;
        msg.msg_controllen = sizeof(control.bytes);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    return sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len;
}

/* Takes fd, device's node (closed once sent, or dropped). */
void send_record_with(struct plugin_proc *p, const uint8_t *buf, size_t len, int fd,
                             const char *device)
{
    if (!proc_running(p) || (!p->queue && send_now(p->sock, buf, len, fd))) {
        if (fd >= 0)
            close(fd);
        return;
    }
    /* The child is busy: the record waits (bounded: commands are, per device). */
    struct queued_record *q = malloc(sizeof(*q) + len);
    if (!q) {
        log_err("plugin %s: out of memory queueing for its host", p->plugin->desc->id);
        if (fd >= 0)
            close(fd);
        return;
    }
    q->next = NULL;
    q->len = len;
    q->fd = fd;
    snprintf(q->device, sizeof(q->device), "%s", device ? device : "");
    memcpy(q->bytes, buf, len);
    if (p->queue_tail)
        p->queue_tail->next = q;
    else
        p->queue = q;
    p->queue_tail = q;
}

void send_record(struct plugin_proc *p, const uint8_t *buf, size_t len)
{
    send_record_with(p, buf, len, -1, NULL);
}

static void free_queued(struct queued_record *q)
{
    if (q->fd >= 0)
        close(q->fd);
    free(q);
}

void flush_queue(struct plugin_proc *p)
{
    while (p->queue) {
        struct queued_record *q = p->queue;
        if (!send_now(p->sock, q->bytes, q->len, q->fd))
            return;
        p->queue = q->next;
        if (!p->queue)
            p->queue_tail = NULL;
        free_queued(q);
    }
}

void drop_queue(struct plugin_proc *p)
{
    while (p->queue) {
        struct queued_record *q = p->queue;
        p->queue = q->next;
        free_queued(q);
    }
    p->queue_tail = NULL;
}

unsigned queued_nodes_of(const struct plugin_proc *p, const char *device)
{
    unsigned n = 0;
    for (const struct queued_record *q = p->queue; q; q = q->next)
        n += q->fd >= 0 && strcmp(q->device, device) == 0;
    return n;
}

/* What the device saved last: accessgwd's copy (kept even when the disk
 * refused it), else its file, read once ("": none). */
static const char *saved_state_of(struct plugin_procs *ps, struct device *dev)
{
    if (!dev->saved_json) {
        json_t *state = device_state_read(ps->state_dir, dev->plugin->id, dev->id);
        dev->saved_json = state ? json_dumps(state, JSON_COMPACT) : strdup("");
        json_decref(state);
    }
    return dev->saved_json ? dev->saved_json : "";
}

void send_attach(struct plugin_procs *ps, struct plugin_proc *p, struct device *dev)
{
    static struct plink_attach a;
    a = (struct plink_attach){.id = dev->id, .path = dev->path ? dev->path : "",
                              .location = dev->location ? dev->location : "",
                              .syspath = dev->syspath ? dev->syspath : "",
                              .state = saved_state_of(ps, dev),
                              .transport = (uint8_t)dev->transport_kind, .baud = dev->baud};
    for (size_t i = 0; i < dev->n_settings && a.n_settings < PLINK_MAX_SETTINGS; i++)
        a.settings[a.n_settings++] = (struct plink_setting){
            dev->settings[i].key, dev->settings[i].value,
            dev->settings[i].where ? dev->settings[i].where : ""};
    struct plink_writer w;
    plink_writer_init(&w, ps->out, PLINK_RECORD_MAX);
    if (dev->n_settings > PLINK_MAX_SETTINGS || !plink_put_attach(&w, &a)) {
        log_err("device %s: its settings are too many or too long to hand to its plugin host",
                dev->id);
        return;
    }
    send_record(p, w.buf, w.len);
}
