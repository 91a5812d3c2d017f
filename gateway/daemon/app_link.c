/* The window applications' events, from accessgwd to accessgw-web: every event of a
 * device some [app] names, in full where it has a private twin, over a SOCK_SEQPACKET
 * pair whose other end accessgw-web has as fd 3 (records: common/apps.h).  In memory,
 * between the gateway's own processes, and only the apps' devices' events: accessgw-web
 * audits each full record and delivers it to the app whose window it is
 * (web/app_events.c).  Main loop only. */
#define _GNU_SOURCE
#include "daemon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* The configuration of now: SIGHUP may add or remove apps. */
static bool named_by_an_app(void *ctx, const char *device)
{
    struct gateway *g = ctx;
    for (size_t i = 0; g->app_link >= 0 && i < g->conf.n_apps; i++)
        if (app_has_device(&g->conf.apps[i], device))
            return true;
    return false;
}

static void to_web(void *ctx, const char *topic, size_t topic_len, const char *env,
                   size_t env_len, bool full)
{
    struct gateway *g = ctx;
    char *record;
    size_t len = app_record_put(&record, topic, topic_len, env, env_len, full);
    if (!len)
        return;
    /* never waits: accessgw-web not reading (or not running) costs the apps this record,
     * which is live only anyway; nothing was delivered, so nothing is to be audited */
    if (send(g->app_link, record, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN)
        log_warn("window applications: %s: %s", topic, strerror(errno));
    if (full)
        explicit_bzero(record, len);
    free(record);
}

int app_link_open(struct gateway *g)
{
    int pair[2];
    g->app_link = g->web.keep_fd = -1;
    if (!g->conf.web.line)
        return 0;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
        log_err("window applications: socketpair: %s; they receive no events", strerror(errno));
        return -1;
    }
    int big = APP_RECORD_MAX * 4;
    setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    g->app_link = pair[0];
    g->web.keep_fd = pair[1]; /* kept for every start of accessgw-web */
    g->bus.app_wants = named_by_an_app;
    g->bus.app_sink = to_web;
    g->bus.app_sink_ctx = g;
    return 0;
}

void app_link_close(struct gateway *g)
{
    g->bus.app_wants = NULL;
    if (g->app_link >= 0)
        close(g->app_link);
    if (g->web.keep_fd >= 0)
        close(g->web.keep_fd);
    g->app_link = g->web.keep_fd = -1;
}
