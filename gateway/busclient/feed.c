#include "feed.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "monotonic.h"

#define REQUEST_TIMEOUT_MS 5000
#define RETRY_MS 1000
/* Events the SUB socket holds while the uplink cannot forward (the broker is
 * away): beyond this ZeroMQ drops, the uplink sees the gap and replays. */
#define FEED_RCVHWM 10000

int feed_open(struct feed *f, void *zctx, const char *events, struct control_client *control,
              struct journal_key from, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    f->control = control;
    f->next = from;
    f->sub = zmq_socket(zctx, ZMQ_SUB);
    int hwm = FEED_RCVHWM, linger = 0;
    if (!f->sub || zmq_setsockopt(f->sub, ZMQ_RCVHWM, &hwm, sizeof(hwm)) < 0 ||
        zmq_setsockopt(f->sub, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_setsockopt(f->sub, ZMQ_SUBSCRIBE, "", 0) < 0 || zmq_connect(f->sub, events) < 0) {
        snprintf(err, errlen, "events %s: %s", events, zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

int feed_open_live(struct feed *f, void *zctx, const char *events, struct control_client *control,
                   char *err, size_t errlen)
{
    if (feed_open(f, zctx, events, control, (struct journal_key){0, 0}, err, errlen) < 0)
        return -1;
    f->live = true;
    f->anywhere = true;
    return 0;
}

void feed_start_at(struct feed *f, struct journal_key at)
{
    if (!f->anywhere)
        return;
    f->anywhere = false;
    f->next = at;
}

void feed_close(struct feed *f)
{
    if (f->sub)
        zmq_close(f->sub);
    json_decref(f->page);
    memset(f, 0, sizeof(*f));
}

void feed_rewind(struct feed *f, struct journal_key from)
{
    f->next = from;
    f->live = false;
    f->waiting = false; /* a reply still on its way is for another position: ignored by tag */
    json_decref(f->page);
    f->page = NULL;
    f->request_no++;
}

/* {"epoch":E,"seq":N} of an event (N >= min_seq) or of a position (N >= 0). */
static bool read_key(const json_t *o, json_int_t min_seq, struct journal_key *key)
{
    json_t *e = json_object_get(o, "epoch"), *s = json_object_get(o, "seq");
    if (!json_is_integer(e) || !json_is_integer(s) || json_integer_value(e) < 0 ||
        json_integer_value(s) < min_seq)
        return false;
    *key = (struct journal_key){(uint64_t)json_integer_value(e), (uint64_t)json_integer_value(s)};
    return true;
}

static bool fill_event(struct feed_event *out, const char *topic, size_t topic_len,
                       struct journal_key key, char *json, size_t json_len)
{
    if (topic_len == 0 || topic_len >= sizeof(out->topic)) {
        free(json);
        return false;
    }
    memcpy(out->topic, topic, topic_len);
    out->topic[topic_len] = '\0';
    out->key = key;
    out->json = json;
    out->json_len = json_len;
    return true;
}

/* Drops what the SUB socket holds: the journal has it all. */
static void drain_live(struct feed *f)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, f->sub, ZMQ_DONTWAIT) >= 0)
        ;
    zmq_msg_close(&m);
}

static void on_replay(void *ctx, unsigned long tag, json_t *reply);

static void ask_replay(struct feed *f)
{
    json_t *req = json_pack("{s:s, s:{s:{s:I, s:I}}}", "verb", "replay", "args", "since", "epoch",
                            (json_int_t)f->next.epoch, "seq", (json_int_t)f->next.seq);
    if (!req || !control_client_send(f->control, req, REQUEST_TIMEOUT_MS, on_replay, f,
                                     ++f->request_no)) {
        log_warn("cannot ask the gateway for replay: %s; again in %d ms",
                 req ? zmq_strerror(zmq_errno()) : "out of memory", RETRY_MS);
        monotonic_now(&f->retry_at);
        add_ms(&f->retry_at, RETRY_MS);
    } else {
        f->waiting = true; /* until the reply, or the client says none came in time */
    }
    json_decref(req);
}

/* Catching up: the next event of the page, a request for the next page, or live again. */
static bool pull_from_journal(struct feed *f, struct feed_event *out)
{
    drain_live(f);
    while (f->page && f->page_i < json_array_size(f->page)) {
        json_t *item = json_array_get(f->page, f->page_i++);
        const char *topic = json_string_value(json_object_get(item, "topic"));
        json_t *ev = json_object_get(item, "event");
        struct journal_key key;
        if (!topic || !read_key(ev, 1, &key) || journal_key_cmp(key, f->next) <= 0)
            continue;
        f->next = key;
        char *json = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (json && fill_event(out, topic, strlen(topic), key, json, strlen(json)))
            return true;
        log_err("replayed event %" PRIu64 ":%" PRIu64 " cannot be forwarded (out of memory or "
                "a topic too long)", key.epoch, key.seq);
    }
    if (f->page && !f->page_more) { /* up to date with the journal */
        if (journal_key_cmp(f->page_next, f->next) > 0)
            f->next = f->page_next;
        json_decref(f->page);
        f->page = NULL;
        f->live = true;
        log_info("caught up at %" PRIu64 ":%" PRIu64 "; following the live stream",
                 f->next.epoch, f->next.seq);
        return false;
    }
    if (!f->waiting && ms_until(&f->retry_at) == 0) {
        if (f->page) {
            f->next = journal_key_cmp(f->page_next, f->next) > 0 ? f->page_next : f->next;
            json_decref(f->page);
            f->page = NULL;
        }
        ask_replay(f);
    }
    return false;
}

static bool take_live(struct feed *f, zmq_msg_t *topic, zmq_msg_t *body, struct journal_key key,
                      struct feed_event *out)
{
    char *json = malloc(zmq_msg_size(body) + 1);
    if (!json)
        return false;
    memcpy(json, zmq_msg_data(body), zmq_msg_size(body));
    json[zmq_msg_size(body)] = '\0';
    if (!fill_event(out, zmq_msg_data(topic), zmq_msg_size(topic), key, json, zmq_msg_size(body)))
        return false;
    f->next = key;
    return true;
}

/* Live: the next event if it follows the last one; a gap sends the feed to the journal. */
static bool pull_live(struct feed *f, struct feed_event *out)
{
    for (;;) {
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&topic, f->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&topic);
            zmq_msg_close(&body);
            return false;
        }
        bool two = zmq_msg_more(&topic) && zmq_msg_recv(&body, f->sub, 0) >= 0;
        json_t *ev = two ? json_loadb(zmq_msg_data(&body), zmq_msg_size(&body), 0, NULL) : NULL;
        struct journal_key key;
        bool ok = ev && read_key(ev, 1, &key);
        json_decref(ev);
        bool ready = false;
        if (!ok) {
            log_warn("a live message that is not an event (%zu bytes); ignored",
                     zmq_msg_size(&body));
        } else if (f->anywhere) {
            f->anywhere = false;
            f->next = (struct journal_key){key.epoch, key.seq - 1};
            f->live = true;
            ready = take_live(f, &topic, &body, key, out);
        } else if (journal_key_cmp(key, f->next) <= 0) {
            /* already forwarded */
        } else if (key.epoch == f->next.epoch && key.seq == f->next.seq + 1) {
            ready = take_live(f, &topic, &body, key, out);
        } else {
            /* a gap or a new epoch: the journal knows what came between */
            f->live = false;
        }
        zmq_msg_close(&topic);
        zmq_msg_close(&body);
        if (ready || !f->live)
            return ready;
    }
}

