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
#include "web.h"

#define RING_EVENTS 20000
#define RING_BYTES (16u << 20)
#define PING_MS 15000
#define MAX_BODY (64 * 1024)
#define MAX_CONNECTIONS 2000
/* Connections one address may hold (consoles, streams): 2,000 trickling connections
 * from one address once kept every new console out. */
#define MAX_PER_ADDRESS 256
/* A request's head (request line and headers) must be whole within this: libmicrohttpd's
 * idle timeout starts again at every byte, so a client trickling one byte a minute
 * would never meet it. */
#define HEAD_DEADLINE_MS 10000
#define MAX_PREFIXES 16
#define FOLLOWUPS_KEPT 500
/* A stream further behind than the ring reads the journal a small page at a time, kept
 * only as its rendered frames; so many streams at most wait for a page at once (the
 * others wait their turn): each costs its frames, never a parsed page. */
#define JOURNAL_PAGE_EVENTS 16
#define JOURNAL_READERS_MAX 32

/* ---- the ring of recent events, each as its SSE frame ---- */

struct ring_event {
    struct journal_key key;
    char *topic;
    char *frame; /* "id: E:S\nevent: T\ndata: JSON\n\n" */
    size_t frame_len;
};

struct ring {
    struct ring_event *ev;
    size_t head, n;
    size_t bytes;
    bool have_base;
    struct journal_key base; /* every event after it is here, up to the newest */
};

struct sse_client;
struct request;

/* What accessgw-web keeps of one TCP connection (libmicrohttpd's socket context). */
struct conn_state {
    struct conn_state *next;
    struct web *w;
    struct MHD_Connection *conn;
    struct timespec head_since; /* when the current request began */
    bool head_done;             /* its head is whole: the handler has seen it */
    bool cut;                   /* shut down for missing the head's deadline */
    bool cross_origin;          /* the current request may answer another origin (CORS) */
};

struct web {
    struct gateway_conf conf;
    char *token;
    char *token_problem; /* why the token file cannot be used: commands are refused */
    char hostname[256];  /* this machine's name, a Host it answers to (read once) */
    struct conn_state *conns;
    void *zctx, *dealer;
    struct feed feed;
    struct ring ring;
    struct MHD_Daemon *mhd;
    struct sse_client *clients;
    unsigned journal_readers; /* streams with a journal page asked for */
    bool journal_turn_free;   /* one finished: the streams waiting for a turn are woken */
    struct request *requests;
    unsigned long next_no;
    struct timespec next_ping;
    struct timespec next_ask; /* `ping` for the bus's position until it is known */
    json_t *followups; /* array of bad ratings, newest last */
    char followups_name[64];
    int sigfd;
    bool running;
};

char *web_sse_frame(const char *topic, struct journal_key key, const char *json, size_t json_len,
                    size_t *len)
{
    struct sbuf b = {0};
    sbuf_printf(&b, "id: %" PRIu64 ":%" PRIu64 "\nevent: ", key.epoch, key.seq);
    sbuf_str(&b, topic);
    sbuf_str(&b, "\ndata: ");
    /* the envelope is one line (compact JSON); a raw CR or LF, which JSON allows as
     * whitespace between tokens, would end the SSE field: a space instead */
    for (size_t i = 0; i < json_len; i++)
        sbuf_add(&b, json[i] == '\n' || json[i] == '\r' ? " " : &json[i], 1);
    sbuf_str(&b, "\n\n");
    *len = b.len;
    return sbuf_take(&b);
}

/* One decimal number of at most 19 digits (no sign, no space): a position is never
 * negative, and 19 digits cannot overflow 64 bits. */
static const char *parse_number(const char *p, uint64_t *out)
{
    uint64_t v = 0;
    const char *start = p;
    while (*p >= '0' && *p <= '9' && p - start < 19)
        v = v * 10 + (uint64_t)(*p++ - '0');
    *out = v;
    return p > start && !(*p >= '0' && *p <= '9') ? p : NULL;
}

bool web_parse_position(const char *text, struct journal_key *key)
{
    uint64_t e, s;
    const char *p = text ? parse_number(text, &e) : NULL;
    if (!p || *p != ':' || !(p = parse_number(p + 1, &s)) || *p)
        return false;
    *key = (struct journal_key){e, s};
    return true;
}

