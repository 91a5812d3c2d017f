/* The event bus: the public PUB socket, the optional CURVE-only private
 * one, gap-free sequence numbers and the replay history. */
#ifndef AGW_BUS_H
#define AGW_BUS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "accessgw/plugin.h"
#include "audit.h"
#include "private_subs.h"

struct journal;

/* One event kept for replay: its topic, a NUL, its envelope, in one buffer
 * that the slot keeps and reuses for the events after it (no allocation per
 * event once the ring has gone round, unless an event is larger). */
struct history_entry {
    uint64_t seq;
    char *buf;
    size_t cap, topic_len, envelope_len;
};

struct bus {
    void *pub, *priv;
    char *gateway_id; /* a copy: fixed for the life of the bus */
    uint64_t epoch, seq;
    struct history_entry *ring;
    size_t cap, count, head; /* head: index of the oldest entry */
    struct journal *journal; /* NULL: none; every public event goes in before it is sent */
    bool journal_failing;    /* the last batch was not written (the journal says why) */
    bool append_failed;
    size_t unsent;           /* the newest events of the history, journaled but not yet sent */
    /* The events of the devices app_wants names also go to app_sink, in full (full: the
     * private twin of a masked public event), for the window applications
     * (daemon/app_link.c); asked first, so other events cost nothing more.  NULL: none. */
    bool (*app_wants)(void *ctx, const char *subject);
    void (*app_sink)(void *ctx, const char *topic, size_t topic_len, const char *env,
                     size_t env_len, bool full);
    void *app_sink_ctx;
    struct private_subs subs; /* who is subscribed to priv */
    struct audit *audit;      /* where deliveries on priv are recorded; NULL: none is sent */
};

struct bus_options {
    const char *gateway_id;
    const char *events, *private_events;
    const char *curve_secret_key; /* Z85, 40 chars; needed with private_events */
    unsigned history;
    int sndhwm;
    uint64_t epoch;
    struct journal *journal;
};

int bus_open(struct bus *bus, void *zctx, const struct bus_options *o, char *err, size_t errlen);
void bus_close(struct bus *bus);
/* The private endpoint's (un)subscriptions and its peers' comings and goings; call when
 * bus->priv or bus->subs.monitor is readable. */
void bus_take_subscriptions(struct bus *bus);
/* Closes and binds the private endpoint again, dropping every live connection
 * (they reconnect and pass ZAP with the keys of now): how a revoked key is cut off. */
int bus_reopen_private(struct bus *bus, void *zctx, const struct bus_options *o, char *err,
                       size_t errlen);

/* Events are sent in batches: each batch is written to the journal with one
 * write() and then sent, so that an event is on disk before any subscriber
 * sees it at a fraction of the cost of one write per event.  bus_flush()
 * ends a batch; the main loop calls it before it waits, and a batch of 64
 * ends by itself. */
void bus_flush(struct bus *bus);

/* The one way onto the bus: publishes one event and returns its seq (0 if it
 * could not be).  data_json (a JSON object's text) is only read: its owner
 * frees it (and wipes it, when the plugin declares personal fields).  With
 * `personal` (a plugin's declaration) and personal fields in the data, the
 * public socket gets the masked view and the private socket the full event
 * (same id, seq, time); the copies made here are wiped. */
uint64_t bus_publish(struct bus *bus, const char *cls, const char *subject, const char *event,
                     bool device_source, const char *data_json,
                     const struct agw_personal_field *personal, const struct timespec *time);

/* A reply is one page: a client that asks for the whole history and never
 * reads must not make the gateway hold megabytes per request. */
#define BUS_REPLAY_PAGE_BYTES (32 * 1024)

/* The held events with seq > since (optionally only topics with one of the
 * prefixes), at most limit of them (0: no count limit) and about
 * BUS_REPLAY_PAGE_BYTES, as a JSON text: {"epoch":E,"first_seq":F,"last_seq":L,
 * "truncated":B,"events":[{"topic":T,"event":{...}},...],"more":M,
 * "next_since_seq":N}; with more, the rest is asked for with since_seq N.
 * malloc'd. */
char *bus_replay_json(const struct bus *bus, uint64_t since, const char *const *prefixes,
                      size_t n_prefixes, size_t limit);
#endif
