/* Smart-card reader hotplug (pcsc_hotplug.h).  The watcher thread keeps the
 * list of readers pcscd reports and pokes a pipe when it changes; the main
 * loop compares it with the readers it attached.  pcscd absent or stopped:
 * the list is empty (hotplugged readers are detached) and the watcher tries
 * a new context every RETRY_MS, since a context pcscd died under never works
 * again. */
#define _GNU_SOURCE
#include "pcsc_hotplug.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#include "hotplug.h"
#include "log.h"

#define WATCH_SLICE_MS 1000
#define RETRY_MS 2000
#define READERS_MAX 16
#define LIST_MAX 4096

struct pcsc_hotplug {
    const struct agw_plugin *plugin; /* the first plugin with a PC/SC row */
    char **configured;
    pcsc_add_fn add;
    pcsc_remove_fn remove;
    void *ctx;
    int pipe[2];
    pthread_t thread;
    atomic_bool stopping;
    SCARDCONTEXT sc;
    atomic_bool have_sc;
    /* the watcher's list (NUL-separated, ends with an empty name), under lock */
    pthread_mutex_t lock;
    char list[LIST_MAX];
    /* the main loop's: readers attached */
    char attached[READERS_MAX][256];
    size_t n_attached;
};

static void publish_list(struct pcsc_hotplug *h, const char *list, size_t len)
{
    pthread_mutex_lock(&h->lock);
    bool changed = len + 1 > sizeof(h->list) || memcmp(h->list, list, len) != 0;
    if (changed) {
        size_t n = len < sizeof(h->list) - 1 ? len : sizeof(h->list) - 2;
        memcpy(h->list, list, n);
        h->list[n] = h->list[n + 1] = '\0';
    }
    pthread_mutex_unlock(&h->lock);
    if (changed && write(h->pipe[1], "!", 1) < 0) { /* a full pipe is a poke already */
    }
}

/* Sleeps in short steps, so that stopping never waits a whole retry. */
static void sleep_ms(struct pcsc_hotplug *h, unsigned ms)
{
    struct timespec step = {0, 100 * 1000000L};
    for (unsigned slept = 0; slept < ms && !atomic_load(&h->stopping); slept += 100)
        nanosleep(&step, NULL);
}

/* The readers now, as "a\0b\0\0"; returns how many, -1 when pcscd is gone. */
static int list_readers(struct pcsc_hotplug *h)
{
    char buf[LIST_MAX];
    DWORD len = sizeof(buf) - 1;
    LONG rv = SCardListReaders(h->sc, NULL, buf, &len);
    if (rv == (LONG)SCARD_E_NO_READERS_AVAILABLE) {
        publish_list(h, "\0", 2);
        return 0;
    }
    if (rv != SCARD_S_SUCCESS)
        return -1;
    int n = 0;
    for (const char *r = buf; *r; r += strlen(r) + 1)
        n++;
    publish_list(h, buf, len < 2 ? 2 : len);
    return n;
}

static void *watch_readers(void *arg)
{
    struct pcsc_hotplug *h = arg;
    bool said_absent = false;
    while (!atomic_load(&h->stopping)) {
        if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &h->sc) != SCARD_S_SUCCESS) {
            if (!said_absent)
                log_info("PC/SC hotplug: pcscd is not available; readers are looked for again "
                         "every %d s", RETRY_MS / 1000);
            said_absent = true;
            sleep_ms(h, RETRY_MS);
            continue;
        }
        atomic_store(&h->have_sc, true);
        said_absent = false;
        SCARD_READERSTATE rs = {.szReader = "\\\\?PnP?\\Notification"};
        int n;
        while (!atomic_load(&h->stopping) && (n = list_readers(h)) >= 0) {
            rs.dwCurrentState = (DWORD)n << 16; /* pcsc-lite: returns when the count changes */
            LONG rv = SCardGetStatusChange(h->sc, WATCH_SLICE_MS, &rs, 1);
            if (rv != SCARD_S_SUCCESS && rv != (LONG)SCARD_E_TIMEOUT)
                break;
        }
        atomic_store(&h->have_sc, false);
        SCardReleaseContext(h->sc);
        publish_list(h, "\0", 2); /* pcscd went: its readers with it */
        if (!atomic_load(&h->stopping))
            sleep_ms(h, RETRY_MS / 4);
    }
    return NULL;
}

static const struct agw_plugin *plugin_for_readers(const struct plugin_set *plugins)
{
    for (size_t i = 0; i < plugins->n; i++)
        for (const struct agw_id *r = plugins->items[i].desc->ids; r && r->bus != AGW_BUS_END; r++)
            if (r->bus == AGW_BUS_PCSC)
                return plugins->items[i].desc;
    return NULL;
}

static void free_names(char **names)
{
    for (char **c = names; c && *c; c++)
        free(*c);
    free(names);
}

/* A NULL-terminated copy, or NULL when memory ran out. */
static char **copy_names(const char *const *names)
{
    size_t n = 0;
    while (names && names[n])
        n++;
    char **copy = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; copy && i < n; i++)
        if (!(copy[i] = strdup(names[i]))) {
            free_names(copy);
            copy = NULL;
        }
    return copy;
}