static void ring_drop_oldest(struct ring *r)
{
    struct ring_event *e = &r->ev[r->head];
    r->base = e->key;
    r->bytes -= e->frame_len;
    free(e->topic);
    free(e->frame);
    r->head = (r->head + 1) % RING_EVENTS;
    r->n--;
}

static void ring_add(struct ring *r, struct feed_event *fe)
{
    size_t len;
    char *frame = web_sse_frame(fe->topic, fe->key, fe->json, fe->json_len, &len);
    char *topic = strdup(fe->topic);
    if (!frame || !topic) {
        free(frame);
        free(topic);
        log_err("web: out of memory for event %" PRIu64 ":%" PRIu64, fe->key.epoch, fe->key.seq);
        return;
    }
    if (!r->have_base) {
        r->have_base = true;
        r->base = (struct journal_key){fe->key.epoch, fe->key.seq - 1};
    }
    while (r->n && (r->n == RING_EVENTS || r->bytes + len > RING_BYTES))
        ring_drop_oldest(r);
    r->ev[(r->head + r->n++) % RING_EVENTS] = (struct ring_event){fe->key, topic, frame, len};
    r->bytes += len;
}

static struct ring_event *ring_at(struct ring *r, size_t i) { return &r->ev[(r->head + i) % RING_EVENTS]; }

/* The index of the first event after pos (r->n when none). */
static size_t ring_after(struct ring *r, struct journal_key pos)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (journal_key_cmp(ring_at(r, mid)->key, pos) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct journal_key ring_newest(struct ring *r)
{
    return r->n ? ring_at(r, r->n - 1)->key : r->base;
}

/* ---- SSE clients ---- */

struct sse_client {
    struct web *w;
    unsigned long no;
    struct MHD_Connection *conn;
    struct journal_key pos;
    bool pos_unset;       /* no Last-Event-ID: starts at the newest event */
    bool unnamed;         /* ?unnamed=1: no "event:" line, every event is a "message" */
    char *prefixes[MAX_PREFIXES];
    size_t n_prefixes;
    bool suspended, closed;
    bool from_journal;    /* further behind than the ring reaches */
    bool waiting;         /* a journal page asked for */
    bool in_page;         /* a page's frames are being sent */
    bool page_more;
    struct journal_key page_next;
    struct sbuf pending;  /* the frame being written */
    size_t pending_off;
    bool ping_due;
    struct sse_client *next;
};

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
    char id[48];
    snprintf(id, sizeof(id), "sse-%lu", c->no);
    json_t *req = json_pack("{s:s, s:s, s:{s:{s:I, s:I}, s:o, s:i}}", "id", id, "verb", "replay",
                            "args", "since", "epoch", (json_int_t)c->pos.epoch, "seq",
                            (json_int_t)c->pos.seq, "prefixes", prefixes, "limit",
                            JOURNAL_PAGE_EVENTS);
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (text && zmq_send(c->w->dealer, text, strlen(text), ZMQ_DONTWAIT) >= 0) {
        c->waiting = true;
        c->w->journal_readers++;
    }
    free(text);
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

static void wake_all(struct web *w)
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

static void on_journal_page(struct web *w, json_t *reply, unsigned long no)
{
    struct sse_client *c = w->clients;
    while (c && c->no != no)
        c = c->next;
    if (!c || !c->waiting)
        return; /* the browser went away meanwhile */
    end_turn(c);
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

/* ---- responses ---- */

/* word (of len bytes) is one of list's words (separated by spaces or commas) */
static bool listed(const char *list, const char *word, size_t len)
{
    for (const char *p = list; p && *p;) {
        p += strspn(p, " ,\t");
        size_t n = strcspn(p, " ,\t");
        if (n && n == len && strncasecmp(p, word, len) == 0)
            return true;
        p += n;
    }
    return false;
}

static struct conn_state *state_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

/* The page's origin when another origin's page may read this answer: listed in [web]
 * allow_origins, and the request not one that only the console itself makes (the
 * follow-up list: staff ids, bad ratings).  Same-origin pages need no header. */
static const char *allowed_origin(struct MHD_Connection *conn)
{
    struct conn_state *cs = state_of(conn);
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    if (!cs || !cs->cross_origin || !origin)
        return NULL;
    return listed(cs->w->conf.web.allow_origins, origin, strlen(origin)) ? origin : NULL;
}

static void add_common_headers(struct MHD_Connection *conn, struct MHD_Response *r,
                               const char *type)
{
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Vary", "Origin");
    const char *origin = allowed_origin(conn);
    if (origin)
        MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
                               const char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    add_common_headers(conn, r, type);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"accessgw\"");
    enum MHD_Result ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result respond_json(struct MHD_Connection *conn, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    enum MHD_Result ok = text ? respond(conn, status, "application/json", text, strlen(text)) : MHD_NO;
    free(text);
    return ok;
}

static enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                     const char *message)
{
    return respond_json(conn, status, json_pack("{s:n, s:b, s:{s:s, s:s}}", "id", "ok", 0, "error",
                                                "code", code, "message", message));
}

static enum MHD_Result start_events(struct web *w, struct MHD_Connection *conn)
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
    add_common_headers(conn, r, "text/event-stream");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

/* ---- POST /control and the follow-up list ---- */

struct request {
    struct web *w;
    unsigned long no;
    struct MHD_Connection *conn;
    struct sbuf body;
    bool too_large, forwarded, suspended;
    json_t *client_id;
    json_t *reply;   /* set when the gateway answered (or it timed out) */
    unsigned status;
    struct timespec deadline;
    struct request *next;
};

static bool authorized(struct web *w, struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!w->token || !h || strncmp(h, "Bearer ", 7) != 0)
        return false;
    const char *given = h + 7;
    size_t a = strlen(given), b = strlen(w->token);
    unsigned char diff = (unsigned char)(a != b);
    for (size_t i = 0; i < a && i < b; i++) /* constant time for equal lengths */
        diff |= (unsigned char)(given[i] ^ w->token[i]);
    return diff == 0;
}

