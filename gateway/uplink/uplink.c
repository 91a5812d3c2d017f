/* accessgw-uplink: forwards the gateway's public events to an MQTT broker,
 * at least once and in order, and answers the platform's commands.
 *
 * One thread, one poll loop (as gpsd and NUT's upsd do): the SUB and DEALER
 * sockets to the gateway, the broker's socket driven through libmosquitto's
 * loop_read/loop_write/loop_misc, and a signalfd.  The cursor (the newest
 * event every earlier one of which the broker has acknowledged) is saved
 * atomically to state_dir; after any failure the uplink resumes from it
 * through the gateway's journal, so nothing is lost and every duplicate has
 * the same CloudEvents id. */
#include <errno.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include <zmq.h>

#include "args.h"
#include "config.h"
#include "control_protocol.h"
#include "feed.h"
#include "log.h"
#include "monotonic.h"
#include "signals.h"
#include "state.h"
#include "trust.h"

#define CURSOR_SAVE_MS 200
#define RECONNECT_MIN_MS 500
#define RECONNECT_MAX_MS 30000
#define MAX_PENDING_COMMANDS 64
/* Replies sent to the broker and not yet acknowledged by it: past this, a command is
 * answered busy (at QoS 0, itself unqueued) instead of growing libmosquitto's queue. */
#define MAX_REPLIES_IN_FLIGHT 64
#define SESSION_EXPIRY_S 3600
#define CONTENT_TYPE "application/cloudevents+json"
/* Where the cursor was, once a second: a broker that acknowledged an event and
 * then lost it (killed before its autosave, restarted without persistence)
 * gets the last resend_s seconds again.  1024 seconds back at least. */
#define CHECKPOINTS 1024

struct slot {
    struct journal_key key;
    int mid;
    bool done;
};

/* What the broker has not acknowledged yet, in order. */
struct window {
    struct slot *slots;
    size_t cap, head, n;
};

struct checkpoint {
    long long at_ms; /* monotonic */
    struct journal_key key;
};

struct command {
    bool used;
    unsigned long no;
    json_t *client_id;    /* the platform's "id", given back in the reply */
    char *response_topic;
    void *correlation;
    uint16_t correlation_len;
    struct timespec deadline;
};

struct uplink {
    struct gateway_conf conf;
    const char *gateway_id, *client_id;
    char host[256];
    int port;
    bool tls;
    char **forward, **commands;
    size_t n_forward, n_commands;
    char control_topic[320], online_topic[320];
    struct mosquitto *mosq;
    bool connected, v5;
    bool need_connect; /* no session: connect (again) once reconnect_at has come */
    unsigned backoff_ms;
    struct timespec reconnect_at;
    void *zctx, *dealer;
    struct feed feed;
    struct window window;
    struct journal_key cursor; /* every event up to it acknowledged by the broker */
    struct checkpoint checkpoints[CHECKPOINTS];
    size_t n_checkpoints, first_checkpoint;
    struct journal_key saved; /* the resume point last written to cursor_path */
    char cursor_path[4200];
    bool cursor_dirty;
    struct timespec cursor_save_at;
    struct command pending[MAX_PENDING_COMMANDS];
    int reply_mids[MAX_REPLIES_IN_FLIGHT]; /* 0: free */
    unsigned replies_in_flight;
    unsigned long command_no;
    unsigned long forwarded, acked, refused;
    int sigfd;
    bool running;
};

/* ---- configuration ---- */

/* "a b  c" -> {"a","b","c"}; the strings point into a copy owned by list[0]'s block. */
static char **split_words(const char *text, size_t *n)
{
    *n = 0;
    if (!text)
        return NULL;
    size_t len = strlen(text), words = 0;
    char **list = malloc((len / 2 + 2) * sizeof(char *) + len + 1);
    if (!list)
        return NULL;
    char *copy = (char *)(list + len / 2 + 2);
    memcpy(copy, text, len + 1);
    for (char *save = NULL, *w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save))
        list[words++] = w;
    *n = words;
    return list;
}

static bool in_words(char **list, size_t n, const char *word)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], word) == 0)
            return true;
    return false;
}

static bool forwarded_topic(const struct uplink *u, const char *topic)
{
    if (u->n_forward == 0)
        return true;
    for (size_t i = 0; i < u->n_forward; i++)
        if (strncmp(topic, u->forward[i], strlen(u->forward[i])) == 0)
            return true;
    return false;
}

