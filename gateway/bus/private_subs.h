/* Who is subscribed to the private endpoint, by authorized key: so that every full
 * record it sends is audited per recipient before it leaves (docs/PRIVACY.md).
 *
 * The private socket is an XPUB that passes every (un)subscription up
 * (ZMQ_XPUB_VERBOSER); each carries the connection's ZAP user id (the key's
 * name in authorized_keys) and its file descriptor.  A peer that goes away is
 * unsubscribed by libzmq without either (4.3: the pipe's end makes the message),
 * so its going is taken from the socket monitor's DISCONNECTED event instead,
 * which names the descriptor. */
#ifndef AGW_PRIVATE_SUBS_H
#define AGW_PRIVATE_SUBS_H
#include <stddef.h>

#define PRIVATE_USER_MAX 64
#define PRIVATE_PREFIX_MAX 256

struct private_sub {
    int fd;
    char user[PRIVATE_USER_MAX];
    char prefix[PRIVATE_PREFIX_MAX];
};

struct private_subs {
    struct private_sub *items;
    size_t n, cap;
    void *monitor; /* PAIR: the XPUB's monitor events */
};

/* Sets the XPUB up for it and starts its monitor: 0, or -1 with why. */
int private_subs_open(struct private_subs *s, void *zctx, void *xpub, char *err, size_t errlen);
void private_subs_close(struct private_subs *s);
/* Takes the (un)subscriptions waiting on the XPUB, and the monitor's events. */
void private_subs_take(struct private_subs *s, void *xpub);
/* The distinct users subscribed to a prefix of topic (at most max): how many. */
size_t private_subs_recipients(const struct private_subs *s, const char *topic,
                               const char **users, size_t max);
#endif