static void request_unlink(struct web *w, struct request *q)
{
    for (struct request **p = &w->requests; *p; p = &(*p)->next)
        if (*p == q) {
            *p = q->next;
            return;
        }
}

static void request_free(struct request *q)
{
    request_unlink(q->w, q);
    free(q->body.p);
    json_decref(q->client_id);
    json_decref(q->reply);
    free(q);
}

static void finish_request(struct request *q, unsigned status, json_t *reply)
{
    q->status = status;
    q->reply = reply;
    if (q->suspended) {
        q->suspended = false;
        MHD_resume_connection(q->conn);
    }
}

static enum MHD_Result forward_control(struct web *w, struct request *q)
{
    json_error_t e;
    json_t *req = json_loadb(q->body.p ? q->body.p : "", q->body.len, 0, &e);
    if (!json_is_object(req)) {
        json_decref(req);
        return respond_error(q->conn, 400, "bad_json", "the body is not a JSON object");
    }
    q->client_id = json_incref(json_object_get(req, "id"));
    char id[48];
    snprintf(id, sizeof(id), "web-%lu", q->no);
    json_object_set_new(req, "id", json_string(id));
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!text || zmq_send(w->dealer, text, strlen(text), ZMQ_DONTWAIT) < 0) {
        free(text);
        return respond_error(q->conn, 503, "unavailable", "cannot reach the gateway");
    }
    free(text);
    q->forwarded = true;
    monotonic_now(&q->deadline);
    add_ms(&q->deadline, w->conf.command_timeout_ms + 2000);
    q->next = w->requests;
    w->requests = q;
    q->suspended = true;
    MHD_suspend_connection(q->conn);
    return MHD_YES;
}

static void on_control_reply(struct web *w, json_t *reply, unsigned long no)
{
    for (struct request *q = w->requests; q; q = q->next)
        if (q->no == no && !q->reply) {
            json_object_set(reply, "id", q->client_id ? q->client_id : json_null());
            finish_request(q, MHD_HTTP_OK, json_incref(reply));
            return;
        }
}

static void expire_requests(struct web *w)
{
    for (struct request *q = w->requests; q; q = q->next)
        if (!q->reply && ms_until(&q->deadline) == 0)
            finish_request(q, MHD_HTTP_GATEWAY_TIMEOUT,
                           json_pack("{s:O?, s:b, s:{s:s, s:s}}", "id", q->client_id, "ok", 0,
                                     "error", "code", "timeout", "message",
                                     "the gateway did not answer"));
}

static void save_followups(struct web *w)
{
    char *text = json_dumps(w->followups, JSON_COMPACT);
    if (!text || state_write_file(w->conf.state_dir, w->followups_name, text, strlen(text)) < 0)
        log_err("web: cannot save the follow-up list to %s/%s: %s", w->conf.state_dir,
                w->followups_name, strerror(errno));
    free(text);
}

