#include "control.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"

#define MAX_FRAMES 4

void *control_bind(void *zctx, const char *endpoint, char *err, size_t errlen)
{
    void *s = zmq_socket(zctx, ZMQ_ROUTER);
    if (!s) {
        snprintf(err, errlen, "zmq_socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    /* A peer sending absurd frames is disconnected by libzmq itself. */
    int64_t maxmsg = 1024 * 1024;
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
    /* Per client at most CONTROL_SNDHWM replies wait for it (each at most a
     * replay page, see bus.h); beyond that a reply to a client that does not
     * read is dropped and said, not queued (ROUTER_MANDATORY makes the drop
     * visible instead of silent). */
    int linger = 0, sndhwm = CONTROL_SNDHWM, rcvhwm = 1000, mandatory = 1;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(s, ZMQ_SNDHWM, &sndhwm, sizeof(sndhwm));
    zmq_setsockopt(s, ZMQ_RCVHWM, &rcvhwm, sizeof(rcvhwm));
    zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof(mandatory));
    if (zmq_bind(s, endpoint) < 0) {
        snprintf(err, errlen, "cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
}

void route_free(struct route *r)
{
    if (!r)
        return;
    json_decref(r->request_id);
    free(r);
}

struct route *route_copy(const struct route *r)
{
    struct route *c = malloc(sizeof(*c));
    if (!c)
        return NULL;
    *c = *r;
    json_incref(c->request_id);
    return c;
}

/* Bytes of replies libzmq holds for clients that have not read them yet:
 * counted up here, down by libzmq's free callback (its I/O thread) once a
 * reply is on the wire or dropped.  Message counts (SNDHWM) alone would let a
 * client that never reads hold CONTROL_SNDHWM replay pages. */
static atomic_size_t output_held;

static void release_body(void *data, void *hint)
{
    atomic_fetch_sub(&output_held, (size_t)(uintptr_t)hint);
    free(data);
}

static void send_body(void *sock, struct route *r, char *body, size_t len)
{
    zmq_msg_t msg;
    if (zmq_msg_init_data(&msg, body, len, release_body, (void *)(uintptr_t)len) < 0) {
        free(body);
        return;
    }
    atomic_fetch_add(&output_held, len);
    int more = ZMQ_SNDMORE | ZMQ_DONTWAIT;
    /* The identity frame decides: once it is taken, the rest of the message is. */
    if (zmq_send(sock, r->identity, r->identity_len, more) < 0) {
        int e = zmq_errno();
        if (e == EAGAIN)
            log_warn("control: a reply was dropped: a client has %d replies it does not read",
                     CONTROL_SNDHWM);
        else
            log_debug("control: reply not delivered: %s", zmq_strerror(e));
    } else if ((r->delimiter && zmq_send(sock, "", 0, more) < 0) ||
               zmq_msg_send(&msg, sock, ZMQ_DONTWAIT) < 0) {
        log_debug("control: reply not delivered: %s", zmq_strerror(zmq_errno()));
    }
    zmq_msg_close(&msg); /* after a send it is empty; otherwise this releases body */
}

/* Takes body (malloc'd).  Past the budget a large reply becomes a short
 * "busy" error (small, so it passes here): ping and command results are
 * always answered. */
static void send_reply(void *sock, struct route *r, char *body, size_t len)
{
    size_t held = atomic_load(&output_held);
    if (len > CONTROL_SMALL_REPLY && held + len > CONTROL_OUTPUT_BUDGET) {
        free(body);
        log_warn("control: a %zu-byte reply refused: %zu KiB of replies wait for clients that do "
                 "not read", len, held / 1024);
        control_reply_error(sock, r, "busy",
                            "the gateway holds %zu KiB of replies clients have not read; ask "
                            "again later", held / 1024);
        return;
    }
    send_body(sock, r, body, len);
    route_free(r);
}

static void send_json(void *sock, struct route *r, json_t *reply)
{
    char *text = json_dumps(reply, JSON_COMPACT);
    json_decref(reply);
    if (!text) {
        route_free(r);
        return;
    }
    send_reply(sock, r, text, strlen(text));
}

void control_reply_ok(void *sock, struct route *r, json_t *result)
{
    json_t *reply = json_object();
    json_object_set(reply, "id", r->request_id);
    json_object_set_new(reply, "ok", json_true());
    json_object_set_new(reply, "result", result ? result : json_object());
    send_json(sock, r, reply);
}

void control_reply_error(void *sock, struct route *r, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *reply = json_object();
    json_object_set(reply, "id", r->request_id);
    json_object_set_new(reply, "ok", json_false());
    json_object_set_new(reply, "error", json_pack("{s:s, s:s}", "code", code, "message", msg));
    send_json(sock, r, reply);
}

void control_reply_raw(void *sock, struct route *r, const char *result_json)
{
    char *id = json_dumps(r->request_id, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len = strlen(result_json) + (id ? strlen(id) : 4) + 40;
    char *body = malloc(len);
    if (!body) {
        free(id);
        control_reply_error(sock, r, "internal", "out of memory");
        return;
    }
    int n = snprintf(body, len, "{\"id\":%s,\"ok\":true,\"result\":%s}", id ? id : "null",
                     result_json);
    free(id);
    send_reply(sock, r, body, (size_t)n);
}

/* Reads every frame of one message, keeping at most MAX_FRAMES. */
static int recv_frames(void *sock, zmq_msg_t *frames, int *count)
{
    int n = 0, total = 0, more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        total++;
        if (n < MAX_FRAMES)
            frames[n++] = part;
        else
            zmq_msg_close(&part);
    }
    *count = n;
    return total;
}

static struct route *route_from(zmq_msg_t *identity, bool delimiter)
{
    struct route *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->identity_len = zmq_msg_size(identity);
    if (r->identity_len > sizeof(r->identity))
        r->identity_len = sizeof(r->identity);
    memcpy(r->identity, zmq_msg_data(identity), r->identity_len);
    r->delimiter = delimiter;
    r->request_id = json_null();
    return r;
}

/* Accepts a string or number id (echoed back); anything else is an error. */
static bool take_request_id(struct route *r, json_t *root)
{
    json_t *id = json_object_get(root, "id");
    if (!id)
        return true;
    if (!json_is_string(id) && !json_is_integer(id))
        return false;
    json_decref(r->request_id);
    r->request_id = json_incref(id);
    return true;
}

static int parse_request(void *sock, struct route *r, const char *body, size_t len,
                         struct control_request *req)
{
    if (len > CONTROL_MAX_REQUEST) {
        control_reply_error(sock, r, "too_large", "request of %zu bytes; the limit is %d", len,
                            CONTROL_MAX_REQUEST);
        return 0;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        control_reply_error(sock, r, "bad_json", "line %d column %d: %s", jerr.line, jerr.column,
                            jerr.text);
        return 0;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        control_reply_error(sock, r, "bad_request", "the request must be a JSON object");
        return 0;
    }
    if (!take_request_id(r, root)) {
        json_decref(root);
        control_reply_error(sock, r, "bad_request", "\"id\" must be a string or an integer");
        return 0;
    }
    json_t *verb = json_object_get(root, "verb"), *device = json_object_get(root, "device");
    json_t *args = json_object_get(root, "args");
    const char *problem = !json_is_string(verb)                 ? "\"verb\" must be a string"
                          : (device && !json_is_string(device)) ? "\"device\" must be a string"
                          : (args && !json_is_object(args) && !json_is_null(args))
                              ? "\"args\" must be an object"
                              : NULL;
    if (problem) {
        json_decref(root);
        control_reply_error(sock, r, "bad_request", "%s", problem);
        return 0;
    }
    if (!args || json_is_null(args)) {
        args = json_object();
        json_object_set_new(root, "args", args);
    }
    *req = (struct control_request){r, root, json_string_value(verb),
                                    device ? json_string_value(device) : NULL, args};
    return 1;
}

int control_recv(void *sock, struct control_request *req)
{
    zmq_msg_t f[MAX_FRAMES];
    int n = 0;
    int total = recv_frames(sock, f, &n);
    int rc = 0;
    if (n < 2) {
        if (total > 0)
            log_debug("control: dropped a message with %d frame(s): no request", total);
    } else {
        /* [identity] [empty]? request: anything else cannot be a request. */
        bool delimiter = total >= 3 && zmq_msg_size(&f[1]) == 0;
        int body_index = delimiter ? 2 : 1;
        struct route *r = route_from(&f[0], delimiter);
        if (!r) {
            rc = 0;
        } else if (total != body_index + 1) {
            control_reply_error(sock, r, "bad_request",
                                "expected exactly one JSON frame, got %d frame(s)",
                                total - (delimiter ? 2 : 1));
        } else {
            rc = parse_request(sock, r, zmq_msg_data(&f[body_index]), zmq_msg_size(&f[body_index]),
                               req);
        }
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return rc;
}

void control_request_done(struct control_request *req)
{
    json_decref(req->root);
    req->root = NULL;
}
