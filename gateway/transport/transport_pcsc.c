/*
 * Smart-card readers through pcscd (libpcsclite; PCSCLITE_CSOCK_NAME is
 * honoured by the library).  The device is the reader; the "link" the plugin
 * hears of (on_link) is the card: up when one is inserted and connected, down
 * when it leaves.
 *
 * SCardGetStatusChange blocks, so a watcher thread of the transport's own,
 * on a context of its own, follows the reader and wakes the device's worker
 * through an eventfd; the worker connects, transmits and disconnects on its
 * context.  The watcher's wait is bounded (WATCH_SLICE_MS) so that pcscd
 * going away and the worker closing are both seen within it.  A context on
 * which pcscd died never works again (docs/reference/sscard.md, "PC/SC
 * facts"): the device is then lost and reopened with a new one, which is how
 * it comes back by itself when pcscd does.
 */
#define _GNU_SOURCE
#include "transport.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#include "log.h"

#define WATCH_SLICE_MS 1000
#define READER_NAME_MAX 256

struct pcsc_link {
    SCARDCONTEXT ctx, watch_ctx;
    SCARDHANDLE card;
    DWORD protocol;
    bool card_up;
    DWORD seen_events; /* the reader's event counter when the card was connected */
    char reader[READER_NAME_MAX];
    pthread_t watcher;
    bool watching, have_ctx, have_watch_ctx;
    atomic_bool stopping;
    /* written by the watcher, read by the worker */
    pthread_mutex_t lock;
    bool present, gone;
    DWORD events;
    char why[160];
};

static struct pcsc_link *link_of(struct transport *t)
{
    return t->handle;
}

static void wake(struct transport *t)
{
    uint64_t one = 1;
    if (write(t->fd, &one, sizeof(one)) < 0) { /* a full counter is awake anyway */
    }
}

static void watcher_lost(struct transport *t, const char *what, LONG rv)
{
    struct pcsc_link *l = link_of(t);
    pthread_mutex_lock(&l->lock);
    l->gone = true;
    snprintf(l->why, sizeof(l->why), "%s (%s)", what, pcsc_stringify_error(rv));
    pthread_mutex_unlock(&l->lock);
    wake(t);
}

static void *watch_reader(void *arg)
{
    struct transport *t = arg;
    struct pcsc_link *l = link_of(t);
    SCARD_READERSTATE rs = {.szReader = l->reader, .dwCurrentState = SCARD_STATE_UNAWARE};
    while (!atomic_load(&l->stopping)) {
        LONG rv = SCardGetStatusChange(l->watch_ctx, WATCH_SLICE_MS, &rs, 1);
        if (rv == (LONG)SCARD_E_TIMEOUT)
            continue;
        if (rv == (LONG)SCARD_E_CANCELLED && atomic_load(&l->stopping))
            break;
        if (rv == (LONG)SCARD_E_UNKNOWN_READER || rv == (LONG)SCARD_E_READER_UNAVAILABLE ||
            (rv == SCARD_S_SUCCESS && (rs.dwEventState & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE)))) {
            watcher_lost(t, "the reader was removed", rv);
            break;
        }
        if (rv != SCARD_S_SUCCESS) {
            watcher_lost(t, "pcscd stopped answering", rv);
            break;
        }
        rs.dwCurrentState = rs.dwEventState;
        pthread_mutex_lock(&l->lock);
        l->present = (rs.dwEventState & SCARD_STATE_PRESENT) && !(rs.dwEventState & SCARD_STATE_MUTE);
        l->events = rs.dwEventState >> 16; /* pcsc-lite counts card events in the high word */
        pthread_mutex_unlock(&l->lock);
        wake(t);
    }
    return NULL;
}

