#include "control_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "monotonic.h"

int control_client_open(struct control_client *c, void *zctx, const char *endpoint, char *err,
                        size_t errlen)
{
    memset(c, 0, sizeof(*c));
    int linger = 0;
    c->dealer = zmq_socket(zctx, ZMQ_DEALER);
    if (!c->dealer || zmq_setsockopt(c->dealer, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
        zmq_connect(c->dealer, endpoint) < 0) {
        snprintf(err, errlen, "control %s: %s", endpoint, zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

void control_client_close(struct control_client *c)
{
    if (c->dealer)
        zmq_close(c->dealer);
    free(c->calls);
    memset(c, 0, sizeof(*c));
}

static bool make_room(struct control_client *c)
{
    if (c->n < c->cap)
        return true;
    size_t cap = c->cap ? c->cap * 2 : 16;
    struct control_call *grown = realloc(c->calls, cap * sizeof(*grown));
    if (!grown)
        return false;
    c->calls = grown;
    c->cap = cap;
    return true;
}

bool control_client_send(struct control_client *c, json_t *req, unsigned timeout_ms,
                         control_reply_fn done, void *ctx, unsigned long tag)
{
    if (!make_room(c))
        return false;
    char id[32];
    unsigned long no = ++c->next_no;
    snprintf(id, sizeof(id), "c%lu", no);
    json_object_set_new(req, "id", json_string(id));
    char *text = json_dumps(req, JSON_COMPACT);
    bool sent = text && zmq_send(c->dealer, text, strlen(text), ZMQ_DONTWAIT) >= 0;
    free(text);
    if (!sent)
        return false;
    struct control_call *call = &c->calls[c->n++];
    *call = (struct control_call){.no = no, .tag = tag, .done = done, .ctx = ctx};
    monotonic_now(&call->deadline);
    add_ms(&call->deadline, timeout_ms);
    return true;
}

/* Takes the call out before its callback runs: a callback may send again. */
static void answer(struct control_client *c, size_t i, json_t *reply)
{
    struct control_call call = c->calls[i];
    c->calls[i] = c->calls[--c->n];
    call.done(call.ctx, call.tag, reply);
}

static bool call_no(const char *id, unsigned long *no)
{
    char *end;
    if (!id || id[0] != 'c' || !id[1])
        return false;
    *no = strtoul(id + 1, &end, 10);
    return *end == '\0';
}

void control_client_read(struct control_client *c)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, c->dealer, ZMQ_DONTWAIT) >= 0) {
        json_t *reply = json_loadb(zmq_msg_data(&m), zmq_msg_size(&m), 0, NULL);
        unsigned long no;
        bool ours = call_no(json_string_value(json_object_get(reply, "id")), &no);
        if (!ours)
            log_warn("the gateway answered a request nobody sent (%zu bytes); ignored",
                     zmq_msg_size(&m));
        for (size_t i = 0; ours && i < c->n; i++)
            if (c->calls[i].no == no) { /* none: its deadline passed, it was answered NULL */
                answer(c, i, reply);
                break;
            }
        json_decref(reply);
    }
    zmq_msg_close(&m);
}

void control_client_expire(struct control_client *c)
{
    for (size_t i = 0; i < c->n;)
        if (ms_until(&c->calls[i].deadline) == 0)
            answer(c, i, NULL);
        else
            i++;
}

long control_client_due_ms(const struct control_client *c)
{
    long t = -1;
    for (size_t i = 0; i < c->n; i++) {
        long due = ms_until(&c->calls[i].deadline);
        if (t < 0 || due < t)
            t = due;
    }
    return t;
}