/* mqtt://host[:port] or mqtts://host[:port]; [v6] addresses in brackets. */
static int parse_broker(struct uplink *u, char *err, size_t errlen)
{
    const char *b = u->conf.uplink.broker;
    u->tls = strncmp(b, "mqtts://", 8) == 0;
    const char *h = b + (u->tls ? 8 : 7);
    const char *end = h[0] == '[' ? strchr(h, ']') : NULL;
    const char *colon = strrchr(end ? end : h, ':');
    size_t hlen = colon ? (size_t)(colon - h) : strlen(h);
    if (h[0] == '[') {
        h++;
        hlen = end ? (size_t)(end - h) : 0;
    }
    char *tail = NULL;
    long port = colon ? strtol(colon + 1, &tail, 10) : (u->tls ? 8883 : 1883);
    if (hlen == 0 || hlen >= sizeof(u->host) || port < 1 || port > 65535 || (tail && *tail)) {
        snprintf(err, errlen, "%s: [uplink] broker '%s' is not mqtt://HOST:PORT", u->conf.path, b);
        return -1;
    }
    memcpy(u->host, h, hlen);
    u->host[hlen] = '\0';
    u->port = (int)port;
    return 0;
}

/* ---- the cursor ---- */

static void load_cursor(struct uplink *u)
{
    json_error_t e;
    json_t *c = json_load_file(u->cursor_path, 0, &e);
    json_t *ep = json_object_get(c, "epoch"), *sq = json_object_get(c, "seq");
    if (json_is_integer(ep) && json_is_integer(sq) && json_integer_value(ep) >= 0 &&
        json_integer_value(sq) >= 0) {
        u->cursor = (struct journal_key){(uint64_t)json_integer_value(ep),
                                         (uint64_t)json_integer_value(sq)};
        log_notice("uplink: resuming after %" PRIu64 ":%" PRIu64 " (%s)", u->cursor.epoch,
                   u->cursor.seq, u->cursor_path);
    } else if (access(u->cursor_path, F_OK) == 0) {
        log_err("uplink: %s is damaged (%s); starting from the journal's beginning (the broker "
                "may see duplicates, recognisable by id)", u->cursor_path, e.text);
    } else {
        log_notice("uplink: no cursor yet (%s); starting from the journal's beginning",
                   u->cursor_path);
    }
    json_decref(c);
}

static void add_checkpoint(struct uplink *u, long long at_ms, struct journal_key key)
{
    size_t slot = (u->first_checkpoint + u->n_checkpoints) % CHECKPOINTS;
    if (u->n_checkpoints == CHECKPOINTS)
        u->first_checkpoint = (u->first_checkpoint + 1) % CHECKPOINTS;
    else
        u->n_checkpoints++;
    u->checkpoints[slot] = (struct checkpoint){at_ms, key};
}

/* Once a second at most: the newest checkpoint is replaced within the second. */
static void note_checkpoint(struct uplink *u)
{
    long long now = monotonic_ms();
    struct checkpoint *last = u->n_checkpoints
        ? &u->checkpoints[(u->first_checkpoint + u->n_checkpoints - 1) % CHECKPOINTS] : NULL;
    if (last && last->at_ms > now - 1000 && last->at_ms != 0)
        last->key = u->cursor;
    else
        add_checkpoint(u, now, u->cursor);
}

/* The newest position acknowledged at least resend_s ago: where the uplink
 * resumes after a restart or a reconnect. */
static struct journal_key resume_point(const struct uplink *u)
{
    long long limit = monotonic_ms() - (long long)u->conf.uplink.resend_s * 1000;
    struct journal_key best = u->checkpoints[u->first_checkpoint].key;
    for (size_t i = 0; i < u->n_checkpoints; i++) {
        const struct checkpoint *c = &u->checkpoints[(u->first_checkpoint + i) % CHECKPOINTS];
        if (c->at_ms > limit)
            break;
        best = c->key;
    }
    return best;
}

static void save_cursor(struct uplink *u)
{
    char text[96];
    u->saved = resume_point(u);
    int n = snprintf(text, sizeof(text), "{\"epoch\":%" PRIu64 ",\"seq\":%" PRIu64 "}\n",
                     u->saved.epoch, u->saved.seq);
    const char *slash = strrchr(u->cursor_path, '/');
    char dir[4200];
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - u->cursor_path), u->cursor_path);
    if (state_write_file(dir, slash + 1, text, (size_t)n) < 0)
        log_err("uplink: cannot save the cursor to %s: %s (after a restart, events since the "
                "last saved one are sent again)", u->cursor_path, strerror(errno));
    u->cursor_dirty = false;
}

