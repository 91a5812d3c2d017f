/* POST /control: a browser's request forwarded to the gateway, answered when it answers. */
#define _GNU_SOURCE
#include "web_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zmq.h>

#include "log.h"
#include "monotonic.h"

static void on_control_reply(void *ctx, unsigned long no, json_t *reply);

static bool same_token(const char *given, const char *token)
{
    if (!token)
        return false;
    size_t a = strlen(given), b = strlen(token);
    unsigned char diff = (unsigned char)(a != b);
    for (size_t i = 0; i < a && i < b; i++) /* constant time for equal lengths */
        diff |= (unsigned char)(given[i] ^ token[i]);
    return diff == 0;
}

/* Only the Authorization header: a token in a URL ends up in logs and history. */
enum bearer bearer_of(struct web *w, struct MHD_Connection *conn, const struct web_app **app)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    *app = NULL;
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return NOBODY;
    if (same_token(h + 7, w->token))
        return STAFF;
    for (size_t i = 0; i < w->n_apps; i++)
        if (same_token(h + 7, w->apps[i].token)) {
            *app = &w->apps[i];
            return APP;
        }
    return NOBODY;
}

/* An app may send verbs to its own window's devices, from its own origins: nothing else. */
static const char *app_refusal(const struct request *q, json_t *req, char *why, size_t len)
{
    const struct app_conf *app = q->app->conf;
    const char *origin = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Origin");
    const char *verb = json_string_value(json_object_get(req, "verb"));
    const char *device = json_string_value(json_object_get(req, "device"));
    if (origin && !word_listed(app->origins, origin, strlen(origin), true))
        snprintf(why, len, "origin %.200s is not among the origins of [app %s]", origin,
                 app->name);
    else if (!verb || !strchr(verb, '.'))
        snprintf(why, len, "[app %s] may send device verbs only; gateway verbs are the staff's",
                 app->name);
    else if (!device || !app_has_device(app, device))
        snprintf(why, len, "[app %s] may send verbs only to its own devices (%.200s)", app->name,
                 app->devices);
    else
        return NULL;
    return why;
}

static void request_unlink(struct web *w, struct request *q)
{
    for (struct request **p = &w->requests; *p; p = &(*p)->next)
        if (*p == q) {
            *p = q->next;
            return;
        }
}

void request_free(struct request *q)
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

enum MHD_Result forward_control(struct web *w, struct request *q)
{
    json_error_t e;
    json_t *req = json_loadb(q->body.p ? q->body.p : "", q->body.len, 0, &e);
    if (!json_is_object(req)) {
        json_decref(req);
        return respond_error(q->conn, 400, "bad_json", "the body is not a JSON object");
    }
    char why[400];
    if (q->app && app_refusal(q, req, why, sizeof(why))) {
        json_decref(req);
        return respond_error(q->conn, MHD_HTTP_FORBIDDEN, "forbidden", why);
    }
    q->client_id = json_incref(json_object_get(req, "id"));
    bool sent = control_client_send(&w->control, req, w->conf.command_timeout_ms + 2000,
                                    on_control_reply, w, q->no);
    json_decref(req);
    if (!sent)
        return respond_error(q->conn, 503, "unavailable", "cannot reach the gateway");
    q->forwarded = true;
    q->next = w->requests;
    w->requests = q;
    q->suspended = true;
    MHD_suspend_connection(q->conn);
    return MHD_YES;
}

/* The gateway's answer to request no (NULL: none by the deadline: 504). */
static void on_control_reply(void *ctx, unsigned long no, json_t *reply)
{
    struct web *w = ctx;
    struct request *q = w->requests;
    while (q && (q->no != no || q->reply))
        q = q->next;
    if (!q)
        return; /* the browser went away meanwhile */
    if (!reply) {
        finish_request(q, MHD_HTTP_GATEWAY_TIMEOUT,
                       json_pack("{s:O?, s:b, s:{s:s, s:s}}", "id", q->client_id, "ok", 0,
                                 "error", "code", "timeout", "message",
                                 "the gateway did not answer"));
        return;
    }
    json_t *answer = json_deep_copy(reply);
    json_object_set(answer, "id", q->client_id ? q->client_id : json_null());
    finish_request(q, MHD_HTTP_OK, answer);
}
