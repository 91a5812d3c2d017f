/* accessgwd's event loop: each owner registers its sockets and fds, what it
 * does when they are ready, and its own deadlines; a turn is one zmq_poll
 * over all of them.  (ZeroMQ sockets have no fd that can go into an epoll
 * set without edge-triggered care, so the loop polls with zmq_poll and the
 * sources fill its items afresh each turn: their sets change, a plugin host
 * restarts, a hotplug monitor opens late.) */
#ifndef AGW_LOOP_H
#define AGW_LOOP_H
#include <stddef.h>
#include <zmq.h>

struct loop_source {
    void *ctx;
    size_t max_items; /* how many items fill may add */
    /* Before the wait: its items (sockets or fds with events); returns how many. */
    size_t (*fill)(void *ctx, zmq_pollitem_t *items, size_t max);
    /* Before the wait, after fill: ms until it has work on a clock (-1: none). */
    long (*due)(void *ctx);
    /* After the wait: its items as filled, with their revents; it also does
     * what its clock says is due. */
    void (*run)(void *ctx, const zmq_pollitem_t *items, size_t n);
};

#define LOOP_SOURCES_MAX 12

struct loop {
    struct loop_source sources[LOOP_SOURCES_MAX];
    size_t n;
    zmq_pollitem_t *items;
    size_t cap;
};

/* Sources run in the order they were added; -1 when the loop is full or out of memory. */
int loop_add(struct loop *l, const struct loop_source *s);
/* One wait (at most max_ms; -1: as long as the sources allow) and the work it found. */
void loop_turn(struct loop *l, long max_ms);
void loop_free(struct loop *l);
#endif
