/* SSE streams (GET /events): each only a position, pulled from the ring or,
 * further behind, from the gateway's journal a page at a time. */
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

static void on_journal_page(void *ctx, unsigned long no, json_t *reply);

static bool client_wants(const struct sse_client *c, const char *topic)
{
    return topic_matches(topic, (const char *const *)c->prefixes, c->n_prefixes);
}

static void set_pending(struct sse_client *c, const char *text, size_t len)
{
    c->pending.len = 0;
    c->pending_off = 0;
    sbuf_add(&c->pending, text, len);
}

/* An event's frame added to what this client is sent: without its "event:" line when
 * unnamed. */
static void add_frame(struct sse_client *c, const char *frame, size_t len)
{
    const char *name = c->unnamed ? strstr(frame, "\nevent: ") : NULL;
    const char *end = name ? strchr(name + 1, '\n') : NULL;
    if (!end) {
        sbuf_add(&c->pending, frame, len);
        return;
    }
    sbuf_add(&c->pending, frame, (size_t)(name - frame));
    sbuf_add(&c->pending, end, len - (size_t)(end - frame));
}

static void set_frame(struct sse_client *c, const char *frame, size_t len)
{
    set_pending(c, "", 0);
    add_frame(c, frame, len);
}

static void request_journal(struct sse_client *c)
{
    if (c->waiting || c->in_page || c->w->journal_readers >= JOURNAL_READERS_MAX)
        return; /* asked already, or its turn comes when another stream's page is sent */
    json_t *prefixes = json_array();
    for (size_t i = 0; i < c->n_prefixes; i++)
        json_array_append_new(prefixes, json_string(c->prefixes[i]));
    json_t *req = json_pack("{s:s, s:{s:{s:I, s:I}, s:o, s:i}}", "verb", "replay", "args", "since",
                            "epoch", (json_int_t)c->pos.epoch, "seq", (json_int_t)c->pos.seq,
                            "prefixes", prefixes, "limit", JOURNAL_PAGE_EVENTS);
    if (req && control_client_send(&c->w->control, req, JOURNAL_PAGE_TIMEOUT_MS, on_journal_page,
                                   c->w, c->no)) {
        c->waiting = true;
        c->w->journal_readers++;
    }
    json_decref(req);
}

/* `event: truncated`: the events between since and resumed were lost to this stream. */
static void say_truncated(struct sse_client *c, struct journal_key resumed)
{
    char text[200];
    int n = snprintf(text, sizeof(text), "event: truncated\ndata: {\"since\":\"%" PRIu64 ":%" PRIu64
                     "\",\"resumed\":\"%" PRIu64 ":%" PRIu64 "\"}\n\n",
                     c->pos.epoch, c->pos.seq, resumed.epoch, resumed.seq);
    sbuf_add(&c->pending, text, (size_t)n);
}

/* What was sent (or not yet) can be dropped: pending starts empty again. */
static void clear_sent(struct sse_client *c)
{
    if (c->pending_off == c->pending.len)
        set_pending(c, "", 0);
}

/* A page asked for holds a turn at the journal until it arrives (rendered, it is this
 * stream's own few frames, whether or not its browser reads them). */
static void end_turn(struct sse_client *c)
{
    if (c->waiting) {
        c->w->journal_readers--;
        c->w->journal_turn_free = true;
    }
    c->waiting = false;
}

/* A page's frames were all sent: where the stream goes on from (the next page, or the
 * ring once it reaches it). */
static void finish_page(struct sse_client *c)
{
    if (!c->in_page)
        return;
    if (journal_key_cmp(c->page_next, c->pos) > 0)
        c->pos = c->page_next;
    c->in_page = false;
    struct ring *r = &c->w->ring;
    c->from_journal = c->page_more || !r->have_base || journal_key_cmp(c->pos, r->base) < 0;
}

static bool next_from_ring(struct sse_client *c)
{
    struct ring *r = &c->w->ring;
    if (!r->have_base)
        return false;
    if (c->pos_unset) {
        c->pos = ring_newest(r);
        c->pos_unset = false;
    }
    if (journal_key_cmp(c->pos, r->base) < 0) {
        c->from_journal = true;
        return false;
    }
    for (size_t i = ring_after(r, c->pos); i < r->n; i++) {
        struct ring_event *e = ring_at(r, i);
        c->pos = e->key;
        if (client_wants(c, e->topic)) {
            set_frame(c, e->frame, e->frame_len);
            return true;
        }
    }
    return false;
}

/* The next frame into c->pending; false when there is none now. */
static bool next_frame(struct sse_client *c)
{
    if (c->from_journal) {
        finish_page(c);
        if (c->from_journal) {
            request_journal(c);
            return false;
        }
    }
    return next_from_ring(c);
}

static size_t drain_pending(struct sse_client *c, char *buf, size_t max)
{
    size_t n = c->pending.len - c->pending_off;
    if (n > max)
        n = max;
    memcpy(buf, c->pending.p + c->pending_off, n);
    c->pending_off += n;
    return n;
}