struct pcsc_hotplug *pcsc_hotplug_open(const struct plugin_set *plugins,
                                       const char *const *configured, pcsc_add_fn add,
                                       pcsc_remove_fn remove, void *ctx)
{
    const struct agw_plugin *p = plugin_for_readers(plugins);
    if (!p)
        return NULL;
    struct pcsc_hotplug *h = calloc(1, sizeof(*h));
    if (h)
        h->configured = copy_names(configured);
    if (!h || !h->configured || pipe2(h->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        log_err("PC/SC hotplug: %s", strerror(errno ? errno : ENOMEM));
        if (h)
            free_names(h->configured);
        free(h);
        return NULL;
    }
    h->plugin = p;
    h->add = add;
    h->remove = remove;
    h->ctx = ctx;
    h->list[0] = h->list[1] = '\0';
    pthread_mutex_init(&h->lock, NULL);
    if (pthread_create(&h->thread, NULL, watch_readers, h) != 0) {
        log_err("PC/SC hotplug: cannot start its thread");
        pcsc_hotplug_close(h);
        return NULL;
    }
    log_info("PC/SC hotplug: readers pcscd reports go to %s", p->id);
    return h;
}

int pcsc_hotplug_fd(const struct pcsc_hotplug *h)
{
    return h->pipe[0];
}

static bool in_list(const char *list, const char *name)
{
    for (const char *r = list; *r; r += strlen(r) + 1)
        if (strcmp(r, name) == 0)
            return true;
    return false;
}

/* A [device] section takes the first reader, in pcscd's order, its `reader` starts. */
static bool named_by_config(const struct pcsc_hotplug *h, const char *list, const char *name)
{
    for (char **c = h->configured; *c; c++)
        for (const char *r = list; *r; r += strlen(r) + 1)
            if (strncmp(r, *c, strlen(*c)) == 0) {
                if (strcmp(r, name) == 0)
                    return true;
                break;
            }
    return false;
}

static void forget(struct pcsc_hotplug *h, size_t i)
{
    char key[sizeof(((struct pcsc_match *)0)->key)];
    snprintf(key, sizeof(key), "pcsc:%s", h->attached[i]);
    log_info("PC/SC hotplug: reader '%s' is gone", h->attached[i]);
    memmove(h->attached[i], h->attached[i + 1], (h->n_attached - i - 1) * sizeof(h->attached[0]));
    h->n_attached--;
    h->remove(h->ctx, key);
}

static void attach(struct pcsc_hotplug *h, const char *name)
{
    if (h->n_attached == READERS_MAX) {
        log_warn("PC/SC hotplug: more than %d readers; '%s' is not taken", READERS_MAX, name);
        return;
    }
    struct pcsc_match m = {.plugin = h->plugin};
    snprintf(m.reader, sizeof(m.reader), "%s", name);
    snprintf(m.key, sizeof(m.key), "pcsc:%s", name);
    char tail[48];
    hotplug_sanitize(tail, sizeof(tail), name);
    snprintf(m.id, sizeof(m.id), "%s-%s", h->plugin->id, tail);
    snprintf(h->attached[h->n_attached++], sizeof(h->attached[0]), "%s", name);
    log_info("PC/SC hotplug: reader '%s' claimed by %s as %s", name, h->plugin->id, m.id);
    h->add(h->ctx, &m);
}

static void current_list(struct pcsc_hotplug *h, char list[LIST_MAX])
{
    pthread_mutex_lock(&h->lock);
    memcpy(list, h->list, LIST_MAX);
    pthread_mutex_unlock(&h->lock);
}

static void forget_gone_or_named(struct pcsc_hotplug *h, const char *list)
{
    for (size_t i = h->n_attached; i-- > 0;)
        if (!in_list(list, h->attached[i]) || named_by_config(h, list, h->attached[i]))
            forget(h, i);
}

int pcsc_hotplug_configure(struct pcsc_hotplug *h, const char *const *configured)
{
    if (!h)
        return 0;
    char **fresh = copy_names(configured);
    if (!fresh) {
        log_err("PC/SC hotplug: out of memory for the readers the config names; it keeps the "
                "ones it had");
        return -1;
    }
    free_names(h->configured);
    h->configured = fresh;
    char list[LIST_MAX];
    current_list(h, list);
    forget_gone_or_named(h, list);
    return 0;
}

void pcsc_hotplug_dispatch(struct pcsc_hotplug *h)
{
    char poke[64];
    while (read(h->pipe[0], poke, sizeof(poke)) > 0)
        ;
    char list[LIST_MAX];
    current_list(h, list);
    forget_gone_or_named(h, list);
    for (const char *r = list; *r; r += strlen(r) + 1) {
        bool have = false;
        for (size_t i = 0; i < h->n_attached && !have; i++)
            have = strcmp(h->attached[i], r) == 0;
        if (!have && !named_by_config(h, list, r))
            attach(h, r);
    }
}

void pcsc_hotplug_close(struct pcsc_hotplug *h)
{
    if (!h)
        return;
    if (h->thread) {
        atomic_store(&h->stopping, true);
        if (atomic_load(&h->have_sc))
            SCardCancel(h->sc); /* else it wakes within a slice */
        pthread_join(h->thread, NULL);
    }
    free_names(h->configured);
    close(h->pipe[0]);
    close(h->pipe[1]);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
