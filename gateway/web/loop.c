/* The bus (SUB for events, DEALER for replay and control), the gateway's replies, the loop. */
#define _GNU_SOURCE
#include "web_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zmq.h>

#include "log.h"
#include "monotonic.h"
#include "signals.h"

static void on_position(struct web *w, json_t *reply);
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

static void on_gateway_reply(struct web *w)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, w->dealer, ZMQ_DONTWAIT) >= 0) {
        json_t *reply = json_loadb(zmq_msg_data(&m), zmq_msg_size(&m), 0, NULL);
        const char *id = json_string_value(json_object_get(reply, "id"));
        unsigned long no;
        if (id && strncmp(id, "feed-", 5) == 0)
            feed_on_reply(&w->feed, reply);
        else if (id && sscanf(id, "sse-%lu", &no) == 1)
            on_journal_page(w, reply, no);
        else if (id && sscanf(id, "web-%lu", &no) == 1)
            on_control_reply(w, reply, no);
        else if (id && strcmp(id, "status") == 0)
            on_position(w, reply);
        json_decref(reply);
    }
    zmq_msg_close(&m);
}

static void pull_events(struct web *w)
{
    bool any = false;
    for (int i = 0; i < 4096; i++) {
        struct feed_event fe;
        char *request = NULL;
        bool got = feed_pull(&w->feed, &fe, &request);
        if (request && zmq_send(w->dealer, request, strlen(request), ZMQ_DONTWAIT) < 0)
            log_warn("web: cannot ask the gateway: %s", zmq_strerror(zmq_errno()));
        free(request);
        if (!got)
            break;
        note_followups(w, &fe);
        ring_add(&w->ring, &fe);
        free(fe.json);
        any = true;
    }
    if (any)
        wake_all(w);
}

/* Where the bus is, before any event arrives (a gateway with a long heartbeat_ms may
 * publish nothing for a minute): /status and new streams need it at once. */
static void ask_position(struct web *w)
{
    if (w->ring.have_base || ms_until(&w->next_ask) > 0)
        return;
    static const char ping[] = "{\"id\":\"status\",\"verb\":\"ping\"}";
    zmq_send(w->dealer, ping, sizeof(ping) - 1, ZMQ_DONTWAIT);
    monotonic_now(&w->next_ask);
    add_ms(&w->next_ask, 1000);
}

static void on_position(struct web *w, json_t *reply)
{
    json_t *result = json_object_get(reply, "result");
    json_t *e = json_object_get(result, "epoch"), *s = json_object_get(result, "seq");
    if (w->ring.have_base || !json_is_integer(e) || !json_is_integer(s))
        return;
    w->ring.have_base = true;
    w->ring.base = (struct journal_key){(uint64_t)json_integer_value(e), (uint64_t)json_integer_value(s)};
    feed_start_at(&w->feed, w->ring.base);
    wake_all(w);
}

static void ping_if_due(struct web *w)
{
    if (ms_until(&w->next_ping) > 0)
        return;
    for (struct sse_client *c = w->clients; c; c = c->next)
        c->ping_due = true;
    wake_all(w);
    monotonic_now(&w->next_ping);
    add_ms(&w->next_ping, PING_MS);
}

void web_run(struct web *w)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    int mhd_fd = info ? info->epoll_fd : -1;
    monotonic_now(&w->next_ping);
    add_ms(&w->next_ping, PING_MS);
    while (w->running) {
        pull_events(w);
        MHD_UNSIGNED_LONG_LONG mhd_ms = 1000;
        long timeout = MHD_get_timeout(w->mhd, &mhd_ms) == MHD_YES && mhd_ms < 1000 ? (long)mhd_ms : 1000;
        long due = feed_due_ms(&w->feed);
        if (due >= 0 && due < timeout)
            timeout = due;
        if (!w->ring.have_base && ms_until(&w->next_ask) < timeout)
            timeout = ms_until(&w->next_ask);
        if (ms_until(&w->next_ping) < timeout)
            timeout = ms_until(&w->next_ping);
        zmq_pollitem_t items[4] = {
            {NULL, w->sigfd, ZMQ_POLLIN, 0},
            {w->dealer, 0, ZMQ_POLLIN, 0},
            {NULL, mhd_fd, ZMQ_POLLIN, 0},
            {w->feed.live ? w->feed.sub : NULL, w->feed.live ? 0 : -1, ZMQ_POLLIN, 0},
        };
        if (zmq_poll(items, 4, timeout) < 0 && zmq_errno() != EINTR) {
            log_err("zmq_poll: %s", zmq_strerror(zmq_errno()));
            usleep(100000);
        }
        if (items[0].revents)
            w->running = !signals_say_stop(w->sigfd, "accessgw-web");
        if (items[1].revents)
            on_gateway_reply(w);
        pull_events(w);
        expire_requests(w);
        ping_if_due(w);
        ask_position(w);
        cut_slow_heads(w);
        if (w->journal_turn_free) {
            w->journal_turn_free = false;
            wake_all(w);
        }
        MHD_run(w->mhd);
    }
}