void feed_pause(struct feed *f)
{
    if (f->paused)
        return;
    zmq_setsockopt(f->sub, ZMQ_UNSUBSCRIBE, "", 0);
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, f->sub, ZMQ_DONTWAIT) >= 0) /* what already came: the journal has it */
        ;
    zmq_msg_close(&m);
    f->paused = true;
    if (f->live && !f->anywhere)
        f->live = false; /* back from the journal, where it left off */
}

bool feed_pull(struct feed *f, struct feed_event *out)
{
    if (f->paused) {
        zmq_setsockopt(f->sub, ZMQ_SUBSCRIBE, "", 0);
        f->paused = false;
    }
    if (f->live && pull_live(f, out))
        return true;
    return !f->live && pull_from_journal(f, out);
}

static void on_replay(void *ctx, unsigned long tag, json_t *reply)
{
    struct feed *f = ctx;
    if (!f->waiting || tag != f->request_no)
        return; /* an answer to a request given up on (a rewind, or after its deadline) */
    if (!reply) {
        log_warn("no answer to replay from %" PRIu64 ":%" PRIu64 " within %d ms (is "
                 "accessgwd running?); asking again", f->next.epoch, f->next.seq,
                 REQUEST_TIMEOUT_MS);
        f->waiting = false;
        return;
    }
    f->waiting = false;
    json_t *result = json_object_get(reply, "result");
    json_t *events = json_object_get(result, "events");
    json_t *next = json_object_get(result, "next_since");
    struct journal_key next_key;
    json_t *error = json_object_get(reply, "error");
    if (strcmp(json_string_value(json_object_get(error, "code")) ?: "", "unavailable") == 0) {
        /* a gateway without a journal ([journal] max_mb = 0, or a state_dir it cannot
         * write): what it did not keep cannot be had; follow what it publishes now */
        f->truncations++;
        log_err("the gateway keeps no journal (%s): events after %" PRIu64 ":%" PRIu64
                " that were not received live are lost; following the live stream",
                json_string_value(json_object_get(error, "message")) ?: "",
                f->next.epoch, f->next.seq);
        f->live = true;
        f->anywhere = true;
        return;
    }
    if (!json_is_true(json_object_get(reply, "ok")) || !json_is_array(events) ||
        !read_key(next, 0, &next_key)) {
        log_warn("replay from %" PRIu64 ":%" PRIu64 " refused: %s: %s; retrying",
                 f->next.epoch, f->next.seq,
                 json_string_value(json_object_get(error, "code")) ?: "?",
                 json_string_value(json_object_get(error, "message")) ?: "a malformed reply");
        monotonic_now(&f->retry_at);
        add_ms(&f->retry_at, RETRY_MS);
        return;
    }
    if (json_is_true(json_object_get(result, "truncated"))) {
        f->truncations++;
        log_err("the journal no longer holds every event after %" PRIu64 ":%" PRIu64
                " (it keeps [journal] max_mb and max_days); forwarding what it holds",
                f->next.epoch, f->next.seq);
    }
    json_decref(f->page);
    f->page = json_incref(events);
    f->page_i = 0;
    f->page_more = json_is_true(json_object_get(result, "more"));
    f->page_next = next_key;
}

long feed_due_ms(const struct feed *f)
{
    if (f->live)
        return -1;
    return f->waiting ? -1 : ms_until(&f->retry_at); /* a reply's deadline is the client's */
}
