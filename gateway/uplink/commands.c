/* The platform's commands: checked, sent to the gateway's control socket,
 * and answered on the response topic (MQTT 5 request/response). */
#include "uplink.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "monotonic.h"
#include "control_protocol.h"

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

static void finish_command(struct uplink *u, struct command *c, json_t *reply)
{
    json_object_set(reply, "id", c->client_id ? c->client_id : json_null());
    publish_reply(u, c->response_topic, c->correlation, c->correlation_len, reply);
    json_decref(c->client_id);
    free(c->response_topic);
    free(c->correlation);
    memset(c, 0, sizeof(*c));
}

/* The gateway's answer to command no, or NULL when none came by its deadline. */
static void on_command_reply(void *ctx, unsigned long no, json_t *reply)
{
    struct uplink *u = ctx;
    for (size_t i = 0; i < MAX_PENDING_COMMANDS; i++) {
        struct command *c = &u->pending[i];
        if (!c->used || c->no != no)
            continue;
        json_t *answer = reply ? json_deep_copy(reply)
                               : json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code",
                                           "timeout", "message", "the gateway did not answer");
        finish_command(u, c, answer);
        json_decref(answer);
        return;
    }
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
    json_t *copy = json_copy(req);
    char *text = json_dumps(copy, JSON_COMPACT);
    size_t len = text ? strlen(text) : 0;
    free(text);
    if (len + 32 > CONTROL_MAX_REQUEST) { /* with the client's id: the gateway would answer with none */
        char message[128];
        snprintf(message, sizeof(message), "a command of %zu bytes; the limit is %d", len,
                 CONTROL_MAX_REQUEST - 32);
        reply_error(u, response_topic, corr, corr_len, client_id, "too_large", message);
        json_decref(copy);
        return;
    }
    *c = (struct command){.used = true, .no = ++u->command_no, .client_id = json_incref(client_id),
                          .response_topic = strdup(response_topic),
                          .correlation_len = corr ? corr_len : 0};
    if (corr && (c->correlation = malloc(corr_len)))
        memcpy(c->correlation, corr, corr_len);
    if (!control_client_send(&u->control, copy, u->conf.command_timeout_ms + 2000,
                             on_command_reply, u, c->no)) {
        json_t *reply = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", "unavailable",
                                  "message", "cannot reach the gateway");
        finish_command(u, c, reply);
        json_decref(reply);
    }
    json_decref(copy);
}

/* A reply goes to the topic the platform names, but never under accessgw/ (where halls
 * publish: a reply shaped like an event, or a call bell's press, would be taken for
 * one) and never to a wildcard. */
static bool response_topic_allowed(const char *topic)
{
    return topic[0] && strncmp(topic, "accessgw/", 9) != 0 && strcmp(topic, "accessgw") != 0 &&
           !strpbrk(topic, "+#") && topic[0] != '$';
}

void handle_command(struct uplink *u, const struct mosquitto_message *msg,
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

