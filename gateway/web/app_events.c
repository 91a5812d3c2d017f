/* GET /app/events: a window application's own devices' events, in full where they
 * have a private twin (docs/CONTRACT.md, "Applications allowed full records").
 *
 * accessgwd sends them over fd 3 (daemon/app_link.c).  Live only: full records are
 * kept nowhere, so a stream is a queue of frames, not a position; one that falls
 * behind by APP_STREAM_MAX is closed (the app reconnects and asks the device again).
 * Every full record is audited once per app that receives it, before it leaves, and
 * is not delivered when that cannot be done (the app is told why, without the data). */
#define _GNU_SOURCE
#include "web_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "mask.h"

#define APP_STREAM_MAX (4u << 20)

struct app_stream {
    struct web *w;
    const struct web_app *app;
    struct MHD_Connection *conn;
    struct sbuf pending;
    size_t sent;
    bool suspended, closed, ping_due;
    struct app_stream *next;
};

static const char live_only[] =
    ": live only: full records are kept nowhere, so nothing is replayed; to read a card "
    "again, send the device its read verb (idcard.read)\nretry: 2000\n\n";

/* fd 3 is the link when accessgwd started us with one; what waits there from before
 * this process started was for streams that no longer exist. */
void app_link_attach(struct web *w)
{
    int type = 0;
    socklen_t len = sizeof(type);
    w->app_link = -1;
    if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET)
        return;
    w->app_link = 3;
    fcntl(3, F_SETFD, FD_CLOEXEC);
    fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK);
    char junk[64];
    while (recv(3, junk, sizeof(junk), MSG_TRUNC) >= 0)
        ;
}

static void wipe(struct sbuf *b)
{
    if (b->p)
        explicit_bzero(b->p, b->cap);
    free(b->p);
    *b = (struct sbuf){0};
}

static void wake(struct app_stream *s)
{
    if (s->suspended) {
        s->suspended = false;
        MHD_resume_connection(s->conn);
    }
}

static ssize_t stream_read(void *cls, uint64_t offset, char *buf, size_t max)
{
    struct app_stream *s = cls;
    (void)offset;
    if (!s->w->running || s->closed)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = s->pending.len - s->sent;
    if (n == 0 && s->ping_due) {
        sbuf_str(&s->pending, ": ping\n\n");
        n = s->pending.len - s->sent;
    }
    s->ping_due = false;
    if (n == 0) { /* nothing to send: parked until a record or the ping */
        s->suspended = true;
        MHD_suspend_connection(s->conn);
        return 0;
    }
    n = n < max ? n : max;
    memcpy(buf, s->pending.p + s->sent, n);
    explicit_bzero(s->pending.p + s->sent, n);
    s->sent += n;
    if (s->sent == s->pending.len)
        s->pending.len = s->sent = 0;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct app_stream *s = cls;
    for (struct app_stream **p = &s->w->app_streams; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    wipe(&s->pending);
    free(s);
}

static void add(struct app_stream *s, const char *text, size_t len)
{
    if (s->closed)
        return;
    if (s->pending.len + len > APP_STREAM_MAX) {
        log_warn("web: [app %s]: a stream %u MiB behind is closed (it reconnects)",
                 s->app->conf->name, APP_STREAM_MAX >> 20);
        s->closed = true;
    } else {
        sbuf_add(&s->pending, text, len);
    }
    wake(s);
}

enum MHD_Result start_app_events(struct web *w, struct MHD_Connection *conn)
{
    const struct web_app *app;
    if (bearer_of(w, conn, &app) != APP)
        return respond_error(conn, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                             "an [app]'s token in the Authorization header (never in the URL)");
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    if (origin && !word_listed(app->conf->origins, origin, strlen(origin), true))
        return respond_error(conn, MHD_HTTP_FORBIDDEN, "forbidden",
                             "this origin is not among the application's origins");
    struct app_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return respond_error(conn, 503, "internal", "out of memory");
    *s = (struct app_stream){.w = w, .app = app, .conn = conn};
    sbuf_str(&s->pending, live_only);
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8 * 1024, stream_read, s, stream_free);
    if (!r) {
        wipe(&s->pending);
        free(s);
        return MHD_NO;
    }
    s->next = w->app_streams;
    w->app_streams = s;
    return queue_event_stream(conn, r);
}

