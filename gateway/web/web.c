/* accessgw-web: the gateway's public events and control verbs for browsers,
 * and the staff console.
 *
 * A process of its own (accessgwd starts and supervises it when [web] is
 * configured): HTTP from any browser on the network is parsed here, by
 * libmicrohttpd, never inside the process that carries the emergency calls; a
 * crash or a flood here costs the consoles a reconnect, never the bus.  It is
 * a client of the bus like any other: SUB for the live events, DEALER for
 * `replay` and the control verbs.
 *
 * One thread, one poll loop: the SUB and DEALER sockets, libmicrohttpd's
 * epoll fd (MHD in external-select mode) and a signalfd.  An SSE stream is
 * pulled, not pushed: each client is only a position (epoch, seq), served
 * from a ring of recent events or, when it is further behind, from the
 * gateway's journal page by page; a slow client costs its position, not a
 * queue. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "args.h"
#include "config.h"
#include "feed.h"
#include "log.h"
#include "monotonic.h"
#include "sbuf.h"
#include "signals.h"
#include "state.h"
#include "trust.h"
#include "web_internal.h"

/* ---- SSE clients ---- */

/* ---- responses ---- */

/* ---- POST /control and the follow-up list ---- */

/* ---- routing ---- */

/* ---- the loop ---- */


/* ---- setup ---- */

static int parse_listen(const char *listen, struct sockaddr_storage *ss, char *err, size_t errlen)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    size_t hlen = colon ? (size_t)(colon - listen) : 0;
    if (!colon || *end || port < 1 || port > 65535 || hlen == 0 || hlen >= sizeof(host)) {
        snprintf(err, errlen, "[web] listen '%s' is not HOST:PORT", listen);
        return -1;
    }
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    if (host[0] == '[' && host[hlen - 1] == ']') {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
    } else {
        snprintf(err, errlen, "[web] listen '%s': the host is not an IP address", listen);
        return -1;
    }
    return 0;
}

/* libmicrohttpd's own messages (mostly browsers that went away mid-stream): through our
 * rate-limited log, at info. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char text[512];
    vsnprintf(text, sizeof(text), fmt, ap);
    text[strcspn(text, "\n")] = '\0';
    log_keyed(6, (const void *)mhd_log, "web: %s", text);
}

/* The window applications' tokens; an app whose token file cannot be used is refused
 * (said), the others and the staff are served. */
static int load_apps(struct web *w)
{
    w->apps = calloc(w->conf.n_apps + 1, sizeof(*w->apps));
    if (!w->apps)
        return -1;
    for (size_t i = 0; i < w->conf.n_apps; i++) {
        char what[100], why[512];
        w->apps[i].conf = &w->conf.apps[i];
        snprintf(what, sizeof(what), "[app %s] token_file", w->conf.apps[i].name);
        w->apps[i].token = trust_read_secret(what, w->conf.apps[i].token_file, 16, why,
                                             sizeof(why));
        if (!w->apps[i].token)
            log_err("%s; this application is refused until it is fixed", why);
    }
    w->n_apps = w->conf.n_apps;
    return 0;
}

static void forget_apps(struct web *w)
{
    for (size_t i = 0; i < w->n_apps; i++)
        if (w->apps[i].token) {
            explicit_bzero(w->apps[i].token, strlen(w->apps[i].token));
            free(w->apps[i].token);
        }
    free(w->apps);
    w->apps = NULL;
    w->n_apps = 0;
}

