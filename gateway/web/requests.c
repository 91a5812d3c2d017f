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

bool authorized(struct web *w, struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!w->token || !h || strncmp(h, "Bearer ", 7) != 0)
        return false;
    const char *given = h + 7;
    size_t a = strlen(given), b = strlen(w->token);
    unsigned char diff = (unsigned char)(a != b);
    for (size_t i = 0; i < a && i < b; i++) /* constant time for equal lengths */
        diff |= (unsigned char)(given[i] ^ w->token[i]);
    return diff == 0;
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
void on_control_reply(void *ctx, unsigned long no, json_t *reply)
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
