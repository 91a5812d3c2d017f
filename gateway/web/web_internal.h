/* What the files of accessgw-web share, from the bottom up:
 *   ring.c       the ring of recent events, each as its SSE frame
 *   http.c       responses, CORS, Host, connections and their deadlines
 *   sse.c        SSE streams: a position each, served from the ring or the journal
 *   requests.c   POST /control: forwarded to the gateway, answered when it answers
 *   followups.c  the staff console's list of bad ratings followed up
 *   app_events.c GET /app/events: a window app's own devices' events, full, audited
 *   routes.c     the routes, as a table, and the dispatch libmicrohttpd calls
 *   loop.c       the bus (SUB and DEALER), the gateway's replies, the poll loop
 *   web.c        configuration, setup and teardown, main: the top
 * One thread. */
#ifndef AGW_WEB_INTERNAL_H
#define AGW_WEB_INTERNAL_H
#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <time.h>

#include "audit.h"
#include "config.h"
#include "control_client.h"
#include "feed.h"
#include "sbuf.h"
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
/* A page the gateway does not send within this gives the stream's turn to another. */
#define JOURNAL_PAGE_TIMEOUT_MS 10000

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
    bool app_origins;           /* ... and the apps' origins count (a route apps may use) */
};

/* A window's application ([app NAME]) as accessgw-web knows it. */
struct web_app {
    const struct app_conf *conf;
    char *token; /* NULL: its token file cannot be used, so it is refused */
};

struct app_stream;

struct web {
    struct gateway_conf conf;
    struct web_app *apps;
    size_t n_apps;
    int app_link;                   /* fd 3 from accessgwd: the apps' events; -1: none */
    struct app_stream *app_streams; /* GET /app/events */
    struct audit audit;             /* every full record delivered, before it leaves */
    bool audit_open;
    char audit_problem[600];
    struct timespec next_audit_sync;
    char *token;
    char *token_problem; /* why the token file cannot be used: commands are refused */
    char hostname[256];  /* this machine's name, a Host it answers to (read once) */
    struct conn_state *conns;
    void *zctx;
    struct control_client control; /* replay, control verbs, ping: each with its callback */
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

struct request {
    struct web *w;
    unsigned long no;
    struct MHD_Connection *conn;
    struct sbuf body;
    bool too_large, forwarded, suspended;
    json_t *client_id;
    const struct web_app *app; /* the window application that asked; NULL: the staff */
    json_t *reply;   /* set when the gateway answered (or it timed out) */
    unsigned status;
    struct request *next;
};

/* ring.c */
void ring_drop_oldest(struct ring *r);
void ring_add(struct ring *r, struct feed_event *fe);
struct ring_event *ring_at(struct ring *r, size_t i);
size_t ring_after(struct ring *r, struct journal_key pos);
struct journal_key ring_newest(struct ring *r);

/* http.c */
struct conn_state *state_of(struct MHD_Connection *conn);
const char *allowed_origin(struct MHD_Connection *conn);
void add_common_headers(struct MHD_Connection *conn, struct MHD_Response *r, const char *type);
enum MHD_Result queue_event_stream(struct MHD_Connection *conn, struct MHD_Response *r);
enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type, const char *body, size_t len);
enum MHD_Result respond_json(struct MHD_Connection *conn, unsigned status, json_t *body);
enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status, const char *code, const char *message);
bool host_allowed(struct web *w, struct MHD_Connection *conn);
void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context, enum MHD_ConnectionNotificationCode code);
void cut_slow_heads(struct web *w);

/* sse.c */
void wake_all(struct web *w);
enum MHD_Result start_events(struct web *w, struct MHD_Connection *conn);

/* requests.c */
/* Who the bearer token says the request is from. */
enum bearer { NOBODY, STAFF, APP };
enum bearer bearer_of(struct web *w, struct MHD_Connection *conn, const struct web_app **app);
void request_free(struct request *q);
enum MHD_Result forward_control(struct web *w, struct request *q);

/* followups.c */
void note_followups(struct web *w, struct feed_event *fe);
enum MHD_Result mark_handled(struct web *w, struct request *q);
void load_followups(struct web *w);

/* app_events.c */
void app_link_attach(struct web *w);
void app_link_read(struct web *w);
enum MHD_Result start_app_events(struct web *w, struct MHD_Connection *conn);
void app_streams_ping(struct web *w);
void app_streams_end(struct web *w);

/* routes.c */
enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                           const char *method, const char *version, const char *upload,
                           size_t *upload_size, void **state);
void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                  enum MHD_RequestTerminationCode code);

/* loop.c */
void web_run(struct web *w);

#endif
