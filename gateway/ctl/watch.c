/* accessgwctl watch: events as JSON lines, in order and without a gap.
 *
 * Public events come through the helpers' shared feed (busclient/feed.c), as
 * accessgw-web and accessgw-uplink take them: live while each follows the
 * last, from the journal (`replay` with `since`) whenever one does not, across
 * a restart of the gateway too.  Private events (--private) are never kept, so
 * they are live only, from the CURVE endpoint. */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "curve.h"
#include "envelope.h"
#include "feed.h"
#include "monotonic.h"

struct watch {
    const struct options *o;
    char **prefixes;
    int n_prefixes;
    long long printed;
    struct timespec last_word; /* the last event, or answer to ping */
    bool silent;               /* said that the gateway fell silent */
};

static bool wanted(const struct watch *w, const char *topic)
{
    return topic_has_prefix(topic, w->prefixes, (size_t)w->n_prefixes);
}

static void print_event(struct watch *w, const char *body, size_t len)
{
    fwrite(body, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    w->printed++;
    if (w->o->count > 0 && w->printed >= w->o->count)
        interrupted = 1;
}

/* No event, not even a heartbeat, for stale_s: a gateway that still answers
 * ping is only quiet (a long heartbeat_ms, a filtered private stream); one that
 * does not is said to be gone.  True when it was said. */
static bool report_silence(void *zctx, const struct options *o, struct timespec *last_word)
{
    void *c = control_socket(zctx, o, false);
    bool answers = false;
    if (c) {
        const char *ping = "{\"id\":\"watch\",\"verb\":\"ping\"}";
        zmq_send(c, ping, strlen(ping), 0);
        zmq_pollitem_t item = {c, 0, ZMQ_POLLIN, 0};
        answers = zmq_poll(&item, 1, CONNECT_MS) == 1;
        zmq_close(c);
    }
    if (answers) {
        clock_gettime(CLOCK_MONOTONIC, last_word);
        return false;
    }
    fprintf(stderr, "accessgwctl: no heartbeat from %s for %d s, and no answer at %s "
                    "(still waiting)\n", o->events, o->stale_s,
            o->control);
    return true;
}

static void heard(struct watch *w)
{
    clock_gettime(CLOCK_MONOTONIC, &w->last_word);
    if (w->silent)
        fprintf(stderr, "accessgwctl: events from %s again\n", w->o->events);
    w->silent = false;
}

static void check_silence(void *zctx, struct watch *w)
{
    if (!w->silent && ms_since(&w->last_word) >= w->o->stale_s * 1000LL)
        w->silent = report_silence(zctx, w->o, &w->last_word);
}

/* --since SEQ counts in the gateway's current epoch, which ping tells. */
static int open_feed(void *zctx, const struct options *o, struct control_client *control,
                     struct feed *f)
{
    char err[512];
    int r;
    if (o->since >= 0) {
        json_t *req = json_pack("{s:s, s:s}", "id", "watch", "verb", "ping");
        json_t *reply = request(zctx, o, req);
        json_decref(req);
        json_t *epoch = json_object_get(json_object_get(reply, "result"), "epoch");
        if (!json_is_integer(epoch)) {
            json_decref(reply);
            return no_reply_status();
        }
        struct journal_key from = {(uint64_t)json_integer_value(epoch), (uint64_t)o->since};
        json_decref(reply);
        r = feed_open(f, zctx, o->events, control, from, err, sizeof(err));
    } else {
        r = feed_open_live(f, zctx, o->events, control, err, sizeof(err));
    }
    if (r < 0)
        fprintf(stderr, "accessgwctl: %s\n", err);
    return r < 0 ? EXIT_REFUSED : EXIT_OK;
}

static void print_ready(struct watch *w, struct feed *f)
{
    struct feed_event ev;
    while (!interrupted && feed_pull(f, &ev)) {
        heard(w);
        if (wanted(w, ev.topic))
            print_event(w, ev.json, ev.json_len);
        free(ev.json);
    }
}

static int watch_public(void *zctx, struct watch *w)
{
    struct feed f;
    struct control_client control;
    char err[512];
    /* "no gateway" is said at once, not after the first replay's deadline */
    void *probe = control_socket(zctx, w->o, true);
    if (!probe)
        return EXIT_UNREACHABLE;
    zmq_close(probe);
    if (control_client_open(&control, zctx, w->o->control, err, sizeof(err)) < 0) {
        fprintf(stderr, "accessgwctl: %s\n", err);
        return EXIT_REFUSED;
    }
    int rc = open_feed(zctx, w->o, &control, &f);
    if (rc != EXIT_OK) {
        control_client_close(&control);
        return rc;
    }
    while (!interrupted) {
        print_ready(w, &f);
        zmq_pollitem_t items[2] = {{f.sub, 0, ZMQ_POLLIN, 0}, {control.dealer, 0, ZMQ_POLLIN, 0}};
        long timeout = sooner(sooner(200, feed_due_ms(&f)), control_client_due_ms(&control));
        if (zmq_poll(items, 2, timeout) < 0)
            continue;
        if (items[1].revents)
            control_client_read(&control);
        control_client_expire(&control);
        if (!items[0].revents && !items[1].revents)
            check_silence(zctx, w);
    }
    feed_close(&f);
    control_client_close(&control);
    return EXIT_OK;
}

static int curve_client(void *s, const struct options *o, void *zctx)
{
    char path[4096], pub[Z85_KEY_LEN + 1], sec[Z85_KEY_LEN + 1], server[Z85_KEY_LEN + 1];
    char err[512];
    if (!o->key) {
        fprintf(stderr, "accessgwctl: --private needs --key NAME (from accessgwctl keygen NAME)\n");
        return -1;
    }
    bool legacy;
    snprintf(path, sizeof(path), "%s.key", o->key);
    if (curve_read_key_file(path, CURVE_SECRET, sec, &legacy, err, sizeof(err)) < 0)
        goto fail;
    snprintf(path, sizeof(path), "%s.pub", o->key);
    if (curve_read_key_file(path, CURVE_PUBLIC, pub, &legacy, err, sizeof(err)) < 0)
        goto fail;
    if (o->server_key) {
        if (curve_read_key_file(o->server_key, CURVE_PUBLIC, server, &legacy, err, sizeof(err)) < 0)
            goto fail;
    } else {
        /* The gateway's public key is not secret: ask it. */
        json_t *req = json_pack("{s:s, s:s}", "id", "ctl", "verb", "ping");
        json_t *reply = request(zctx, o, req);
        json_decref(req);
        const char *k = json_string_value(
            json_object_get(json_object_get(reply, "result"), "private_events_key"));
        if (!k || strlen(k) != Z85_KEY_LEN) {
            json_decref(reply);
            snprintf(err, sizeof(err), "the gateway has no private_events endpoint (or give "
                     "--server-key FILE)");
            goto fail;
        }
        memcpy(server, k, sizeof(server));
        json_decref(reply);
    }
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, Z85_KEY_LEN);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, Z85_KEY_LEN);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, Z85_KEY_LEN);
    return 0;
