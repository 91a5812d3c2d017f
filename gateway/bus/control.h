/* The control socket's wire protocol: one JSON request frame in, one JSON
 * reply frame out (docs/CONTRACT.md "Control socket").  Anything malformed gets an
 * error reply or, when it cannot be answered, is dropped with a log line. */
#ifndef AGW_CONTROL_H
#define AGW_CONTROL_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "control_protocol.h"
#define CONTROL_SNDHWM 1000                     /* replies held for one client that does not read */
#define CONTROL_OUTPUT_BUDGET (16 * 1024 * 1024) /* bytes held for all of them together */
#define CONTROL_SMALL_REPLY 1024                 /* always sent: a ping's answer */

/* Where a reply goes: the ROUTER identity, and whether the client put an
 * empty delimiter frame before its request (REQ does, DEALER need not). */
struct route {
    unsigned char identity[256];
    size_t identity_len;
    bool delimiter;
    json_t *request_id; /* echoed as "id"; JSON null when absent */
    bool expired;       /* answered "timeout" already: the device's late answer is dropped */
};

struct control_request {
    struct route *route; /* owned until a reply is sent */
    json_t *root;
    const char *verb;
    const char *device;  /* NULL for gateway verbs */
    json_t *args;        /* always an object */
};

void *control_bind(void *zctx, const char *endpoint, char *err, size_t errlen);
/* Reads one message.  1: a well-formed request in *req (free with
 * control_request_done); 0: nothing to do (answered with an error, or dropped). */
int control_recv(void *sock, struct control_request *req);
void control_request_done(struct control_request *req);

/* Replies; each frees the route. result is consumed and may be NULL ({}). */
void control_reply_ok(void *sock, struct route *r, json_t *result);
void control_reply_error(void *sock, struct route *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A reply whose result is an already-encoded JSON object. */
void control_reply_raw(void *sock, struct route *r, const char *result_json);
void route_free(struct route *r);
struct route *route_copy(const struct route *r);
#endif
