#include "bus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "envelope.h"
#include "journal.h"
#include "log.h"
#include "mask.h"
#include "sbuf.h"

static void set_int(void *s, int opt, int v) { zmq_setsockopt(s, opt, &v, sizeof(v)); }

/* Deliberate socket settings: a deep send queue (events are small and a
 * slow subscriber should get a chance to catch up before PUB drops), dead
 * peers found by ZMTP heartbeats and TCP keepalive, and a short linger so
 * a stopping gateway flushes without hanging. */
static void tune_pub(void *s, int sndhwm)
{
    set_int(s, ZMQ_SNDHWM, sndhwm);
    set_int(s, ZMQ_LINGER, 500);
    set_int(s, ZMQ_HEARTBEAT_IVL, 5000);
    set_int(s, ZMQ_HEARTBEAT_TIMEOUT, 15000);
    set_int(s, ZMQ_TCP_KEEPALIVE, 1);
    set_int(s, ZMQ_TCP_KEEPALIVE_IDLE, 60);
}

/* The private endpoint is an XPUB (a PUB that tells who subscribes: private_subs.h). */
static void *bind_pub(void *zctx, const char *endpoint, int sndhwm, const char *secret,
                      char *err, size_t errlen)
{
    void *s = zmq_socket(zctx, secret ? ZMQ_XPUB : ZMQ_PUB);
    if (!s) {
        snprintf(err, errlen, "zmq_socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    tune_pub(s, sndhwm);
    if (secret) {
        set_int(s, ZMQ_CURVE_SERVER, 1);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret, 40);
        zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, "accessgw", 8);
    }
    if (zmq_bind(s, endpoint) < 0) {
        snprintf(err, errlen, "cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
}

/* The private endpoint anew: ZeroMQ cannot drop one peer of a PUB socket, so a
 * revoked key's live connection ends with the socket; every subscriber
 * reconnects by itself and is checked by ZAP against the current keys.  The
 * port is free again only once the old socket's I/O thread let it go. */
int bus_reopen_private(struct bus *bus, void *zctx, const struct bus_options *o, char *err,
                       size_t errlen)
{
    if (!bus->priv || !o->private_events)
        return 0;
    set_int(bus->priv, ZMQ_LINGER, 0);
    private_subs_close(&bus->subs);
    zmq_unbind(bus->priv, o->private_events);
    zmq_close(bus->priv);
    bus->priv = NULL;
    for (int attempt = 0; attempt < 40 && !bus->priv; attempt++) {
        bus->priv = bind_pub(zctx, o->private_events, o->sndhwm, o->curve_secret_key, err, errlen);
        if (!bus->priv)
            usleep(25000);
    }
    return bus->priv ? private_subs_open(&bus->subs, zctx, bus->priv, err, errlen) : -1;
}

int bus_open(struct bus *bus, void *zctx, const struct bus_options *o, char *err, size_t errlen)
{
    memset(bus, 0, sizeof(*bus));
    bus->gateway_id = strdup(o->gateway_id);
    bus->epoch = o->epoch;
    bus->journal = o->journal;
    bus->cap = o->history ? o->history : 1;
    bus->ring = calloc(bus->cap, sizeof(*bus->ring));
    if (!bus->ring) {
        snprintf(err, errlen, "history of %zu events: out of memory", bus->cap);
        return -1;
    }
    bus->pub = bind_pub(zctx, o->events, o->sndhwm, NULL, err, errlen);
    if (!bus->pub)
        return -1;
    if (o->private_events) {
        bus->priv = bind_pub(zctx, o->private_events, o->sndhwm, o->curve_secret_key, err, errlen);
        if (!bus->priv || private_subs_open(&bus->subs, zctx, bus->priv, err, errlen) < 0)
            return -1;
    }
    return 0;
}

void bus_take_subscriptions(struct bus *bus)
{
    if (bus->priv)
        private_subs_take(&bus->subs, bus->priv);
}

/* Every key subscribed to this topic on the private endpoint gets one audit line
 * before the record is sent; a line that cannot be written stops the send. */
static bool audited_for_subscribers(struct bus *bus, const struct event_meta *m, const char *topic)
{
    const char *users[64];
    size_t n = private_subs_recipients(&bus->subs, topic, users, 64);
    if (n == 0)
        return true; /* nobody receives it */
    char type[128], id[200], err[300] = "";
    snprintf(type, sizeof(type), "accessgw.%s.%s", m->cls, m->event);
    snprintf(id, sizeof(id), "%s:%llu:%llu", m->gateway_id, (unsigned long long)m->epoch,
             (unsigned long long)m->seq);
    for (size_t i = 0; i < n && !err[0]; i++) {
        struct audit_record rec = {users[i], "curve", m->subject, type, id};
        if (!bus->audit)
            snprintf(err, sizeof(err), "no audit is kept");
        else
            audit_append(bus->audit, &rec, err, sizeof(err));
    }
    if (err[0])
        log_err("private events: %s for %s: %s; the full record was not sent", id, users[0], err);
    return !err[0];
}

static const char *entry_envelope(const struct history_entry *e)
{
    return e->buf + e->topic_len + 1;
}

void bus_close(struct bus *bus)
{
    bus_flush(bus);
    if (bus->pub)
        zmq_close(bus->pub);
    private_subs_close(&bus->subs);
    if (bus->priv)
        zmq_close(bus->priv);
    for (size_t i = 0; bus->ring && i < bus->cap; i++)
        free(bus->ring[i].buf);
    free(bus->ring);
    free(bus->gateway_id);
    memset(bus, 0, sizeof(*bus));
}

/* The slot the next event is written into: when the ring is full, the oldest
 * event's (it is dropped; its buffer stays for the new one).  The event is
 * kept once history_commit() counts it. */
static struct history_entry *history_next(struct bus *bus)
{
    if (bus->count == bus->cap) {
        bus->head = (bus->head + 1) % bus->cap;
        bus->count--;
    }
    return &bus->ring[(bus->head + bus->count) % bus->cap];
}

static void history_commit(struct bus *bus) { bus->count++; }

static void send_two_frames(void *sock, const char *topic, size_t topic_len, const char *body,
                            size_t body_len)
{
    /* PUB never blocks: at the high-water mark ZeroMQ drops for that
     * subscriber, who sees the seq gap and replays. */
    if (zmq_send(sock, topic, topic_len, ZMQ_SNDMORE) < 0 ||
        zmq_send(sock, body, body_len, 0) < 0)
        log_warn("publishing %s: %s", topic, zmq_strerror(zmq_errno()));
}

static char *encode_data(const json_t *data)
{
    return json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* The full twin, encoded once for the CURVE subscribers and the window applications. */
static void publish_full_twin(struct bus *bus, const struct event_meta *m, const char *topic,
                              size_t topic_len, const char *full_json, bool to_apps)
{
    size_t len = 0;
    char *env = envelope_encode(m, full_json, &len);
    if (env && bus->priv && audited_for_subscribers(bus, m, topic)) {
        /* same topic, id, epoch, seq and time, after the public one */
        bus_flush(bus);
        send_two_frames(bus->priv, topic, topic_len, env, len);
    }
    if (env && to_apps)
        bus->app_sink(bus->app_sink_ctx, topic, topic_len, env, len, true);
    mask_wipe_free(env);
}

/* An app's device's event with nothing to mask: as it is. */
static void give_apps(struct bus *bus, const struct event_meta *m, const char *topic,
                      size_t topic_len, const char *public_json)
{
    size_t len = 0;
    char *env = envelope_encode(m, public_json, &len);
    if (env)
        bus->app_sink(bus->app_sink_ctx, topic, topic_len, env, len, false);
    free(env);
}

/* Into the journal before any subscriber can see it: a kill -9 after the send
 * must not lose what was seen.  A failed write does not hold the event back
 * (a call bell must still ring); the gap is marked in the journal. */
static void journal_event(struct bus *bus, const struct event_meta *m, const char *topic,
                          size_t topic_len, const char *env, size_t env_len)
{
    if (!bus->journal || !journal_is_open(bus->journal))
        return;
    int64_t ms = (int64_t)m->time.tv_sec * 1000 + m->time.tv_nsec / 1000000;
    static const char beat[] = "/heartbeat";
    bool heartbeat = topic_len > sizeof(beat) && strncmp(topic, "gateway/", 8) == 0 &&
                     memcmp(topic + topic_len - (sizeof(beat) - 1), beat, sizeof(beat) - 1) == 0;
    if ((heartbeat ? journal_append_unsynced : journal_append)(bus->journal, m->epoch, m->seq, ms,
                                                              topic, topic_len, env, env_len) < 0)
        bus->append_failed = true;
}

#define BUS_BATCH 64

void bus_flush(struct bus *bus)
{
    if (!bus->unsent)
        return;
    if (bus->journal && journal_is_open(bus->journal)) {
        bool written = journal_flush(bus->journal) == 0 && !bus->append_failed;
        bus->journal_failing = !written;
        bus->append_failed = false;
    }
    for (size_t k = bus->unsent; k > 0; k--) {
        const struct history_entry *e = &bus->ring[(bus->head + bus->count - k) % bus->cap];
        send_two_frames(bus->pub, e->buf, e->topic_len, entry_envelope(e), e->envelope_len);
    }
    bus->unsent = 0;
}

/* Assigns the next seq, and builds the public event where it is kept for
 * replay (written once: the journal and the send read it there). */
static bool publish_public(struct bus *bus, const struct event_meta *m, const char *topic,
                           size_t topic_len, const char *data_json)
{
    struct history_entry *e = history_next(bus);
    if (topic_len + 1 > e->cap) {
        char *grown = realloc(e->buf, topic_len + 1);
        if (!grown)
            return false;
        e->buf = grown;
        e->cap = topic_len + 1;
    }
    memcpy(e->buf, topic, topic_len + 1);
    size_t env_len = envelope_encode_at(m, data_json, &e->buf, &e->cap, topic_len + 1);
    if (env_len == 0)
        return false;
    e->seq = m->seq;
    e->topic_len = topic_len;
    e->envelope_len = env_len;
    history_commit(bus);
    bus->seq = m->seq;
    journal_event(bus, m, e->buf, topic_len, entry_envelope(e), env_len);
    size_t batch = bus->cap < BUS_BATCH ? bus->cap : BUS_BATCH;
    if (++bus->unsent >= batch)
        bus_flush(bus);
    return true;
}

static bool prepare(struct bus *bus, struct event_meta *m, const char *cls, const char *subject,
                    const char *event, bool device_source, const struct timespec *time,
                    char *topic, size_t topic_size, int *topic_len)
{
    *m = (struct event_meta){bus->gateway_id, subject, cls, event, device_source,
                             bus->epoch, bus->seq + 1, *time};
    *topic_len = envelope_topic(topic, topic_size, m);
    if (*topic_len < 0)
        log_err("event %s/%s/%s: topic too long; not published", cls, subject, event);
    return *topic_len > 0;
}

/* The one place that assigns seq: the public event, then its private twin. */
static uint64_t publish(struct bus *bus, const char *cls, const char *subject, const char *event,
                        bool device_source, const char *public_json, const char *full_json,
                        const struct timespec *time)
{
    struct event_meta m;
    char topic[256];
    int topic_len;
    if (!public_json || !prepare(bus, &m, cls, subject, event, device_source, time, topic,
                                 sizeof(topic), &topic_len) ||
        !publish_public(bus, &m, topic, (size_t)topic_len, public_json)) {
        log_err("event %s/%s/%s could not be encoded; not published", cls, subject, event);
        return 0;
    }
    bool to_apps = device_source && bus->app_wants && bus->app_wants(bus->app_sink_ctx, subject);
    if (full_json && (bus->priv || to_apps))
        publish_full_twin(bus, &m, topic, (size_t)topic_len, full_json, to_apps);
    else if (to_apps)
        give_apps(bus, &m, topic, (size_t)topic_len, public_json);
    return bus->seq;
}

/* A declared plugin's data is read once more here, on the main thread, and
 * only for masking: the public text then differs from the full one.  Data that
 * cannot be read is not published at all (it could hold what must be masked). */
static char *public_view(const char *data_json, const struct agw_personal_field *personal,
                         bool *masked, bool *unreadable)
{
    json_t *full = json_loads(data_json, JSON_REJECT_DUPLICATES, NULL);
    *unreadable = !json_is_object(full);
    *masked = !*unreadable && mask_has_personal(full, personal);
    json_t *pub = *masked ? mask_public_view(full, personal) : NULL;
    char *text = pub ? encode_data(pub) : NULL;
    json_decref(pub);
    mask_wipe_decref(full);
    return text;
}

uint64_t bus_publish(struct bus *bus, const char *cls, const char *subject, const char *event,
                     bool device_source, const char *data_json,
                     const struct agw_personal_field *personal, const struct timespec *time)
{
    bool masked = false, unreadable = false;
    char *public_json = data_json && personal
                            ? public_view(data_json, personal, &masked, &unreadable)
                            : NULL;
    uint64_t seq = 0;
    if (!data_json || unreadable || (masked && !public_json))
        log_err("event %s/%s/%s could not be encoded or masked; not published", cls, subject,
                event);
    else
        seq = publish(bus, cls, subject, event, device_source, masked ? public_json : data_json,
                      masked ? data_json : NULL, time);
    free(public_json);
    return seq;
}

/* ---- replay ---- */

char *bus_replay_json(const struct bus *bus, uint64_t since, const char *const *prefixes,
                      size_t n_prefixes, size_t limit)
{
    uint64_t first = bus->count ? bus->ring[bus->head].seq : bus->seq + 1;
    struct sbuf b = {0};
    char text[160];
    /* Truncated: the subscriber asked for events older than the history holds. */
    snprintf(text, sizeof(text),
             "{\"epoch\":%llu,\"first_seq\":%llu,\"last_seq\":%llu,\"truncated\":%s,\"events\":[",
             (unsigned long long)bus->epoch, (unsigned long long)first,
             (unsigned long long)bus->seq, since + 1 < first ? "true" : "false");
    sbuf_str(&b, text);
    size_t emitted = 0;
    uint64_t last_emitted = since;
    bool more = false;
    for (size_t i = 0; i < bus->count; i++) {
        const struct history_entry *e = &bus->ring[(bus->head + i) % bus->cap];
        if (e->seq <= since || !topic_matches(e->buf, prefixes, n_prefixes))
            continue;
        if ((limit && emitted == limit) ||
            (emitted && b.len + e->envelope_len + e->topic_len > BUS_REPLAY_PAGE_BYTES)) {
            more = true; /* a page ends here: the client asks again from last_emitted */
            break;
        }
        sbuf_str(&b, emitted ? ",{\"topic\":\"" : "{\"topic\":\"");
        sbuf_add(&b, e->buf, e->topic_len); /* built from validated names: nothing to escape */
        sbuf_str(&b, "\",\"event\":");
        sbuf_add(&b, entry_envelope(e), e->envelope_len);
        sbuf_str(&b, "}");
        emitted++;
        last_emitted = e->seq;
    }
    snprintf(text, sizeof(text), "],\"more\":%s,\"next_since_seq\":%llu}", more ? "true" : "false",
             (unsigned long long)(more ? last_emitted : bus->seq));
    sbuf_str(&b, text);
    return sbuf_take(&b);
}