static void save_cursor_if_due(struct uplink *u)
{
    if (u->cursor_dirty && ms_until(&u->cursor_save_at) == 0) {
        if (journal_key_cmp(resume_point(u), u->saved) != 0)
            save_cursor(u);
        u->cursor_dirty = false;
    }
}

/* ---- the window of unacknowledged events ---- */

static bool window_full(const struct window *w) { return w->n == w->cap; }

static void window_push(struct window *w, struct journal_key key, int mid, bool done)
{
    w->slots[(w->head + w->n++) % w->cap] = (struct slot){key, mid, done};
}

/* The cursor moves over every leading event the broker has acknowledged. */
static void advance_cursor(struct uplink *u)
{
    struct window *w = &u->window;
    bool moved = false;
    while (w->n && w->slots[w->head].done) {
        if (journal_key_cmp(w->slots[w->head].key, u->cursor) > 0) /* re-sent events do not move it back */
            u->cursor = w->slots[w->head].key;
        w->head = (w->head + 1) % w->cap;
        w->n--;
        moved = true;
    }
    if (moved)
        note_checkpoint(u);
    if (moved && !u->cursor_dirty) {
        u->cursor_dirty = true;
        monotonic_now(&u->cursor_save_at);
        add_ms(&u->cursor_save_at, CURSOR_SAVE_MS);
    }
}

static bool reply_acknowledged(struct uplink *u, int mid)
{
    for (size_t i = 0; i < MAX_REPLIES_IN_FLIGHT; i++)
        if (u->reply_mids[i] == mid) {
            u->reply_mids[i] = 0;
            u->replies_in_flight--;
            return true;
        }
    return false;
}

static void on_publish(struct mosquitto *m, void *obj, int mid, int reason, const mosquitto_property *p)
{
    struct uplink *u = obj;
    if (reply_acknowledged(u, mid))
        return;
    struct window *w = &u->window;
    for (size_t i = 0; i < w->n; i++) {
        struct slot *s = &w->slots[(w->head + i) % w->cap];
        if (s->mid != mid || s->done)
            continue;
        s->done = true;
        u->acked++;
        if (reason >= 0x80) { /* the broker's own decision (an ACL, a quota): not retried */
            u->refused++;
            log_err("uplink: the broker refused event %" PRIu64 ":%" PRIu64 ": %s", s->key.epoch,
                    s->key.seq, mosquitto_reason_string(reason));
        }
        break;
    }
    advance_cursor(u);
}

/* ---- publishing events ---- */

static mosquitto_property *event_properties(const struct uplink *u, struct journal_key key)
{
    mosquitto_property *props = NULL;
    if (!u->v5)
        return NULL;
    char epoch[24], seq[24];
    snprintf(epoch, sizeof(epoch), "%" PRIu64, key.epoch);
    snprintf(seq, sizeof(seq), "%" PRIu64, key.seq);
    mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, CONTENT_TYPE);
    mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "epoch", epoch);
    mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "seq", seq);
    return props;
}

/* device/<id>/state is kept by the broker, so a platform that subscribes later
 * sees each device's health at once. */
static bool retained_topic(const char *topic)
{
    size_t n = strlen(topic);
    return strncmp(topic, "device/", 7) == 0 && n > 6 && strcmp(topic + n - 6, "/state") == 0;
}

static void forward_event(struct uplink *u, struct feed_event *ev)
{
    if (!forwarded_topic(u, ev->topic)) {
        window_push(&u->window, ev->key, 0, true);
        free(ev->json);
        advance_cursor(u);
        return;
    }
    char topic[600];
    snprintf(topic, sizeof(topic), "accessgw/%s/%s", u->gateway_id, ev->topic);
    mosquitto_property *props = event_properties(u, ev->key);
    int mid = 0;
    int rc = mosquitto_publish_v5(u->mosq, &mid, topic, (int)ev->json_len, ev->json, 1,
                                  retained_topic(ev->topic), props);
    mosquitto_property_free_all(&props);
    free(ev->json);
    if (rc != MOSQ_ERR_SUCCESS) {
        /* not sent: the cursor stays before it and the journal has it */
        log_warn("uplink: publishing %s: %s; resuming from %" PRIu64 ":%" PRIu64, topic,
                 mosquitto_strerror(rc), u->cursor.epoch, u->cursor.seq);
        u->window.n = 0;
        feed_rewind(&u->feed, u->cursor);
        return;
    }
    window_push(&u->window, ev->key, mid, false);
    u->forwarded++;
}

