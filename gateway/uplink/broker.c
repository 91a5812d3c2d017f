/* The broker connection: connect with backoff, subscribe, online/offline, acknowledgements. */
#include "uplink.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <systemd/sd-daemon.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "monotonic.h"
#include "trust.h"

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

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    struct uplink *u = obj;
    if (strcmp(msg->topic, u->control_topic) == 0)
        handle_command(u, msg, props);
}

void publish_online(struct uplink *u, bool online)
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
void try_connect(struct uplink *u)
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

int setup_mqtt(struct uplink *u, char *err, size_t errlen)
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

void drive_mqtt(struct uplink *u, short revents)
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
