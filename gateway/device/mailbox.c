#include "mailbox.h"

#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int mailbox_init(struct mailbox *mb)
{
    pthread_mutex_init(&mb->lock, NULL);
    mb->head = mb->tail = NULL;
    mb->depth = 0;
    mb->take_now = NULL;
    mb->flush_now = NULL;
    mb->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return mb->fd < 0 ? -1 : 0;
}

void mailbox_destroy(struct mailbox *mb)
{
    if (mb->fd >= 0)
        close(mb->fd);
    mb->fd = -1;
    pthread_mutex_destroy(&mb->lock);
}

void mailbox_post(struct mailbox *mb, struct mail *m)
{
    m->next = NULL;
    if (mb->take_now && mb->take_now(mb->take_now_ctx, m))
        return;
    pthread_mutex_lock(&mb->lock);
    int was_empty = mb->head == NULL;
    if (mb->tail)
        mb->tail->next = m;
    else
        mb->head = m;
    mb->tail = m;
    mb->depth++;
    pthread_mutex_unlock(&mb->lock);
    /* Only the first mail needs a wake-up: the reader takes the whole queue. */
    if (was_empty)
        mailbox_wake(mb);
}

void mailbox_wake(struct mailbox *mb)
{
    uint64_t one = 1;
    ssize_t r = write(mb->fd, &one, sizeof(one));
    (void)r;
}

struct mail *mailbox_take_all(struct mailbox *mb)
{
    uint64_t count;
    ssize_t r = read(mb->fd, &count, sizeof(count));
    (void)r;
    pthread_mutex_lock(&mb->lock);
    struct mail *all = mb->head;
    mb->head = mb->tail = NULL;
    mb->depth = 0;
    pthread_mutex_unlock(&mb->lock);
    return all;
}

size_t mailbox_depth(struct mailbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    size_t d = mb->depth;
    pthread_mutex_unlock(&mb->lock);
    return d;
}

void mailbox_flush(struct mailbox *mb)
{
    if (mb->flush_now)
        mb->flush_now(mb->take_now_ctx);
}