static void send_to_gateway(struct uplink *u, char *request)
{
    if (request && zmq_send(u->dealer, request, strlen(request), ZMQ_DONTWAIT) < 0)
        log_warn("uplink: cannot ask the gateway: %s", zmq_strerror(zmq_errno()));
    free(request);
}

static void pump_events(struct uplink *u)
{
    if (!u->connected || window_full(&u->window)) {
        feed_pause(&u->feed); /* the journal holds what comes meanwhile, not this process */
        return;
    }
    while (u->connected && !window_full(&u->window)) {
        struct feed_event ev;
        char *request = NULL;
        bool got = feed_pull(&u->feed, &ev, &request);
        send_to_gateway(u, request);
        if (!got)
            return;
        forward_event(u, &ev);
    }
}

/* ---- commands from the platform ---- */

static void publish_reply(struct uplink *u, const char *topic, const void *corr, uint16_t corr_len,
                          json_t *reply)
{
    char *text = json_dumps(reply, JSON_COMPACT);
    mosquitto_property *props = NULL;
    if (u->v5) {
        mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, "application/json");
        if (corr)
            mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr, corr_len);
    }
    int mid = 0, qos = u->replies_in_flight < MAX_REPLIES_IN_FLIGHT ? 1 : 0;
    if (text && mosquitto_publish_v5(u->mosq, &mid, topic, (int)strlen(text), text, qos, false,
                                     props) == MOSQ_ERR_SUCCESS && qos)
        for (size_t i = 0; i < MAX_REPLIES_IN_FLIGHT; i++)
            if (!u->reply_mids[i]) {
                u->reply_mids[i] = mid;
                u->replies_in_flight++;
                break;
            }
    mosquitto_property_free_all(&props);
    free(text);
}

static void reply_error(struct uplink *u, const char *topic, const void *corr, uint16_t corr_len,
                        json_t *id, const char *code, const char *message)
{
    json_t *reply = json_pack("{s:O?, s:b, s:{s:s, s:s}}", "id", id, "ok", 0, "error", "code",
                              code, "message", message);
    publish_reply(u, topic, corr, corr_len, reply);
    json_decref(reply);
}

static struct command *free_command_slot(struct uplink *u)
{
    for (size_t i = 0; i < MAX_PENDING_COMMANDS; i++)
        if (!u->pending[i].used)
            return &u->pending[i];
    return NULL;
}

static void forward_command(struct uplink *u, json_t *req, const char *response_topic,
                            const void *corr, uint16_t corr_len)
{
    json_t *client_id = json_object_get(req, "id");
    struct command *c = free_command_slot(u);
    if (u->replies_in_flight >= MAX_REPLIES_IN_FLIGHT) {
        reply_error(u, response_topic, corr, corr_len, client_id, "busy",
                    "the broker has not acknowledged earlier replies; try again later");
        return;
    }
    if (!c) {
        reply_error(u, response_topic, corr, corr_len, client_id, "busy",
                    "too many commands waiting for the gateway; try again later");
        return;
    }
    char id[32];
    snprintf(id, sizeof(id), "cmd-%lu", u->command_no + 1);
    json_t *copy = json_copy(req);
    json_object_set_new(copy, "id", json_string(id));
    char *text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    size_t len = text ? strlen(text) : 0;
    if (len > CONTROL_MAX_REQUEST) { /* the gateway would answer with no id to match */
        char message[128];
        snprintf(message, sizeof(message), "a command of %zu bytes; the limit is %d", len,
                 CONTROL_MAX_REQUEST);
        reply_error(u, response_topic, corr, corr_len, client_id, "too_large", message);
        free(text);
        return;
    }
    *c = (struct command){.used = true, .no = ++u->command_no, .client_id = json_incref(client_id),
                          .response_topic = strdup(response_topic),
                          .correlation_len = corr ? corr_len : 0};
    if (corr && (c->correlation = malloc(corr_len)))
        memcpy(c->correlation, corr, corr_len);
    monotonic_now(&c->deadline);
    add_ms(&c->deadline, u->conf.command_timeout_ms + 2000);
    send_to_gateway(u, text);
}

