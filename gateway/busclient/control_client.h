/* Requests from a helper (accessgw-web, accessgw-uplink, accessgwctl watch) to the
 * gateway's control socket: each with a callback and a deadline.  One DEALER; the
 * request ids are the client's own, so no caller parses an id to find whose a
 * reply is, and a reply that comes after its deadline (or for nobody) is dropped. */
#ifndef AGW_CONTROL_CLIENT_H
#define AGW_CONTROL_CLIENT_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* reply: the gateway's answer (borrowed), or NULL when none came by the deadline.
 * tag: what the caller gave with the request (its own number for it). */
typedef void (*control_reply_fn)(void *ctx, unsigned long tag, json_t *reply);

struct control_call {
    unsigned long no, tag;
    control_reply_fn done;
    void *ctx;
    struct timespec deadline;
};

struct control_client {
    void *dealer;
    unsigned long next_no;
    struct control_call *calls;
    size_t n, cap;
};

int control_client_open(struct control_client *c, void *zctx, const char *endpoint, char *err,
                        size_t errlen);
/* Calls waiting are dropped without a callback: their callers are going too. */
void control_client_close(struct control_client *c);
/* Sends req (borrowed; its "id" is set to the client's own).  False when it could not
 * be sent (then done is never called). */
bool control_client_send(struct control_client *c, json_t *req, unsigned timeout_ms,
                         control_reply_fn done, void *ctx, unsigned long tag);
/* The DEALER is readable: each reply to its caller. */
void control_client_read(struct control_client *c);
/* Calls past their deadline get reply NULL. */
void control_client_expire(struct control_client *c);
/* ms until the next deadline, -1: none. */
long control_client_due_ms(const struct control_client *c);
#endif
