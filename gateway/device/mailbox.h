/* A thread-safe queue with an eventfd to poll: how device workers and the
 * main loop hand each other work without sharing ZeroMQ sockets. */
#ifndef AGW_MAILBOX_H
#define AGW_MAILBOX_H
#include <pthread.h>
#include <stdbool.h>

struct mail {
    struct mail *next;
};

struct mailbox {
    pthread_mutex_t lock;
    struct mail *head, *tail;
    int fd; /* readable while mail is waiting */
    size_t depth;
    /* A consumer that takes mail on the poster's own thread, saving the hand-off
     * to the reader (a plugin host puts a worker's mail onto its link itself):
     * true when it took the mail, false to queue it as usual.  What it took may
     * wait in a batch until the poster is about to block: mailbox_flush().
     * It must take every event: a worker then posts its device's own, reused
     * event mail (host_api.c).  NULL: none. */
    bool (*take_now)(void *ctx, struct mail *m);
    void (*flush_now)(void *ctx);
    void *take_now_ctx;
};

int mailbox_init(struct mailbox *mb);
void mailbox_destroy(struct mailbox *mb);
void mailbox_post(struct mailbox *mb, struct mail *m);
/* The reader's poll returns as if mail had come (its take_all finds none). */
void mailbox_wake(struct mailbox *mb);
/* Takes every waiting mail, oldest first (NULL when none). */
struct mail *mailbox_take_all(struct mailbox *mb);
/* How many mails wait: producers slow down when their consumer lags. */
size_t mailbox_depth(struct mailbox *mb);
/* A poster about to block (waiting for input, an answer or a deadline) sends
 * what take_now batched for it. */
void mailbox_flush(struct mailbox *mb);
#endif
