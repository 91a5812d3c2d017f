#define _GNU_SOURCE
#include "state_writer.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

static void write_one(const char *state_dir, struct state_save *s)
{
    s->why[0] = '\0';
    s->result = device_state_write(state_dir, s->plugin, s->device, s->json, s->why,
                                   sizeof(s->why));
}

/* Under the lock. */
static void append_done(struct state_writer *w, struct state_save *s)
{
    s->next = NULL;
    if (w->done_tail)
        w->done_tail->next = s;
    else
        w->done = s;
    w->done_tail = s;
    uint64_t one = 1;
    ssize_t r = write(w->done_fd, &one, sizeof(one));
    (void)r;
}

static void *writer_main(void *arg)
{
    struct state_writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        struct state_save *s = w->todo;
        if (!s) {
            if (w->stopping)
                break;
            pthread_cond_wait(&w->wake, &w->lock);
            continue;
        }
        w->todo = s->next;
        if (!w->todo)
            w->todo_tail = NULL;
        pthread_mutex_unlock(&w->lock);
        write_one(w->state_dir, s);
        pthread_mutex_lock(&w->lock);
        append_done(w, s);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int state_writer_start(struct state_writer *w, const char *state_dir)
{
    *w = (struct state_writer){0};
    w->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->state_dir = strdup(state_dir);
    if (w->done_fd < 0 || !w->state_dir) {
        if (w->done_fd >= 0)
            close(w->done_fd);
        free(w->state_dir);
        return -1;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    int r = pthread_create(&w->thread, NULL, writer_main, w);
    if (r != 0)
        log_err("cannot start the thread that writes device states: %s; they are written on "
                "the main loop", strerror(r));
    w->started = r == 0;
    return 0;
}

struct state_save *state_save_new(size_t proc, pid_t host, const char *plugin, const char *device,
                                  const char *json)
{
    struct state_save *s = calloc(1, sizeof(*s));
    if (!s || !(s->json = strdup(json))) {
        free(s);
        return NULL;
    }
    s->proc = proc;
    s->host = host;
    snprintf(s->plugin, sizeof(s->plugin), "%s", plugin);
    snprintf(s->device, sizeof(s->device), "%s", device);
    return s;
}

void state_writer_queue(struct state_writer *w, struct state_save *s)
{
    s->next = NULL;
    if (!w->started) {
        write_one(w->state_dir, s);
        pthread_mutex_lock(&w->lock);
        append_done(w, s);
        pthread_mutex_unlock(&w->lock);
        return;
    }
    pthread_mutex_lock(&w->lock);
    if (w->todo_tail)
        w->todo_tail->next = s;
    else
        w->todo = s;
    w->todo_tail = s;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

struct state_save *state_writer_take_done(struct state_writer *w)
{
    uint64_t count;
    ssize_t r = read(w->done_fd, &count, sizeof(count));
    (void)r;
    pthread_mutex_lock(&w->lock);
    struct state_save *all = w->done;
    w->done = w->done_tail = NULL;
    pthread_mutex_unlock(&w->lock);
    return all;
}

void state_save_free(struct state_save *s)
{
    free(s->json);
    free(s);
}

void state_writer_stop(struct state_writer *w)
{
    if (w->started) {
        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        w->started = false;
    }
}

void state_writer_free(struct state_writer *w)
{
    state_writer_stop(w);
    for (struct state_save *s = state_writer_take_done(w); s;) {
        struct state_save *next = s->next;
        state_save_free(s);
        s = next;
    }
    close(w->done_fd);
    free(w->state_dir);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    *w = (struct state_writer){.done_fd = -1};
}