/* Audited, then to each of the app's streams; or each told it was not. */
static void deliver(struct web *w, const struct web_app *app, const char *frame, size_t len,
                    bool full, const json_t *env)
{
    bool any = false;
    for (struct app_stream *s = w->app_streams; s && !any; s = s->next)
        any = s->app == app && !s->closed;
    if (!any)
        return; /* delivered to nobody: nothing to audit */
    char err[600] = "";
    const char *id = json_string_value(json_object_get(env, "id"));
    if (full) {
        struct audit_record rec = {app->conf->name, "web",
                                   json_string_value(json_object_get(env, "subject")),
                                   json_string_value(json_object_get(env, "type")), id};
        if (!rec.device || !rec.type || !rec.event)
            snprintf(err, sizeof(err), "a record without its subject, type or id");
        else if (!w->audit_open)
            snprintf(err, sizeof(err), "the audit cannot be written (%.500s)", w->audit_problem);
        else
            audit_append(&w->audit, &rec, err, sizeof(err));
    }
    char notice[900];
    int notice_len = 0;
    if (err[0]) {
        log_err("web: [app %s]: %s: %s; not delivered", app->conf->name, id ? id : "?", err);
        notice_len = snprintf(notice, sizeof(notice),
                              "event: not_delivered\ndata: {\"id\":\"%.100s\",\"reason\":\"the "
                              "disclosure could not be audited\"}\n\n", id ? id : "");
    }
    for (struct app_stream *s = w->app_streams; s; s = s->next)
        if (s->app == app)
            add(s, err[0] ? notice : frame, err[0] ? (size_t)notice_len : len);
}

static void take_record(struct web *w, char *rec, size_t len)
{
    const char *topic, *env_text;
    size_t env_len;
    bool full;
    if (!app_record_take(rec, len, &topic, &env_text, &env_len, &full))
        return;
    json_t *env = json_loadb(env_text, env_len, 0, NULL);
    const char *subject = json_string_value(json_object_get(env, "subject"));
    json_t *epoch = json_object_get(env, "epoch"), *seq = json_object_get(env, "seq");
    if (subject && json_is_integer(epoch) && json_is_integer(seq)) {
        struct journal_key key = {(uint64_t)json_integer_value(epoch),
                                  (uint64_t)json_integer_value(seq)};
        size_t frame_len;
        char *frame = web_sse_frame(topic, key, env_text, env_len, &frame_len);
        for (size_t i = 0; frame && i < w->n_apps; i++)
            if (w->apps[i].token && app_has_device(w->apps[i].conf, subject))
                deliver(w, &w->apps[i], frame, frame_len, full, env);
        if (frame)
            explicit_bzero(frame, frame_len);
        free(frame);
    }
    if (full)
        mask_wipe_decref(env); /* nothing personal stays behind in this process */
    else
        json_decref(env);
}

void app_link_read(struct web *w)
{
    char *rec = malloc(APP_RECORD_MAX);
    ssize_t n;
    while (rec && (n = recv(w->app_link, rec, APP_RECORD_MAX, 0)) > 0) {
        take_record(w, rec, (size_t)n);
        explicit_bzero(rec, (size_t)n);
    }
    free(rec);
}

void app_streams_ping(struct web *w)
{
    for (struct app_stream *s = w->app_streams; s; s = s->next) {
        s->ping_due = true;
        wake(s);
    }
}

void app_streams_end(struct web *w)
{
    for (struct app_stream *s = w->app_streams; s; s = s->next) {
        s->closed = true;
        wake(s);
    }
}
