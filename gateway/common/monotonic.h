/* Deadlines on the monotonic clock, shared by the main loop and the device
 * workers.  Waits are rounded up: a timer must never fire before its time
 * (rounding down made a 1 ms timer fire on every turn of its loop). */
#ifndef AGW_MONOTONIC_H
#define AGW_MONOTONIC_H
#include <time.h>

static inline void monotonic_now(struct timespec *ts) { clock_gettime(CLOCK_MONOTONIC, ts); }

static inline void add_ms(struct timespec *ts, unsigned ms)
{
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static inline long ns_between(const struct timespec *from, const struct timespec *to)
{
    return (to->tv_sec - from->tv_sec) * 1000000000L + (to->tv_nsec - from->tv_nsec);
}

/* The monotonic clock in milliseconds, for a deadline kept in one integer. */
static inline long long monotonic_ms(void)
{
    struct timespec now;
    monotonic_now(&now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Milliseconds since from (rounded down). */
static inline long elapsed_ms(const struct timespec *from)
{
    struct timespec now;
    monotonic_now(&now);
    return ns_between(from, &now) / 1000000L;
}

/* The sooner of two waits in ms, -1 meaning none: what a poll loop's timeout is made of. */
static inline long sooner(long a, long b) { return a < 0 ? b : b < 0 || a < b ? a : b; }

/* Milliseconds until when, rounded up; 0 once it has come. */
static inline long ms_until(const struct timespec *when)
{
    struct timespec now;
    monotonic_now(&now);
    long ns = ns_between(&now, when);
    return ns <= 0 ? 0 : (ns + 999999L) / 1000000L;
}
#endif
