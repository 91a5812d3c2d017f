/* The timers of devices whose plugin shares them (AGW_TIMERS_SHARED), kept in
 * one process-wide heap ordered by when each is due, and taken in batches by
 * the shared timer thread (worker.c).  A thousand devices whose timers fall
 * due together then cost one wake-up and one batch on the link, not a
 * thousand threads woken in the same millisecond (docs/PERFORMANCE.md).
 *
 * Written by hand: a binary heap of pointers is shorter than adapting a
 * library's timer API to "due now, under this lock, each device once". */
#define _GNU_SOURCE
#include "device_internal.h"

#include <stdint.h>
#include <stdlib.h>

#include "loader.h"
#include "monotonic.h"

#define NOT_QUEUED SIZE_MAX

static struct {
    pthread_mutex_t lock;
    pthread_cond_t sooner; /* the timer thread's: a timer due before the one it waits for */
    pthread_cond_t fired;  /* a batch is done: a device being freed may go */
    struct device **heap;
    size_t n, cap;
    size_t reserved; /* devices that share timers: the heap has room for each, always */
} wheel = {.lock = PTHREAD_MUTEX_INITIALIZER, .fired = PTHREAD_COND_INITIALIZER};

static pthread_once_t wheel_once = PTHREAD_ONCE_INIT;

static void init_wheel(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* the clock next_timer is on */
    pthread_cond_init(&wheel.sooner, &attr);
    pthread_condattr_destroy(&attr);
}

static bool sooner_than(const struct device *a, const struct device *b)
{
    return ns_between(&b->next_timer, &a->next_timer) < 0;
}

static void put_at(size_t i, struct device *dev)
{
    wheel.heap[i] = dev;
    dev->wheel_slot = i;
}

static void sift_up(size_t i)
{
    struct device *dev = wheel.heap[i];
    while (i > 0 && sooner_than(dev, wheel.heap[(i - 1) / 2])) {
        put_at(i, wheel.heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    put_at(i, dev);
}

static void sift_down(size_t i)
{
    struct device *dev = wheel.heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= wheel.n)
            break;
        if (child + 1 < wheel.n && sooner_than(wheel.heap[child + 1], wheel.heap[child]))
            child++;
        if (!sooner_than(wheel.heap[child], dev))
            break;
        put_at(i, wheel.heap[child]);
        i = child;
    }
    put_at(i, dev);
}

static void remove_queued(struct device *dev)
{
    size_t i = dev->wheel_slot;
    if (i == NOT_QUEUED)
        return;
    dev->wheel_slot = NOT_QUEUED;
    struct device *last = wheel.heap[--wheel.n];
    if (i == wheel.n)
        return;
    put_at(i, last);
    sift_up(i);
    sift_down(last->wheel_slot);
}

/* Room was reserved when the device was made (device_timer_init). */
static void queue(struct device *dev)
{
    put_at(wheel.n++, dev);
    sift_up(wheel.n - 1);
}

int device_timer_init(struct device *dev)
{
    dev->wheel_slot = NOT_QUEUED;
    dev->shared_timer = AGW_PLUGIN_HAS(dev->plugin, timers) &&
                        (dev->plugin->timers & AGW_TIMERS_SHARED) != 0;
    if (!dev->shared_timer)
        return 0;
    pthread_once(&wheel_once, init_wheel);
    pthread_mutex_lock(&wheel.lock);
    int r = 0;
    if (wheel.reserved == wheel.cap) {
        size_t cap = wheel.cap ? 2 * wheel.cap : 64;
        struct device **grown = realloc(wheel.heap, cap * sizeof(*grown));
        if (grown) {
            wheel.heap = grown;
            wheel.cap = cap;
        } else {
            r = -1;
        }
    }
    wheel.reserved += r == 0;
    pthread_mutex_unlock(&wheel.lock);
    dev->shared_timer = r == 0;
    return r;
}

void device_set_timer(struct device *dev, unsigned interval_ms)
{
    if (!dev->shared_timer) { /* the worker's own poll waits for it */
        dev->timer_ms = interval_ms;
        monotonic_now(&dev->next_timer);
        add_ms(&dev->next_timer, interval_ms);
        return;
    }
    pthread_mutex_lock(&wheel.lock);
    remove_queued(dev);
    dev->timer_ms = interval_ms;
    monotonic_now(&dev->next_timer);
    add_ms(&dev->next_timer, interval_ms);
    if (interval_ms) {
        queue(dev);
        if (dev->wheel_slot == 0)
            pthread_cond_signal(&wheel.sooner);
    }
    pthread_mutex_unlock(&wheel.lock);
}

void device_forget_timer(struct device *dev)
{
    if (!dev->shared_timer)
        return;
    pthread_mutex_lock(&wheel.lock);
    remove_queued(dev);
    while (dev->timer_firing) /* the batch in the timer thread's hands still names it */
        pthread_cond_wait(&wheel.fired, &wheel.lock);
    pthread_mutex_unlock(&wheel.lock);
}

void device_timer_release(struct device *dev)
{
    if (!dev->shared_timer)
        return;
    device_forget_timer(dev); /* done by its worker already, unless it never ran */
    pthread_mutex_lock(&wheel.lock);
    wheel.reserved--;
    pthread_mutex_unlock(&wheel.lock);
}

size_t wheel_wait_due(struct device ***batch, size_t *cap)
{
    pthread_once(&wheel_once, init_wheel);
    pthread_mutex_lock(&wheel.lock);
    for (;;) {
        struct timespec now;
        monotonic_now(&now);
        if (wheel.n == 0)
            pthread_cond_wait(&wheel.sooner, &wheel.lock);
        else if (ns_between(&now, &wheel.heap[0]->next_timer) > 0)
            pthread_cond_timedwait(&wheel.sooner, &wheel.lock, &wheel.heap[0]->next_timer);
        else
            break;
    }
    /* Every timer due now, each rescheduled from this same moment, as a worker
     * does from its own: devices that fired together keep firing together. */
    struct timespec now;
    monotonic_now(&now);
    size_t n = 0;
    while (wheel.n && ns_between(&now, &wheel.heap[0]->next_timer) <= 0) {
        struct device *dev = wheel.heap[0];
        if (n == *cap) {
            size_t grown_cap = *cap ? 2 * *cap : 64;
            struct device **grown = realloc(*batch, grown_cap * sizeof(*grown));
            if (!grown)
                break; /* the rest stay due: the next round takes them */
            *batch = grown;
            *cap = grown_cap;
        }
        (*batch)[n++] = dev;
        dev->timer_firing = true;
        dev->next_timer = now;
        add_ms(&dev->next_timer, dev->timer_ms);
        sift_down(0);
    }
    pthread_mutex_unlock(&wheel.lock);
    return n;
}

void wheel_batch_done(struct device **batch, size_t n)
{
    pthread_mutex_lock(&wheel.lock);
    for (size_t i = 0; i < n; i++)
        batch[i]->timer_firing = false;
    pthread_cond_broadcast(&wheel.fired);
    pthread_mutex_unlock(&wheel.lock);
}