/* A reply goes to the topic the platform names, but never under accessgw/ (where halls
 * publish: a reply shaped like an event, or a call bell's press, would be taken for
 * one) and never to a wildcard. */
static bool response_topic_allowed(const char *topic)
{
    return topic[0] && strncmp(topic, "accessgw/", 9) != 0 && strcmp(topic, "accessgw") != 0 &&
           !strpbrk(topic, "+#") && topic[0] != '$';
}

static void handle_command(struct uplink *u, const struct mosquitto_message *msg,
                           const mosquitto_property *props)
{
    char *response_topic = NULL;
    void *corr = NULL;
    uint16_t corr_len = 0;
    mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &response_topic, false);
    mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &corr_len, false);
    const char *refused = !response_topic ? "without a response topic (MQTT 5 request/response)"
                          : !response_topic_allowed(response_topic)
                              ? "whose response topic is under accessgw/ or has a wildcard "
                                "(a reply there would pass for a hall's own message)"
                              : NULL;
    if (refused) {
        log_warn("uplink: a command on %s %s; ignored", msg->topic, refused);
        free(response_topic);
        free(corr);
        return;
    }
    json_error_t e;
    json_t *req = json_loadb(msg->payload, (size_t)msg->payloadlen, 0, &e);
    const char *verb = json_string_value(json_object_get(req, "verb"));
    json_t *id = json_object_get(req, "id");
    if (id && !json_is_string(id) && !json_is_integer(id)) {
        reply_error(u, response_topic, corr, corr_len, NULL, "bad_request",
                    "a command's \"id\" is a string or a number");
    } else if (!json_is_object(req) || !verb) {
        reply_error(u, response_topic, corr, corr_len, json_object_get(req, "id"), "bad_request",
                    req ? "a command is a JSON object with a \"verb\"" : "not JSON");
    } else if (!in_words(u->commands, u->n_commands, verb)) {
        char message[200];
        snprintf(message, sizeof(message), "verb %.64s may not be sent through the uplink "
                 "([uplink] commands)", verb);
        log_notice("uplink: refused a platform command: %s", message);
        reply_error(u, response_topic, corr, corr_len, json_object_get(req, "id"), "forbidden",
                    message);
    } else {
        forward_command(u, req, response_topic, corr, corr_len);
    }
    json_decref(req);
    free(response_topic);
    free(corr);
}

static void finish_command(struct uplink *u, struct command *c, json_t *reply)
{
    json_object_set(reply, "id", c->client_id ? c->client_id : json_null());
    publish_reply(u, c->response_topic, c->correlation, c->correlation_len, reply);
    json_decref(c->client_id);
    free(c->response_topic);
    free(c->correlation);
    memset(c, 0, sizeof(*c));
}

static void expire_commands(struct uplink *u)
{
    for (size_t i = 0; i < MAX_PENDING_COMMANDS; i++) {
        struct command *c = &u->pending[i];
        if (!c->used || ms_until(&c->deadline) > 0)
            continue;
        json_t *reply = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", "timeout",
                                  "message", "the gateway did not answer");
        finish_command(u, c, reply);
        json_decref(reply);
    }
}

static void on_gateway_reply(struct uplink *u)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, u->dealer, ZMQ_DONTWAIT) >= 0) {
        json_t *reply = json_loadb(zmq_msg_data(&m), zmq_msg_size(&m), 0, NULL);
        const char *id = json_string_value(json_object_get(reply, "id"));
        unsigned long no;
        if (id && strncmp(id, "feed-", 5) == 0) {
            feed_on_reply(&u->feed, reply);
        } else if (id && sscanf(id, "cmd-%lu", &no) == 1) {
            for (size_t i = 0; i < MAX_PENDING_COMMANDS; i++)
                if (u->pending[i].used && u->pending[i].no == no)
                    finish_command(u, &u->pending[i], reply);
        }
        json_decref(reply);
    }
    zmq_msg_close(&m);
}

/* ---- the broker connection ---- */

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    struct uplink *u = obj;
    if (strcmp(msg->topic, u->control_topic) == 0)
        handle_command(u, msg, props);
}

static void publish_online(struct uplink *u, bool online)
{
    const char *v = online ? "true" : "false";
    mosquitto_publish_v5(u->mosq, NULL, u->online_topic, (int)strlen(v), v, 1, true, NULL);
}

