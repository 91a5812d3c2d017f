/* A thread-safe queue with an eventfd to poll: how device workers and the
 * main loop hand each other work without sharing ZeroMQ sockets. */
#ifndef AGW_MAILBOX_H
#define AGW_MAILBOX_H
#include <pthread.h>

struct mail {
    struct mail *next;
};

struct mailbox {
    pthread_mutex_t lock;
    struct mail *head, *tail;
    int fd; /* readable while mail is waiting */
    size_t depth;
};

int mailbox_init(struct mailbox *mb);
void mailbox_destroy(struct mailbox *mb);
void mailbox_post(struct mailbox *mb, struct mail *m);
/* Takes every waiting mail, oldest first (NULL when none). */
struct mail *mailbox_take_all(struct mailbox *mb);
/* How many mails wait: producers slow down when their consumer lags. */
size_t mailbox_depth(struct mailbox *mb);
#endif