static int setup(struct web *w, const char *config, char *err, size_t errlen)
{
    if (config_load(config, &w->conf, err, errlen) < 0)
        return -1;
    log_set_level(w->conf.log_level);
    if (!w->conf.web.line) {
        snprintf(err, errlen, "%s: no [web] section (listen = 127.0.0.1:8080)", config);
        return -1;
    }
    struct sockaddr_storage ss;
    if (parse_listen(w->conf.web.listen, &ss, err, errlen) < 0)
        return -1;
    /* A token file that cannot be used turns commands off, not the console: staff still
     * see every call (and accessgwd --check-config says what is wrong beforehand). */
    char why[512];
    if (w->conf.web.token_file &&
        !(w->token = trust_read_secret("[web] token_file", w->conf.web.token_file, 16, why,
                                       sizeof(why)))) {
        log_err("%s; commands are refused until it is fixed (then systemctl reload accessgw)", why);
        w->token_problem = strdup(why);
    }
    if (load_apps(w) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    app_link_attach(w);
    if (w->n_apps) {
        char note[700];
        w->audit_open = audit_open(&w->audit, w->conf.state_dir, w->conf.audit.max_days, note,
                                   sizeof(note), w->audit_problem,
                                   sizeof(w->audit_problem)) == 0;
        if (!w->audit_open)
            log_err("web: the audit: %s; full records are delivered to no application",
                    w->audit_problem);
        else if (note[0])
            log_warn("web: the audit: %s", note);
    }
    gethostname(w->hostname, sizeof(w->hostname) - 1);
    w->ring.ev = calloc(RING_EVENTS, sizeof(*w->ring.ev));
    if (!w->ring.ev) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    load_followups(w);
    w->zctx = zmq_ctx_new();
    if (control_client_open(&w->control, w->zctx, w->conf.control, err, errlen) < 0 ||
        feed_open_live(&w->feed, w->zctx, w->conf.events, &w->control, err, errlen) < 0)
        return -1;
    w->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0,
                              NULL, NULL, on_request, w,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
                              MHD_OPTION_NOTIFY_CONNECTION, on_connection, w,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
                              MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)MAX_PER_ADDRESS,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
                              MHD_OPTION_END);
    if (!w->mhd) {
        snprintf(err, errlen, "[web] listen %s: cannot listen (%s)", w->conf.web.listen,
                 strerror(errno));
        return -1;
    }
    return 0;
}

static void teardown(struct web *w)
{
    if (w->mhd) {
        wake_all(w);
        app_streams_end(w);
        for (struct request *q = w->requests; q; q = q->next)
            if (q->suspended) {
                q->suspended = false;
                MHD_resume_connection(q->conn);
            }
        MHD_stop_daemon(w->mhd);
    }
    feed_close(&w->feed);
    control_client_close(&w->control);
    if (w->zctx)
        zmq_ctx_term(w->zctx);
    while (w->ring.n)
        ring_drop_oldest(&w->ring);
    free(w->ring.ev);
    json_decref(w->followups);
    if (w->token) {
        explicit_bzero(w->token, strlen(w->token));
        free(w->token);
    }
    free(w->token_problem);
    forget_apps(w);
    if (w->audit_open)
        audit_close(&w->audit);
    if (w->conf.path)
        config_free(&w->conf);
    if (w->sigfd >= 0)
        close(w->sigfd);
}

int web_main(int argc, char **argv)
{
    const char *config;
    char version[128];
    snprintf(version, sizeof(version), "accessgw-web %s (libmicrohttpd %s)", ACCESSGW_VERSION,
             MHD_get_version());
    int status = busclient_args(argc, argv, "accessgw-web",
                                "Serves the public events (Server-Sent Events), POST /control and "
                                "the\nstaff console on [web] listen of FILE; see "
                                "accessgw-web(8).\n", version, &config);
    if (status >= 0)
        return status;
    log_init("accessgw-web");
    struct web w = {.sigfd = signals_fd(0), .running = true, .app_link = -1};
    char err[1024] = "";
    int rc = 0;
    if (w.sigfd < 0 || setup(&w, config, err, sizeof(err)) < 0) {
        log_err("%s", err[0] ? err : strerror(errno));
        rc = 1;
    } else {
        log_notice("web %s: http://%s/ (events %s, control %s, commands %s)", ACCESSGW_VERSION,
                   w.conf.web.listen, w.conf.events, w.conf.control, w.token ? "on" : "off");
        web_run(&w);
    }
    teardown(&w);
    return rc;
}