static void schedule_reconnect(struct uplink *u)
{
    monotonic_now(&u->reconnect_at);
    add_ms(&u->reconnect_at, u->backoff_ms);
    u->backoff_ms = u->backoff_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : u->backoff_ms * 2;
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags, const mosquitto_property *p)
{
    struct uplink *u = obj;
    if (rc != 0) {
        log_err("uplink: broker %s refused the connection: %s", u->conf.uplink.broker,
                u->v5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
        if (u->v5 && (rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION || rc == 1)) {
            log_notice("uplink: the broker does not speak MQTT 5; using MQTT 3.1.1 (no user "
                       "properties, no command replies)");
            u->v5 = false;
            mosquitto_int_option(u->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        }
        u->need_connect = true;
        schedule_reconnect(u);
        return;
    }
    u->connected = true;
    u->backoff_ms = RECONNECT_MIN_MS;
    log_notice("uplink: connected to %s (MQTT %s, session %s)", u->conf.uplink.broker,
               u->v5 ? "5" : "3.1.1", (flags & 1) ? "resumed" : "new");
    sd_notifyf(0, "STATUS=connected to %s", u->conf.uplink.broker);
    /* What was in flight, and what the broker acknowledged shortly before it
     * went away, may be lost with it: start again from resend_s ago; what the
     * broker did keep arrives twice, with the same id. */
    u->window.n = 0;
    memset(u->reply_mids, 0, sizeof(u->reply_mids)); /* a new session owes none of them */
    u->replies_in_flight = 0;
    struct journal_key from = resume_point(u);
    if (journal_key_cmp(from, u->cursor) < 0)
        log_info("uplink: sending again from %" PRIu64 ":%" PRIu64 " ([uplink] resend_s = %u)",
                 from.epoch, from.seq, u->conf.uplink.resend_s);
    feed_rewind(&u->feed, from);
    publish_online(u, true);
    mosquitto_subscribe_v5(u->mosq, NULL, u->control_topic, 1, 0, NULL);
}

/* The connection is gone (a read or write failed, or the broker said so). */
static void lost_broker(struct uplink *u, int rc)
{
    if (u->connected)
        log_warn("uplink: lost the broker %s: %s; reconnecting", u->conf.uplink.broker,
                 mosquitto_strerror(rc));
    u->connected = false;
    if (!u->need_connect) {
        u->need_connect = true;
        schedule_reconnect(u);
    }
    sd_notifyf(0, "STATUS=broker %s unreachable", u->conf.uplink.broker);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc, const mosquitto_property *p)
{
    lost_broker(obj, rc);
}

/* Blocking for at most the TCP connect: the uplink has nothing else to do
 * without its broker (the gateway keeps the events in its journal). */
static void try_connect(struct uplink *u)
{
    if (!u->need_connect || ms_until(&u->reconnect_at) > 0)
        return;
    u->need_connect = false;
    mosquitto_property *props = NULL;
    if (u->v5)
        mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, SESSION_EXPIRY_S);
    int rc = mosquitto_connect_bind_v5(u->mosq, u->host, u->port,
                                       (int)u->conf.uplink.keepalive_s, NULL, props);
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS) {
        log_warn("uplink: cannot reach %s: %s; retrying in %u ms", u->conf.uplink.broker,
                 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc), u->backoff_ms);
        u->need_connect = true;
        schedule_reconnect(u);
    }
}