/* The first reader whose name starts with want; the others that do are named. */
static int find_reader(struct pcsc_link *l, const char *want, char *err, size_t errlen)
{
    DWORD len = SCARD_AUTOALLOCATE;
    LPSTR all = NULL;
    LONG rv = SCardListReaders(l->ctx, NULL, (LPSTR)&all, &len);
    if (rv == (LONG)SCARD_E_NO_READERS_AVAILABLE) {
        snprintf(err, errlen, "pcscd reports no reader (looking for '%s')", want);
        return -ENODEV;
    }
    if (rv != SCARD_S_SUCCESS) {
        snprintf(err, errlen, "pcscd: listing readers failed (%s)", pcsc_stringify_error(rv));
        return -EIO;
    }
    l->reader[0] = '\0';
    for (const char *r = all; *r; r += strlen(r) + 1) {
        if (strncmp(r, want, strlen(want)) != 0)
            continue;
        if (!l->reader[0])
            snprintf(l->reader, sizeof(l->reader), "%s", r);
        else
            log_notice("PC/SC: reader '%s' also matches '%s'; '%s' is used", r, want, l->reader);
    }
    SCardFreeMemory(l->ctx, all);
    if (!l->reader[0]) {
        snprintf(err, errlen, "pcscd reports no reader whose name starts with '%s'", want);
        return -ENODEV;
    }
    return 0;
}

static int establish(SCARDCONTEXT *ctx, char *err, size_t errlen)
{
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, ctx);
    if (rv == SCARD_S_SUCCESS)
        return 0;
    snprintf(err, errlen, "pcscd is not available (%s%s%s)", pcsc_stringify_error(rv),
             getenv("PCSCLITE_CSOCK_NAME") ? "; PCSCLITE_CSOCK_NAME=" : "",
             getenv("PCSCLITE_CSOCK_NAME") ? getenv("PCSCLITE_CSOCK_NAME") : "");
    return -EHOSTDOWN;
}

static void disconnect_card(struct pcsc_link *l)
{
    if (l->card_up)
        SCardDisconnect(l->card, SCARD_LEAVE_CARD);
    l->card_up = false;
}

