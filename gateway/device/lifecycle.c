/* Creating, starting and freeing a device (the thread that owns it:
 * accessgwd's main loop, or a plugin host's): the top of device/, the one
 * file that knows both the worker and the host tables. */
#define _GNU_SOURCE
#include "device_internal.h"
#include "abi1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

struct device *device_new(const struct device_params *p, struct mailbox *outbox)
{
    struct device *dev = calloc(1, sizeof(*dev));
    if (!dev)
        return NULL;
    /* a 1.x plugin's handle carries the table of its ABI (abi1.h) */
    dev->pub.host = abi1_is_imported(p->plugin) ? (const void *)&host_api_v1 : (const void *)&host_api;
    snprintf(dev->id, sizeof(dev->id), "%s", p->id);
    dev->plugin = p->plugin;
    dev->transport_kind = p->transport;
    dev->path = dup_or_null(p->path);
    dev->baud = p->baud;
    dev->location = dup_or_null(p->location);
    dev->syspath = dup_or_null(p->syspath);
    dev->settings = calloc(p->n_settings + 1, sizeof(*dev->settings));
    for (size_t i = 0; dev->settings && i < p->n_settings; i++) {
        dev->settings[i].key = strdup(p->settings[i].key);
        dev->settings[i].value = strdup(p->settings[i].value);
        dev->settings[i].where = dup_or_null(p->settings[i].where);
    }
    dev->n_settings = dev->settings ? p->n_settings : 0;
    dev->outbox = outbox;
    dev->tr.fd = -1;
    dev->handed_fd = -1;
    sem_init(&dev->save_answered, 0, 0);
    if (p->saved_state && p->saved_state[0]) {
        json_error_t err;
        dev->saved_state = json_loads(p->saved_state, JSON_REJECT_DUPLICATES, &err);
        if (!json_is_object(dev->saved_state)) { /* accessgwd checked it; a copy cannot differ */
            log_err("device %s: its saved state did not arrive whole (%s); starting empty",
                    dev->id, err.text);
            json_decref(dev->saved_state);
            dev->saved_state = NULL;
        }
    }
    dev->state = AGW_STATE_ERROR;
    snprintf(dev->reason, sizeof(dev->reason), "not opened yet");
    pthread_mutex_init(&dev->lock, NULL);
    pthread_mutex_init(&dev->busy, NULL);
    if (mailbox_init(&dev->inbox) < 0 || device_timer_init(dev) < 0) {
        device_free(dev);
        return NULL;
    }
    return dev;
}

static bool shared_timers_started;

static void start_shared_timers(void)
{
    pthread_t t;
    int r = pthread_create(&t, NULL, shared_timers_main, NULL);
    if (r != 0) /* the wheel keeps them: not one would fire; say so at once */
        log_err("cannot start the shared timer thread: %s; shared timers will not fire",
                strerror(r));
    else
        pthread_detach(t);
    shared_timers_started = r == 0;
}

int device_start(struct device *dev)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (dev->shared_timer) {
        pthread_once(&once, start_shared_timers);
        if (!shared_timers_started) {
            log_err("device %s: its timers cannot run (no shared timer thread)", dev->id);
            return -1;
        }
    }
    int r = pthread_create(&dev->thread, NULL, worker_main, dev);
    if (r != 0) {
        log_err("device %s: cannot start its worker thread: %s", dev->id, strerror(r));
        return -1;
    }
    dev->thread_started = true;
    return 0;
}

void device_free(struct device *dev)
{
    if (!dev)
        return;
    if (dev->thread_started)
        pthread_join(dev->thread, NULL);
    device_timer_release(dev);
    /* Mail that arrived after the worker's last look: answer and drop it. */
    for (struct mail *m = dev->inbox.fd >= 0 ? mailbox_take_all(&dev->inbox) : NULL; m;) {
        struct mail *next = m->next;
        free_in_mail(dev, (struct in_mail *)m);
        m = next;
    }
    mailbox_destroy(&dev->inbox);
    for (size_t i = 0; i < dev->n_settings; i++) {
        free(dev->settings[i].key);
        free(dev->settings[i].value);
        free(dev->settings[i].where);
    }
    free(dev->settings);
    free(dev->path);
    free(dev->location);
    free(dev->syspath);
    json_decref(dev->info);
    json_decref(dev->saved_state);
    free(dev->saved_json);
    if (dev->event_text && dev->plugin->personal)
        explicit_bzero(dev->event_text, dev->event_text_cap);
    free(dev->event_text);
    free(dev->event_mail);
    free(dev->children);
    if (dev->handed_fd >= 0)
        close(dev->handed_fd);
    sem_destroy(&dev->save_answered);
    pthread_mutex_destroy(&dev->lock);
    pthread_mutex_destroy(&dev->busy);
    free(dev);
}