/* A bad rating (level <= 2) is kept for follow-up until staff mark it handled. */
static json_t *followup_of(struct web *w, const char *id)
{
    size_t i;
    json_t *item;
    json_array_foreach(w->followups, i, item) if (strcmp(json_string_value(json_object_get(item, "id")) ?: "", id) == 0)
        return item;
    return NULL;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* The follow-up list from the bus: a bad rating adds an item; a followup_handled (from
 * this console's process or another's) marks it, first come first kept. */
static void note_followups(struct web *w, struct feed_event *fe)
{
    bool rating = strncmp(fe->topic, "evaluation/", 11) == 0 && ends_with(fe->topic, "/rating");
    bool handled = strncmp(fe->topic, "gateway/", 8) == 0 && ends_with(fe->topic, "/followup_handled");
    if (!rating && !handled)
        return;
    json_t *ev = json_loadb(fe->json, fe->json_len, 0, NULL);
    json_t *data = json_object_get(ev, "data");
    const char *id = json_string_value(json_object_get(rating ? ev : data, "id"));
    json_t *item = id ? followup_of(w, id) : NULL;
    if (rating && !item && json_is_true(json_object_get(data, "bad"))) {
        item = json_pack("{s:O, s:O, s:O, s:O, s:b}", "id", json_object_get(ev, "id"), "time",
                         json_object_get(ev, "time"), "device", json_object_get(ev, "subject"),
                         "data", data, "handled", 0);
        if (item) {
            json_array_append_new(w->followups, item);
            while (json_array_size(w->followups) > FOLLOWUPS_KEPT)
                json_array_remove(w->followups, 0);
            save_followups(w);
        }
    } else if (handled && item && !json_is_true(json_object_get(item, "handled"))) {
        json_object_set_new(item, "handled", json_true());
        json_object_set(item, "handled_by", json_object_get(data, "by"));
        json_object_set(item, "handled_at", json_object_get(ev, "time"));
        save_followups(w);
    }
    json_decref(ev);
}

/* 已处理: kept at once, and said on the bus so that every console clears it (as an
 * acknowledged call does); an item already handled keeps who handled it first. */
static enum MHD_Result mark_handled(struct web *w, struct request *q)
{
    json_t *body = json_loadb(q->body.p ? q->body.p : "", q->body.len, 0, NULL);
    const char *id = json_string_value(json_object_get(body, "id"));
    const char *by = json_string_value(json_object_get(body, "by"));
    if (!id || !by || !by[0] || strlen(by) > 64 || strlen(id) > 128) {
        json_decref(body);
        return respond_error(q->conn, 400, "bad_args", "{\"id\": EVENT-ID, \"by\": STAFF (1-64)}");
    }
    json_t *item = followup_of(w, id);
    if (!item) {
        json_decref(body);
        return respond_error(q->conn, 404, "unknown_id", "no bad rating with that id in the list");
    }
    if (json_is_true(json_object_get(item, "handled"))) {
        char message[200];
        snprintf(message, sizeof(message), "已由 %.64s 处理 already handled by %.64s",
                 json_string_value(json_object_get(item, "handled_by")) ?: "?",
                 json_string_value(json_object_get(item, "handled_by")) ?: "?");
        json_decref(body);
        return respond_error(q->conn, 409, "already_handled", message);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char at[32];
    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now.tv_sec));
    json_object_set_new(item, "handled", json_true());
    json_object_set_new(item, "handled_by", json_string(by));
    json_object_set_new(item, "handled_at", json_string(at));
    save_followups(w);
    json_t *note = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", "fh", "verb", "followup_handled",
                             "args", "id", id, "by", by);
    char *text = json_dumps(note, JSON_COMPACT);
    if (text && zmq_send(w->dealer, text, strlen(text), ZMQ_DONTWAIT) < 0)
        log_warn("web: cannot tell the gateway a follow-up was handled: %s",
                 zmq_strerror(zmq_errno()));
    free(text);
    json_decref(note);
    json_decref(body);
    return respond_json(q->conn, 200, json_pack("{s:b, s:O}", "ok", 1, "result", item));
}

/* ---- routing ---- */

