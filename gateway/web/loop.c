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

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

static void pull_events(struct web *w)
{
    bool any = false;
    for (int i = 0; i < 4096; i++) {
        struct feed_event fe;
        if (!feed_pull(&w->feed, &fe))
            break;
        note_followups(w, &fe);
        ring_add(&w->ring, &fe);
        free(fe.json);
        any = true;
    }
    if (any)
        wake_all(w);
}

static void on_position(void *ctx, unsigned long tag, json_t *reply)
{
    struct web *w = ctx;
    (void)tag;
    json_t *result = json_object_get(reply, "result");
    json_t *e = json_object_get(result, "epoch"), *s = json_object_get(result, "seq");
    if (w->ring.have_base || !json_is_integer(e) || !json_is_integer(s))
        return;
    w->ring.have_base = true;
    w->ring.base = (struct journal_key){(uint64_t)json_integer_value(e),
                                        (uint64_t)json_integer_value(s)};
    feed_start_at(&w->feed, w->ring.base);
    wake_all(w);
}

/* Where the bus is, before any event arrives (a gateway with a long heartbeat_ms may
 * publish nothing for a minute): /status and new streams need it at once. */
static void ask_position(struct web *w)
{
    if (w->ring.have_base || ms_until(&w->next_ask) > 0)
        return;
    json_t *ping = json_pack("{s:s}", "verb", "ping");
    if (ping)
        control_client_send(&w->control, ping, 1000, on_position, w, 0);
    json_decref(ping);
    monotonic_now(&w->next_ask);
    add_ms(&w->next_ask, 1000);
}

static void ping_if_due(struct web *w)
{
    if (ms_until(&w->next_ping) > 0)
        return;
    for (struct sse_client *c = w->clients; c; c = c->next)
        c->ping_due = true;
    wake_all(w);
    app_streams_ping(w);
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
        timeout = sooner(timeout, feed_due_ms(&w->feed));
        timeout = sooner(timeout, control_client_due_ms(&w->control));
        if (!w->ring.have_base && ms_until(&w->next_ask) < timeout)
            timeout = ms_until(&w->next_ask);
        if (ms_until(&w->next_ping) < timeout)
            timeout = ms_until(&w->next_ping);
        if (w->audit.dirty && ms_until(&w->next_audit_sync) < timeout)
            timeout = ms_until(&w->next_audit_sync);
        zmq_pollitem_t items[5] = {
            {NULL, w->sigfd, ZMQ_POLLIN, 0},
            {w->control.dealer, 0, ZMQ_POLLIN, 0},
            {NULL, mhd_fd, ZMQ_POLLIN, 0},
            {w->feed.live ? w->feed.sub : NULL, w->feed.live ? 0 : -1, ZMQ_POLLIN, 0},
            {NULL, w->app_link, ZMQ_POLLIN, 0},
        };
        if (zmq_poll(items, 5, timeout) < 0 && zmq_errno() != EINTR) {
            log_err("zmq_poll: %s", zmq_strerror(zmq_errno()));
            usleep(100000);
        }
        if (items[0].revents)
            w->running = !signals_say_stop(w->sigfd, "accessgw-web");
        if (items[1].revents)
            control_client_read(&w->control);
        if (items[4].revents)
            app_link_read(w);
        if (w->audit.dirty && ms_until(&w->next_audit_sync) == 0) {
            audit_sync(&w->audit); /* lines written in the last second made durable */
            monotonic_now(&w->next_audit_sync);
            add_ms(&w->next_audit_sync, 1000);
        }
        control_client_expire(&w->control);
        pull_events(w);
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
