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
#include "uplink.h"

#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "args.h"
#include "control_protocol.h"
#include "log.h"
#include "monotonic.h"
#include "signals.h"
#include "state.h"
#include "trust.h"

/* ---- configuration ---- */

/* ---- the cursor ---- */

/* ---- the window of unacknowledged events ---- */

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

static void pump_events(struct uplink *u)
{
    if (!u->connected || window_full(&u->window)) {
        feed_pause(&u->feed); /* the journal holds what comes meanwhile, not this process */
        return;
    }
    while (u->connected && !window_full(&u->window)) {
        struct feed_event ev;
        if (!feed_pull(&u->feed, &ev))
            return;
        forward_event(u, &ev);
    }
}

/* ---- commands from the platform ---- */

/* ---- the broker connection ---- */

/* ---- the loop ---- */

static long next_timeout(struct uplink *u)
{
    long t = 1000; /* libmosquitto's keepalive wants loop_misc about once a second */
    t = sooner(t, feed_due_ms(&u->feed));
    t = sooner(t, control_client_due_ms(&u->control));
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
            {u->control.dealer, 0, ZMQ_POLLIN, 0},
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
            control_client_read(&u->control);
        if (fd >= 0)
            drive_mqtt(u, (short)((items[2].revents & ZMQ_POLLIN ? POLLIN : 0) |
                                  (items[2].revents & ZMQ_POLLOUT ? POLLOUT : 0) |
                                  (items[2].revents & ZMQ_POLLERR ? POLLERR : 0)));
        control_client_expire(&u->control);
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
    if (control_client_open(&u->control, u->zctx, u->conf.control, err, errlen) < 0)
        return -1;
    return feed_open(&u->feed, u->zctx, u->conf.events, &u->control, u->cursor, err, errlen);
}

static void teardown(struct uplink *u)
{
    feed_close(&u->feed);
    control_client_close(&u->control);
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