static ssize_t sse_read(void *cls, uint64_t offset, char *buf, size_t max)
{
    struct sse_client *c = cls;
    if (!c->w->running)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = c->pending.p ? drain_pending(c, buf, max) : 0;
    while (n < max && c->pending_off == c->pending.len && next_frame(c))
        n += drain_pending(c, buf + n, max - n);
    if (n == 0 && c->ping_due) {
        static const char ping[] = ": ping\n\n";
        c->ping_due = false;
        if (max >= sizeof(ping) - 1) {
            memcpy(buf, ping, sizeof(ping) - 1);
            return sizeof(ping) - 1;
        }
    }
    if (n == 0) {
        /* nothing to send: parked until an event, a journal page or the ping wakes it */
        c->suspended = true;
        MHD_suspend_connection(c->conn);
    }
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    struct sse_client *c = cls;
    struct web *w = c->w;
    for (struct sse_client **p = &w->clients; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    for (size_t i = 0; i < c->n_prefixes; i++)
        free(c->prefixes[i]);
    end_turn(c);
    free(c->pending.p);
    free(c);
}

static void resume(struct sse_client *c)
{
    if (c->suspended) {
        c->suspended = false;
        MHD_resume_connection(c->conn);
    }
}

void wake_all(struct web *w)
{
    for (struct sse_client *c = w->clients; c; c = c->next)
        resume(c);
}

/* A journal page's events rendered at once into what this stream is sent: the parsed
 * page is not kept. */
static void add_page_frames(struct sse_client *c, json_t *events)
{
    size_t i;
    json_t *item;
    json_array_foreach(events, i, item)
    {
        const char *topic = json_string_value(json_object_get(item, "topic"));
        json_t *ev = json_object_get(item, "event");
        json_t *e = json_object_get(ev, "epoch"), *sq = json_object_get(ev, "seq");
        if (!topic || !json_is_integer(e) || !json_is_integer(sq))
            continue;
        struct journal_key key = {(uint64_t)json_integer_value(e), (uint64_t)json_integer_value(sq)};
        if (journal_key_cmp(key, c->pos) <= 0)
            continue;
        char *json = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
        size_t len;
        char *frame = json ? web_sse_frame(topic, key, json, strlen(json), &len) : NULL;
        free(json);
        if (!frame)
            continue;
        add_frame(c, frame, len);
        free(frame);
        c->pos = key;
    }
}

static void on_journal_page(void *ctx, unsigned long no, json_t *reply)
{
    struct web *w = ctx;
    struct sse_client *c = w->clients;
    while (c && c->no != no)
        c = c->next;
    if (!c || !c->waiting)
        return; /* the browser went away meanwhile */
    end_turn(c);
    if (!reply)
        return; /* none came: its turn is given up, and it asks again when woken */
    c->in_page = true;
    clear_sent(c);
    json_t *result = json_object_get(reply, "result");
    json_t *events = json_object_get(result, "events");
    json_t *next = json_object_get(result, "next_since");
    if (!json_is_true(json_object_get(reply, "ok")) || !json_is_array(events)) {
        /* no journal: skip to what the ring holds, and say so */
        struct journal_key to = w->ring.have_base ? w->ring.base : c->pos;
        say_truncated(c, to);
        c->pos = c->page_next = to;
        c->page_more = false;
        resume(c);
        return;
    }
    if (json_is_true(json_object_get(result, "truncated")) && json_array_size(events) > 0) {
        json_t *first = json_object_get(json_array_get(events, 0), "event");
        struct journal_key at = {(uint64_t)json_integer_value(json_object_get(first, "epoch")),
                                 (uint64_t)json_integer_value(json_object_get(first, "seq"))};
        say_truncated(c, at);
    }
    add_page_frames(c, events);
    c->page_more = json_is_true(json_object_get(result, "more"));
    c->page_next = (struct journal_key){(uint64_t)json_integer_value(json_object_get(next, "epoch")),
                                        (uint64_t)json_integer_value(json_object_get(next, "seq"))};
    resume(c);
}

static enum MHD_Result collect_prefix(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct sse_client *c = cls;
    if (strcmp(key, "prefix") == 0 && value && c->n_prefixes < MAX_PREFIXES)
        c->prefixes[c->n_prefixes++] = strdup(value);
    return MHD_YES;
}

enum MHD_Result start_events(struct web *w, struct MHD_Connection *conn)
{
    struct sse_client *c = calloc(1, sizeof(*c));
    if (!c)
        return respond_error(conn, 503, "internal", "out of memory");
    c->w = w;
    c->no = ++w->next_no;
    c->conn = conn;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_prefix, c);
    const char *since = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "since");
    const char *last = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
    const char *from = last ? last : since;
    if (from && !web_parse_position(from, &c->pos)) {
        sse_free(c);
        return respond_error(conn, 400, "bad_request", "Last-Event-ID and since are EPOCH:SEQ");
    }
    c->pos_unset = !from;
    const char *unnamed = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "unnamed");
    c->unnamed = unnamed && strcmp(unnamed, "1") == 0;
    c->from_journal = from && (!w->ring.have_base || journal_key_cmp(c->pos, w->ring.base) < 0);
    /* EventSource retries after this many ms when the stream ends */
    set_pending(c, "retry: 2000\n\n", 13);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8 * 1024, sse_read,
                                                               c, sse_free);
    if (!r) {
        sse_free(c);
        return MHD_NO;
    }
    c->next = w->clients;
    w->clients = c;
    return queue_event_stream(conn, r);
}