static enum MHD_Result serve_asset(struct MHD_Connection *conn, const char *url)
{
    const struct web_asset *a = web_asset_find(strcmp(url, "/") == 0 ? "/index.html" : url);
    if (!a)
        return respond_error(conn, 404, "not_found", "no such page");
    return respond(conn, 200, a->type, (const char *)a->data, a->len);
}

static enum MHD_Result serve_status(struct web *w, struct MHD_Connection *conn)
{
    struct journal_key newest = ring_newest(&w->ring);
    return respond_json(conn, 200, json_pack("{s:s, s:I, s:I, s:b}", "gateway", w->conf.id, "epoch",
                                             (json_int_t)newest.epoch, "seq",
                                             (json_int_t)newest.seq, "live", w->ring.have_base));
}

static enum MHD_Result on_post(struct web *w, struct MHD_Connection *conn, const char *url,
                               const char *upload, size_t *upload_size, void **state)
{
    struct request *q = *state;
    if (!q) {
        if (strcmp(url, "/control") != 0 && strcmp(url, "/followups") != 0)
            return respond_error(conn, 404, "not_found", "POST /control or /followups");
        if (!authorized(w, conn))
            return w->token_problem
                       ? respond_error(conn, 503, "unavailable", w->token_problem)
                       : respond_error(conn, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                                       w->token ? "令牌错误 wrong or missing token "
                                                  "(Authorization: Bearer <token>)"
                                                : "no [web] token_file: commands are off");
        if (!(q = calloc(1, sizeof(*q))))
            return MHD_NO;
        q->w = w;
        q->no = ++w->next_no;
        q->conn = conn;
        *state = q;
        return MHD_YES;
    }
    if (*upload_size) { /* more of the body */
        if (q->body.len + *upload_size > MAX_BODY)
            q->too_large = true;
        else
            sbuf_add(&q->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->reply) { /* resumed: the gateway answered or the time ran out */
        json_t *reply = q->reply;
        q->reply = NULL;
        q->forwarded = false;
        return respond_json(conn, q->status, reply);
    }
    if (q->forwarded)
        return MHD_YES;
    if (q->too_large || q->body.failed)
        return respond_error(conn, 413, "too_large", "a request body is at most 64 KiB");
    return strcmp(url, "/control") == 0 ? forward_control(w, q) : mark_handled(w, q);
}

/* DNS rebinding: a page of any origin can make a browser send requests to this port
 * under a name the attacker controls; the Host header says which name.  An IP address
 * cannot be rebound, and localhost and this machine's own name are the hall's; other
 * names only when listed in [web] allow_hosts. */
static bool host_allowed(struct web *w, struct MHD_Connection *conn)
{
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    if (!host) /* HTTP/1.0; libmicrohttpd refuses HTTP/1.1 without one */
        return true;
    size_t len = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":");
    char name[256];
    if (len == 0 || len >= sizeof(name))
        return false;
    memcpy(name, host, len);
    name[len] = '\0';
    unsigned char addr[16];
    if (inet_pton(AF_INET, name, addr) == 1)
        return true;
    if (name[0] == '[' && len > 2) {
        name[len - 1] = '\0';
        if (inet_pton(AF_INET6, name + 1, addr) == 1)
            return true;
        name[len - 1] = ']';
    }
    const char *own = w->hostname;
    size_t own_len = strlen(own);
    return strcasecmp(name, "localhost") == 0 || (own_len && strcasecmp(name, own) == 0) ||
           (own_len && len == own_len + 6 && strncasecmp(name, own, own_len) == 0 &&
            strcasecmp(name + own_len, ".local") == 0) ||
           listed(w->conf.web.allow_hosts, name, len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    struct web *w = cls;
    struct conn_state *cs = state_of(conn);
    if (cs && !cs->head_done) {
        cs->head_done = true;
        cs->cross_origin = strcmp(url, "/followups") != 0;
    }
    if (!host_allowed(w, conn))
        return respond_error(conn, 421, "bad_request",
                             "this gateway does not answer to that Host ([web] allow_hosts)");
    if (strcmp(method, "POST") == 0)
        return on_post(w, conn, url, upload, upload_size, state);
    if (strcmp(method, "OPTIONS") == 0) { /* a browser's CORS preflight */
        if (!allowed_origin(conn))
            return respond_error(conn, 403, "forbidden",
                                 "not an origin listed in [web] allow_origins");
        struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        add_common_headers(conn, r, "text/plain");
        MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        MHD_add_response_header(r, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type, Last-Event-ID");
        enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, r);
        MHD_destroy_response(r);
        return ok;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond_error(conn, 405, "bad_request", "GET, POST or OPTIONS");
    if (!*state) { /* GET has no body: answer on the second call, as MHD expects */
        *state = (void *)1;
        return MHD_YES;
    }
    if (strcmp(url, "/events") == 0)
        return start_events(w, conn);
    if (strcmp(url, "/status") == 0)
        return serve_status(w, conn);
    if (strcmp(url, "/followups") == 0)
        return respond_json(conn, 200, json_pack("{s:O}", "items", w->followups));
    return serve_asset(conn, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode code)
{
    struct conn_state *cs = state_of(conn);
    if (cs) { /* a kept-alive connection's next request has a deadline of its own */
        cs->head_done = false;
        monotonic_now(&cs->head_since);
    }
    if (*state && *state != (void *)1)
        request_free(*state);
    *state = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct web *w = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn_state *cs = calloc(1, sizeof(*cs));
        if (!cs)
            return;
        *cs = (struct conn_state){.next = w->conns, .w = w, .conn = conn};
        monotonic_now(&cs->head_since);
        w->conns = cs;
        *socket_context = cs;
        return;
    }
    struct conn_state *cs = *socket_context;
    for (struct conn_state **p = &w->conns; cs && *p; p = &(*p)->next)
        if (*p == cs) {
            *p = cs->next;
            break;
        }
    free(cs);
    *socket_context = NULL;
}

/* Connections whose request head is not whole within its deadline are shut down
 * (libmicrohttpd then closes them at its next turn). */
static void cut_slow_heads(struct web *w)
{
    for (struct conn_state *cs = w->conns; cs; cs = cs->next) {
        if (cs->head_done || cs->cut || elapsed_ms(&cs->head_since) < HEAD_DEADLINE_MS)
            continue;
        const union MHD_ConnectionInfo *i =
            MHD_get_connection_info(cs->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (i)
            shutdown(i->connect_fd, SHUT_RDWR);
        cs->cut = true;
    }
}

/* ---- the loop ---- */

static void on_position(struct web *w, json_t *reply);

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

static void run(struct web *w)
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

static void load_followups(struct web *w)
{
    char path[4200];
    snprintf(w->followups_name, sizeof(w->followups_name), "web-followups.json");
    snprintf(path, sizeof(path), "%s/%s", w->conf.state_dir, w->followups_name);
    json_error_t e;
    w->followups = json_load_file(path, 0, &e);
    if (!json_is_array(w->followups)) {
        if (access(path, F_OK) == 0)
            log_err("web: %s:%d: %s; the follow-up list starts empty", path, e.line, e.text);
        json_decref(w->followups);
        w->followups = json_array();
    }
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
    gethostname(w->hostname, sizeof(w->hostname) - 1);
    w->ring.ev = calloc(RING_EVENTS, sizeof(*w->ring.ev));
    if (!w->ring.ev) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    load_followups(w);
    w->zctx = zmq_ctx_new();
    w->dealer = zmq_socket(w->zctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(w->dealer, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_connect(w->dealer, w->conf.control) < 0 ||
        feed_open_live(&w->feed, w->zctx, w->conf.events, err, errlen) < 0) {
        if (!err[0])
            snprintf(err, errlen, "control %s: %s", w->conf.control, zmq_strerror(zmq_errno()));
        return -1;
    }
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
        for (struct request *q = w->requests; q; q = q->next)
            if (q->suspended) {
                q->suspended = false;
                MHD_resume_connection(q->conn);
            }
        MHD_stop_daemon(w->mhd);
    }
    feed_close(&w->feed);
    if (w->dealer)
        zmq_close(w->dealer);
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
    struct web w = {.sigfd = signals_fd(0), .running = true};
    char err[1024] = "";
    int rc = 0;
    if (w.sigfd < 0 || setup(&w, config, err, sizeof(err)) < 0) {
        log_err("%s", err[0] ? err : strerror(errno));
        rc = 1;
    } else {
        log_notice("web %s: http://%s/ (events %s, control %s, commands %s)", ACCESSGW_VERSION,
                   w.conf.web.listen, w.conf.events, w.conf.control, w.token ? "on" : "off");
        run(&w);
    }
    teardown(&w);
    return rc;
}
