#define _GNU_SOURCE
#include "syncer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "monotonic.h"

#define SYNC_SLOW_MS 5000

static void sync_now(int fd, const char *what)
{
    if (fdatasync(fd) < 0)
        log_err("%s: fdatasync: %s", what, strerror(errno));
}

static void *syncer_main(void *arg)
{
    struct syncer *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        int slot = -1;
        for (int i = 0; i < SYNCER_SLOTS && slot < 0; i++)
            if (s->pending[i] >= 0)
                slot = i;
        if (slot < 0) {
            if (s->stopping)
                break;
            pthread_cond_wait(&s->wake, &s->lock);
            continue;
        }
        int fd = s->pending[slot];
        s->pending[slot] = -1;
        snprintf(s->busy_what, sizeof(s->busy_what), "%s", s->what[slot]);
        s->busy_since_ms = monotonic_ms();
        s->slow_said = false;
        pthread_mutex_unlock(&s->lock);
        sync_now(fd, s->busy_what);
        close(fd);
        pthread_mutex_lock(&s->lock);
        if (s->slow_said)
            log_notice("%s: the disk finished a sync after %lld ms", s->busy_what,
                       monotonic_ms() - s->busy_since_ms);
        s->busy_since_ms = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int syncer_start(struct syncer *s)
{
    *s = (struct syncer){0};
    for (int i = 0; i < SYNCER_SLOTS; i++)
        s->pending[i] = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    int r = pthread_create(&s->thread, NULL, syncer_main, s);
    if (r != 0) {
        log_err("cannot start the thread that syncs files: %s; syncing on the main loop",
                strerror(r));
        return -r;
    }
    s->started = true;
    return 0;
}

void syncer_request(struct syncer *s, enum syncer_slot slot, int fd, const char *what)
{
    if (!s || !s->started) {
        sync_now(fd, what);
        return;
    }
    pthread_mutex_lock(&s->lock);
    snprintf(s->what[slot], sizeof(s->what[slot]), "%s", what);
    if (s->pending[slot] < 0) {
        s->pending[slot] = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (s->pending[slot] < 0) /* out of descriptors: late rather than never */
            log_err("%s: cannot hand the file to the syncing thread: %s", what, strerror(errno));
        else
            pthread_cond_signal(&s->wake);
    }
    pthread_mutex_unlock(&s->lock);
}

void syncer_check(struct syncer *s)
{
    if (!s || !s->started)
        return;
    pthread_mutex_lock(&s->lock);
    long long took = s->busy_since_ms ? monotonic_ms() - s->busy_since_ms : 0;
    if (took >= SYNC_SLOW_MS && !s->slow_said) {
        s->slow_said = true;
        log_warn("%s: the disk has not finished a sync for %lld ms; events are still "
                 "published, their durability waits for the disk", s->busy_what, took);
    }
    pthread_mutex_unlock(&s->lock);
}

void syncer_stop(struct syncer *s)
{
    if (!s->started)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->started = false;
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
}
