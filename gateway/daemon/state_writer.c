#define _GNU_SOURCE
#include "state_writer.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void write_one(const char *state_dir, struct state_save *s)
{
    s->why[0] = '\0';
    s->result = device_state_write(state_dir, s->plugin, s->device, s->json, s->why,
                                   sizeof(s->why));
}

/* Writes a batch in order; false once it held the signal to end. */
static bool write_batch(struct state_writer *w, struct mail *all)
{
    bool go_on = true;
    while (all) {
        struct state_save *s = (struct state_save *)all;
        all = all->next;
        if (!s->json) {
            go_on = false;
            state_save_free(s);
            continue;
        }
        write_one(w->state_dir, s);
        mailbox_post(&w->written, &s->link);
    }
    return go_on;
}

static void *writer_main(void *arg)
{
    struct state_writer *w = arg;
    for (bool go_on = true; go_on;) {
        struct pollfd p = {w->asked.fd, POLLIN, 0};
        poll(&p, 1, -1);
        go_on = write_batch(w, mailbox_take_all(&w->asked));
    }
    return NULL;
}

int state_writer_start(struct state_writer *w, const char *state_dir)
{
    *w = (struct state_writer){.asked.fd = -1, .written.fd = -1};
    w->state_dir = strdup(state_dir);
    if (!w->state_dir || mailbox_init(&w->asked) < 0 || mailbox_init(&w->written) < 0) {
        log_err("the device states' writer: out of memory or descriptors");
        return -1;
    }
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
    if (!s || (json && !(s->json = strdup(json)))) {
        free(s);
        return NULL;
    }
    s->proc = proc;
    s->host = host;
    snprintf(s->plugin, sizeof(s->plugin), "%s", plugin);
    snprintf(s->device, sizeof(s->device), "%s", device);
    return s;
}

void state_writer_post(struct state_writer *w, struct state_save *s)
{
    if (w->started) {
        mailbox_post(&w->asked, &s->link);
    } else {
        s->link.next = NULL;
        write_batch(w, &s->link);
    }
}

struct state_save *state_writer_take_written(struct state_writer *w)
{
    return (struct state_save *)mailbox_take_all(&w->written);
}

void state_save_free(struct state_save *s)
{
    free(s->json);
    free(s);
}

void state_writer_stop(struct state_writer *w)
{
    if (!w->started)
        return;
    struct state_save *end = state_save_new(0, 0, "", "", NULL);
    if (!end) { /* cannot happen short of memory; then the thread is left, not waited for */
        log_err("the device states' writer: out of memory to stop it");
        return;
    }
    mailbox_post(&w->asked, &end->link);
    pthread_join(w->thread, NULL);
    w->started = false;
}

void state_writer_free(struct state_writer *w)
{
    if (!w->state_dir) /* never started */
        return;
    state_writer_stop(w);
    for (struct state_save *s = state_writer_take_written(w); s;) {
        struct state_save *next = (struct state_save *)s->link.next;
        state_save_free(s);
        s = next;
    }
    mailbox_destroy(&w->asked);
    mailbox_destroy(&w->written);
    free(w->state_dir);
    *w = (struct state_writer){0};
}