static int setup_mqtt(struct uplink *u, char *err, size_t errlen)
{
    const struct uplink_conf *c = &u->conf.uplink;
    u->mosq = mosquitto_new(u->client_id, false, u);
    if (!u->mosq) {
        snprintf(err, errlen, "mosquitto_new: %s", strerror(errno));
        return -1;
    }
    u->v5 = true;
    mosquitto_int_option(u->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(u->mosq, MOSQ_OPT_SEND_MAXIMUM, (int)c->max_inflight);
    mosquitto_connect_v5_callback_set(u->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(u->mosq, on_disconnect);
    mosquitto_publish_v5_callback_set(u->mosq, on_publish);
    mosquitto_message_v5_callback_set(u->mosq, on_message);
    if (mosquitto_will_set_v5(u->mosq, u->online_topic, 5, "false", 1, true, NULL) != MOSQ_ERR_SUCCESS) {
        snprintf(err, errlen, "cannot set the will on %s", u->online_topic);
        return -1;
    }
    if (c->username || c->password_file) {
        char *password = c->password_file ? trust_read_secret("[uplink] password_file", c->password_file, 1, err, errlen) : NULL;
        if (c->password_file && !password)
            return -1;
        int rc = mosquitto_username_pw_set(u->mosq, c->username, password);
        if (password) {
            explicit_bzero(password, strlen(password));
            free(password);
        }
        if (rc != MOSQ_ERR_SUCCESS) {
            snprintf(err, errlen, "[uplink] username: %s", mosquitto_strerror(rc));
            return -1;
        }
    }
    if (u->tls) {
        int rc = mosquitto_tls_set(u->mosq, c->ca_file, c->ca_file ? NULL : "/etc/ssl/certs",
                                   c->cert_file, c->key_file, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            snprintf(err, errlen, "[uplink] TLS (ca_file %s, cert_file %s): %s",
                     c->ca_file ? c->ca_file : "system", c->cert_file ? c->cert_file : "none",
                     mosquitto_strerror(rc));
            return -1;
        }
    }
    return 0;
}

/* ---- the loop ---- */

static void drive_mqtt(struct uplink *u, short revents)
{
    if (u->need_connect)
        return;
    int rc = MOSQ_ERR_SUCCESS;
    if (revents & (POLLIN | POLLERR | POLLHUP))
        rc = mosquitto_loop_read(u->mosq, 64);
    if (rc == MOSQ_ERR_SUCCESS && (revents & POLLOUT || mosquitto_want_write(u->mosq)))
        rc = mosquitto_loop_write(u->mosq, 64);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_loop_misc(u->mosq);
    if (rc != MOSQ_ERR_SUCCESS)
        lost_broker(u, rc);
}

static long next_timeout(struct uplink *u)
{
    long t = 1000; /* libmosquitto's keepalive wants loop_misc about once a second */
    long due = feed_due_ms(&u->feed);
    if (due >= 0 && due < t)
        t = due;
    if (u->cursor_dirty && ms_until(&u->cursor_save_at) < t)
        t = ms_until(&u->cursor_save_at);
    if (u->need_connect && ms_until(&u->reconnect_at) < t)
        t = ms_until(&u->reconnect_at);
    return t;
}

static void run(struct uplink *u)
{
    while (u->running) {
        try_connect(u);
        pump_events(u);
        int fd = u->need_connect ? -1 : mosquitto_socket(u->mosq);
        /* the live stream only while it can be forwarded: else it would wake us for nothing */
        bool feeding = u->connected && !window_full(&u->window) && u->feed.live;
        zmq_pollitem_t items[4] = {
            {NULL, u->sigfd, ZMQ_POLLIN, 0},
            {u->dealer, 0, ZMQ_POLLIN, 0},
            {NULL, fd, (short)(ZMQ_POLLIN | (mosquitto_want_write(u->mosq) ? ZMQ_POLLOUT : 0)), 0},
            {u->feed.sub, 0, ZMQ_POLLIN, 0},
        };
        if (!feeding)
            items[3] = (zmq_pollitem_t){NULL, -1, 0, 0};
        if (zmq_poll(items, 4, next_timeout(u)) < 0 && zmq_errno() != EINTR) {
            log_err("zmq_poll: %s", zmq_strerror(zmq_errno()));
            usleep(100000);
            continue;
        }
        if (items[0].revents)
            u->running = !signals_say_stop(u->sigfd, "accessgw-uplink");
        if (items[1].revents)
            on_gateway_reply(u);
        if (fd >= 0)
            drive_mqtt(u, (short)((items[2].revents & ZMQ_POLLIN ? POLLIN : 0) |
                                  (items[2].revents & ZMQ_POLLOUT ? POLLOUT : 0) |
                                  (items[2].revents & ZMQ_POLLERR ? POLLERR : 0)));
        expire_commands(u);
        save_cursor_if_due(u);
    }
}

/* A clean stop: the cursor saved, `online` false (a will is sent only when the
 * connection is lost, not on a clean disconnect). */
static void stop(struct uplink *u)
{
    save_cursor(u);
    if (u->connected) {
        publish_online(u, false);
        for (int i = 0; i < 20 && mosquitto_want_write(u->mosq); i++)
            mosquitto_loop_write(u->mosq, 64);
        u->connected = false; /* a disconnect we asked for: not a loss */
        u->need_connect = true;
        mosquitto_disconnect(u->mosq);
    }
    log_notice("uplink: stopped; %lu events forwarded, %lu acknowledged (%lu refused by the "
               "broker), all up to %" PRIu64 ":%" PRIu64 "; resumes after %" PRIu64 ":%" PRIu64,
               u->forwarded, u->acked, u->refused, u->cursor.epoch, u->cursor.seq, u->saved.epoch,
               u->saved.seq);
}

static int setup(struct uplink *u, const char *config_path, char *err, size_t errlen)
{
    if (config_load(config_path, &u->conf, err, errlen) < 0)
        return -1;
    log_set_level(u->conf.log_level);
    if (!u->conf.uplink.line) {
        snprintf(err, errlen, "%s: no [uplink] section (broker = mqtt://HOST:PORT)", config_path);
        return -1;
    }
    u->gateway_id = u->conf.id;
    u->client_id = u->conf.uplink.client_id ? u->conf.uplink.client_id : u->conf.id;
    u->forward = split_words(u->conf.uplink.forward, &u->n_forward);
    u->commands = split_words(u->conf.uplink.commands, &u->n_commands);
    snprintf(u->control_topic, sizeof(u->control_topic), "accessgw/%s/control", u->gateway_id);
    snprintf(u->online_topic, sizeof(u->online_topic), "accessgw/%s/online", u->gateway_id);
    snprintf(u->cursor_path, sizeof(u->cursor_path), "%s/uplink-%s.cursor", u->conf.state_dir,
             u->client_id);
    u->window.cap = u->conf.uplink.max_inflight;
    u->window.slots = calloc(u->window.cap, sizeof(*u->window.slots));
    u->backoff_ms = RECONNECT_MIN_MS;
    u->need_connect = true;
    if (!u->window.slots || parse_broker(u, err, errlen) < 0 || setup_mqtt(u, err, errlen) < 0)
        return -1;
    load_cursor(u);
    add_checkpoint(u, 0, u->cursor); /* older than any resend_s */
    u->saved = u->cursor;
    u->zctx = zmq_ctx_new();
    u->dealer = zmq_socket(u->zctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(u->dealer, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_connect(u->dealer, u->conf.control) < 0) {
        snprintf(err, errlen, "control %s: %s", u->conf.control, zmq_strerror(zmq_errno()));
        return -1;
    }
    return feed_open(&u->feed, u->zctx, u->conf.events, u->cursor, err, errlen);
}

static void teardown(struct uplink *u)
{
    feed_close(&u->feed);
    if (u->dealer)
        zmq_close(u->dealer);
    if (u->zctx)
        zmq_ctx_term(u->zctx);
    if (u->mosq)
        mosquitto_destroy(u->mosq);
    for (size_t i = 0; i < MAX_PENDING_COMMANDS; i++)
        if (u->pending[i].used) {
            json_decref(u->pending[i].client_id);
            free(u->pending[i].response_topic);
            free(u->pending[i].correlation);
        }
    free(u->window.slots);
    free(u->forward);
    free(u->commands);
    if (u->conf.path)
        config_free(&u->conf);
    if (u->sigfd >= 0)
        close(u->sigfd);
}

int main(int argc, char **argv)
{
    const char *config;
    char version[128];
    snprintf(version, sizeof(version), "accessgw-uplink %s (libmosquitto %d)", ACCESSGW_VERSION,
             mosquitto_lib_version(NULL, NULL, NULL));
    int status = busclient_args(argc, argv, "accessgw-uplink",
                                "Forwards the gateway's public events to the MQTT broker of [uplink] "
                                "in FILE\n(the gateway's config) and answers the platform's "
                                "commands; see accessgw-uplink(8).\n", version, &config);
    if (status >= 0)
        return status;
    log_init("accessgw-uplink");
    mosquitto_lib_init();
    struct uplink u = {.sigfd = signals_fd(0), .running = true};
    char err[1024] = "";
    int rc = 0;
    if (u.sigfd < 0 || setup(&u, config, err, sizeof(err)) < 0) {
        log_err("%s", err[0] ? err : strerror(errno));
        rc = 1;
    } else {
        log_notice("uplink %s: gateway %s (%s) to %s as %s", ACCESSGW_VERSION, u.gateway_id,
                   u.conf.events, u.conf.uplink.broker, u.client_id);
        sd_notify(0, "READY=1");
        run(&u);
        sd_notify(0, "STOPPING=1");
        stop(&u);
    }
    teardown(&u);
    mosquitto_lib_cleanup();
    return rc;
}