fail:
    fprintf(stderr, "accessgwctl: %s\n", err);
    return -1;
}

static int watch_private(void *zctx, struct watch *w)
{
    void *s = zmq_socket(zctx, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    if (curve_client(s, w->o, zctx) < 0) {
        zmq_close(s);
        return EXIT_REFUSED;
    }
    if (zmq_connect(s, w->o->events) < 0) {
        fprintf(stderr, "accessgwctl: cannot connect to %s: %s\n", w->o->events,
                zmq_strerror(zmq_errno()));
        zmq_close(s);
        return EXIT_REFUSED;
    }
    for (int i = 0; i < w->n_prefixes; i++)
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, w->prefixes[i], strlen(w->prefixes[i]));
    if (w->n_prefixes == 0)
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    while (!interrupted) {
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 200) <= 0) {
            check_silence(zctx, w);
            continue;
        }
        heard(w);
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&topic, s, 0) >= 0 && zmq_msg_more(&topic) && zmq_msg_recv(&body, s, 0) >= 0)
            print_event(w, zmq_msg_data(&body), zmq_msg_size(&body));
        zmq_msg_close(&topic);
        zmq_msg_close(&body);
    }
    zmq_close(s);
    return EXIT_OK;
}

int cmd_watch(const struct cli *a, void *zctx, int argc, char **argv)
{
    if (a->o.since == -2) {
        fprintf(stderr, "accessgwctl: --since takes a seq, not '%s'\n", a->o.since_text);
        return EXIT_USAGE;
    }
    struct watch w = {.o = &a->o, .prefixes = argv, .n_prefixes = argc};
    clock_gettime(CLOCK_MONOTONIC, &w.last_word);
    return a->o.private_events ? watch_private(zctx, &w) : watch_public(zctx, &w);
}