static void pcsc_close(struct transport *t)
{
    struct pcsc_link *l = link_of(t);
    if (!l)
        return;
    if (l->watching) {
        atomic_store(&l->stopping, true);
        SCardCancel(l->watch_ctx); /* ends the wait at once; else within WATCH_SLICE_MS */
        pthread_join(l->watcher, NULL);
    }
    disconnect_card(l);
    if (l->have_watch_ctx)
        SCardReleaseContext(l->watch_ctx);
    if (l->have_ctx)
        SCardReleaseContext(l->ctx);
    pthread_mutex_destroy(&l->lock);
    free(l);
    t->handle = NULL;
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

static int pcsc_open(struct transport *t, const char *reader, unsigned baud, char *err,
                     size_t errlen)
{
    (void)baud;
    struct pcsc_link *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    pthread_mutex_init(&l->lock, NULL);
    t->handle = l;
    t->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int r = 0;
    if (t->fd < 0) {
        r = -errno;
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
    }
    if (r == 0 && (r = establish(&l->ctx, err, errlen)) == 0)
        l->have_ctx = true;
    if (r == 0)
        r = find_reader(l, reader ? reader : "", err, errlen);
    if (r == 0 && (r = establish(&l->watch_ctx, err, errlen)) == 0)
        l->have_watch_ctx = true;
    if (r == 0) {
        r = -pthread_create(&l->watcher, NULL, watch_reader, t);
        if (r < 0)
            snprintf(err, errlen, "cannot start the reader's watcher: %s", strerror(-r));
        l->watching = r == 0;
    }
    if (r < 0)
        pcsc_close(t);
    return r;
}

static int pcsc_pollfd(struct transport *t)
{
    return t->fd;
}

static bool pcsc_card_up(struct transport *t)
{
    return link_of(t) && link_of(t)->card_up;
}

/* A card is in the reader: connect to it (T=0 or T=1, as its ATR says). */
static void connect_card(struct transport *t, DWORD events, const struct transport_sink *sink)
{
    struct pcsc_link *l = link_of(t);
    LONG rv = SCardConnect(l->ctx, l->reader, SCARD_SHARE_SHARED,
                           SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &l->card, &l->protocol);
    if (rv != SCARD_S_SUCCESS) {
        log_notice("PC/SC reader '%s': the card does not answer (%s)", l->reader,
                   pcsc_stringify_error(rv));
        sink->link(sink->ctx, false, "the card does not answer");
        return;
    }
    l->card_up = true;
    l->seen_events = events;
    sink->link(sink->ctx, true, "card");
}

static int pcsc_process(struct transport *t, const struct transport_sink *sink)
{
    struct pcsc_link *l = link_of(t);
    uint64_t count;
    if (read(t->fd, &count, sizeof(count)) < 0 && errno == EAGAIN)
        return 0;
    pthread_mutex_lock(&l->lock);
    bool present = l->present, gone = l->gone;
    DWORD events = l->events;
    pthread_mutex_unlock(&l->lock);
    /* a card taken out and another put in between two looks counts as both */
    if (l->card_up && (gone || !present || events != l->seen_events)) {
        disconnect_card(l);
        sink->link(sink->ctx, false, "removed");
    }
    if (gone)
        return -ENODEV;
    if (present && !l->card_up)
        connect_card(t, events, sink);
    return 0;
}

/* Why the device was lost, for its state: the watcher's words. */
static const char *pcsc_lost_reason(struct transport *t)
{
    struct pcsc_link *l = link_of(t);
    return l && l->gone ? l->why : NULL;
}

ssize_t pcsc_transmit(struct transport *t, const uint8_t *apdu, size_t len, uint8_t *answer,
                      size_t max)
{
    struct pcsc_link *l = link_of(t);
    if (!l || !l->card_up)
        return -ENOMEDIUM;
    const SCARD_IO_REQUEST *pci = l->protocol == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
    DWORD got = (DWORD)max;
    LONG rv = SCardTransmit(l->card, pci, apdu, (DWORD)len, NULL, answer, &got);
    if (rv == (LONG)SCARD_W_REMOVED_CARD || rv == (LONG)SCARD_W_RESET_CARD ||
        rv == (LONG)SCARD_E_NO_SMARTCARD)
        return -ENOMEDIUM;
    if (rv == (LONG)SCARD_E_NO_SERVICE || rv == (LONG)SCARD_E_READER_UNAVAILABLE)
        return -ENODEV;
    /* vpcd answers success with 0 bytes when the card left mid-command: no
     * status word is a failed exchange, never indexed */
    if (rv != SCARD_S_SUCCESS || got < 2)
        return -EIO;
    return (ssize_t)got;
}

ssize_t pcsc_atr(struct transport *t, uint8_t *buf, size_t max)
{
    struct pcsc_link *l = link_of(t);
    if (!l || !l->card_up)
        return 0;
    BYTE atr[MAX_ATR_SIZE];
    DWORD atr_len = sizeof(atr), state, protocol, name_len = 0;
    if (SCardStatus(l->card, NULL, &name_len, &state, &protocol, atr, &atr_len) != SCARD_S_SUCCESS)
        return -ENOMEDIUM;
    size_t n = atr_len < max ? atr_len : max;
    memcpy(buf, atr, n);
    return (ssize_t)n;
}

const char *pcsc_reader_name(struct transport *t)
{
    return link_of(t) ? link_of(t)->reader : "";
}

static ssize_t pcsc_no_read(struct transport *t, void *buf, size_t max, int timeout_ms)
{
    (void)t, (void)buf, (void)max, (void)timeout_ms;
    return -ENOTSUP; /* a card speaks only when asked: transmit */
}

static ssize_t pcsc_no_write(struct transport *t, const void *buf, size_t len)
{
    (void)t, (void)buf, (void)len;
    return -ENOTSUP;
}

static void pcsc_no_flush(struct transport *t)
{
    (void)t;
}

const struct transport_ops transport_pcsc_ops = {
    .open = pcsc_open,
    .close = pcsc_close,
    .read = pcsc_no_read,
    .write = pcsc_no_write,
    .flush_input = pcsc_no_flush,
    .pollfd = pcsc_pollfd,
    .process = pcsc_process,
    .link_up = pcsc_card_up,
    .lost_reason = pcsc_lost_reason,
};
