/* The private endpoint's subscribers (private_subs.h). */
#include "private_subs.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"

int private_subs_open(struct private_subs *s, void *zctx, void *xpub, char *err, size_t errlen)
{
    static unsigned serial;
    memset(s, 0, sizeof(*s));
    int on = 1;
    char addr[64];
    snprintf(addr, sizeof(addr), "inproc://agw-private-monitor-%u", serial++);
    if (zmq_setsockopt(xpub, ZMQ_XPUB_VERBOSER, &on, sizeof(on)) < 0 ||
        zmq_socket_monitor(xpub, addr, ZMQ_EVENT_DISCONNECTED) < 0 ||
        !(s->monitor = zmq_socket(zctx, ZMQ_PAIR)) || zmq_connect(s->monitor, addr) < 0) {
        snprintf(err, errlen, "cannot follow the private endpoint's subscribers: %s",
                 zmq_strerror(zmq_errno()));
        private_subs_close(s);
        return -1;
    }
    return 0;
}

void private_subs_close(struct private_subs *s)
{
    if (s->monitor)
        zmq_close(s->monitor);
    free(s->items);
    memset(s, 0, sizeof(*s));
}

static void forget_fd(struct private_subs *s, int fd)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].fd != fd)
            s->items[kept++] = s->items[i];
    s->n = kept;
}

static void subscribe(struct private_subs *s, int fd, const char *user, const char *prefix,
                      size_t len)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct private_sub *grown = realloc(s->items, cap * sizeof(*grown));
        if (!grown) {
            log_err("private events: out of memory: subscriber %s not followed", user);
            return;
        }
        s->items = grown;
        s->cap = cap;
    }
    struct private_sub *p = &s->items[s->n++];
    p->fd = fd;
    snprintf(p->user, sizeof(p->user), "%s", user);
    memcpy(p->prefix, prefix, len);
    p->prefix[len] = '\0';
}

static void unsubscribe(struct private_subs *s, int fd, const char *prefix, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].fd == fd && strlen(s->items[i].prefix) == len &&
            memcmp(s->items[i].prefix, prefix, len) == 0) {
            s->items[i] = s->items[--s->n];
            return;
        }
}

/* One (un)subscription: 1 or 0, then the prefix; its peer's user id and descriptor. */
static void take_subscription(struct private_subs *s, zmq_msg_t *m)
{
    const uint8_t *d = zmq_msg_data(m);
    size_t len = zmq_msg_size(m);
    if (len == 0 || (d[0] != 0 && d[0] != 1) || len - 1 >= PRIVATE_PREFIX_MAX)
        return;
    int fd = zmq_msg_get(m, ZMQ_SRCFD);
    const char *user = zmq_msg_gets(m, "User-Id");
    if (fd < 0)
        return; /* made by libzmq for a peer that left: the monitor said which */
    if (d[0] == 1)
        subscribe(s, fd, user && *user ? user : "?", (const char *)d + 1, len - 1);
    else
        unsubscribe(s, fd, (const char *)d + 1, len - 1);
}

/* Monitor events are two frames: event (u16) and value (u32: the fd), then the endpoint. */
static void take_monitor_event(struct private_subs *s)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, s->monitor, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return;
    }
    uint16_t event = 0;
    uint32_t value = 0;
    if (zmq_msg_size(&m) >= 6) {
        memcpy(&event, zmq_msg_data(&m), 2);
        memcpy(&value, (uint8_t *)zmq_msg_data(&m) + 2, 4);
    }
    int more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    while (more) { /* the endpoint */
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s->monitor, 0) < 0)
            more = 0;
        else
            more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    if (event == ZMQ_EVENT_DISCONNECTED)
        forget_fd(s, (int)value);
}

void private_subs_take(struct private_subs *s, void *xpub)
{
    /* the monitor first: a descriptor that closed may be reused by the next peer, whose
     * subscription can only come after the old one's disconnection was reported */
    int events = 0;
    size_t size = sizeof(events);
    while (s->monitor && zmq_getsockopt(s->monitor, ZMQ_EVENTS, &events, &size) == 0 &&
           (events & ZMQ_POLLIN))
        take_monitor_event(s);
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, xpub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        take_subscription(s, &m);
        zmq_msg_close(&m);
    }
}

size_t private_subs_recipients(const struct private_subs *s, const char *topic,
                               const char **users, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (strncmp(topic, s->items[i].prefix, strlen(s->items[i].prefix)) != 0)
            continue;
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = strcmp(users[j], s->items[i].user) == 0;
        if (!seen && n < max)
            users[n++] = s->items[i].user;
    }
    return n;
}
