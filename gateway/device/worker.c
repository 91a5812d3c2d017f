/* A device's worker thread: opens it (again, with backoff), waits for its
 * input, timers and commands, and calls the plugin for each. */
#define _GNU_SOURCE
#include "device_internal.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "envelope.h"
#include "config.h"
#include "loader.h"
#include "log.h"
#include "monotonic.h"
#include "mask.h"
#include "state.h"

static void plugin_enter(struct device *dev, const char *callback);
static void plugin_leave(struct device *dev);
static void republish_state_if_due(struct device *dev);

/* Every call into a plugin goes through here, so the main loop can see a hang. */
#define CALL_PLUGIN(dev, callback, call) \
    do {                                 \
        plugin_enter(dev, callback);     \
        call;                            \
        plugin_leave(dev);               \
    } while (0)

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000
/* libusb's synchronous bulk API has no fd to poll: a USB worker reads in
 * slices this long between looks at its inbox */
#define USB_POLL_MS 50
/* one hidraw report can be HID_MAX_BUFFER_SIZE (16 KiB) long */
#define INPUT_BUFFER 16384

/* ---- ABI 1.1 callbacks, only when the plugin's descriptor has them ---- */

static void sink_notify(void *ctx, const char *uuid, const uint8_t *value, size_t len)
{
    struct device *dev = ctx;
    if (dev->opened && AGW_PLUGIN_HAS(dev->plugin, on_notify)) {
        clock_now(&dev->input_time);
        CALL_PLUGIN(dev, "on_notify()", dev->plugin->on_notify((struct agw_device *)dev, uuid, value, len));
        dev->input_time.tv_sec = 0;
    }
}

static void sink_link(void *ctx, bool up, const char *why)
{
    struct device *dev = ctx;
    if (dev->opened && AGW_PLUGIN_HAS(dev->plugin, on_link))
        CALL_PLUGIN(dev, "on_link()", dev->plugin->on_link((struct agw_device *)dev, up, why));
}

/* ---- the worker ---- */

static void schedule_retry(struct device *dev)
{
    dev->backoff_ms = dev->backoff_ms ? dev->backoff_ms * 2 : BACKOFF_FIRST_MS;
    if (dev->backoff_ms > BACKOFF_MAX_MS)
        dev->backoff_ms = BACKOFF_MAX_MS;
    monotonic_now(&dev->retry_at);
    add_ms(&dev->retry_at, dev->backoff_ms);
}

/* accessgwd answers within a turn of its loop; this only bounds a lost answer */
#define NODE_WAIT_MS 10000

/* In a plugin host a node is opened by accessgwd and handed over (IN_FD): the
 * host itself may open no device.  1: asked, the worker waits for the answer. */
static int open_through_parent(struct device *dev, char *err, size_t errlen)
{
    if (dev->handed_fd < 0) {
        struct out_mail *m = out_new(dev, OUT_OPEN);
        if (m)
            mailbox_post(dev->outbox, &m->link);
        monotonic_now(&dev->retry_at);
        add_ms(&dev->retry_at, NODE_WAIT_MS);
        return 1;
    }
    int fd = dev->handed_fd;
    dev->handed_fd = -1;
    return dev->tr.ops->adopt(&dev->tr, fd, dev->baud, err, errlen);
}

static void take_handed_fd(struct device *dev, struct in_mail *m)
{
    if (dev->opened) /* an answer to a request from before the last open: not needed */
        return;
    if (dev->handed_fd >= 0) /* asked twice (an answer was slow): the newer is kept */
        close(dev->handed_fd);
    dev->handed_fd = m->fd;
    m->fd = -1;
    if (dev->handed_fd < 0) {
        host_set_state((struct agw_device *)dev, AGW_STATE_ERROR, m->reason);
        schedule_retry(dev);
    } else {
        monotonic_now(&dev->retry_at); /* opened at once */
    }
}

static void try_open(struct device *dev)
{
    char err[256] = "";
    dev->tr.ops = transport_ops_for(dev->transport_kind);
    if (!dev->tr.ops) {
        host_set_state((struct agw_device *)dev, AGW_STATE_ERROR, "transport not supported by this gateway");
        schedule_retry(dev);
        return;
    }
    int r = device_parent_keeps_state && dev->tr.ops->adopt
                ? open_through_parent(dev, err, sizeof(err))
                : dev->tr.ops->open(&dev->tr, dev->path, dev->baud, err, sizeof(err));
    if (r == 1)
        return;
    if (r < 0) {
        host_set_state((struct agw_device *)dev, AGW_STATE_ERROR, err);
        schedule_retry(dev);
        return;
    }
    dev->in_open = true;
    dev->state_set = false;
    dev->lost = false;
    device_set_timer(dev, 0);
    CALL_PLUGIN(dev, "open()", r = dev->plugin->open((struct agw_device *)dev));
    dev->in_open = false;
    if (r < 0 || dev->lost) {
        snprintf(err, sizeof(err), "plugin %s could not open the device: %s", dev->plugin->id,
                 strerror(r < 0 ? -r : ENODEV));
        if (r >= 0)
            CALL_PLUGIN(dev, "close()", dev->plugin->close((struct agw_device *)dev));
        dev->tr.ops->close(&dev->tr);
        /* the plugin's own reason (a bad config value, say) says more than errno */
        if (!(dev->state_set && dev->state == AGW_STATE_ERROR))
            host_set_state((struct agw_device *)dev, AGW_STATE_ERROR, err);
        schedule_retry(dev);
        return;
    }
    dev->opened = true;
    dev->backoff_ms = 0;
    if (!dev->state_set)
        host_set_state((struct agw_device *)dev, AGW_STATE_UP, "");
    if (dev->tr.ops->link_up) { /* tell the plugin where the link stands */
        bool up = dev->tr.ops->link_up(&dev->tr);
        sink_link(dev, up, up ? "connected" : "not connected");
    }
}

static void close_device(struct device *dev, bool removed)
{
    if (!dev->opened)
        return;
    if (removed && dev->plugin->removed)
        CALL_PLUGIN(dev, "removed()", dev->plugin->removed((struct agw_device *)dev));
    CALL_PLUGIN(dev, "close()", dev->plugin->close((struct agw_device *)dev));
    dev->tr.ops->close(&dev->tr);
    dev->opened = false;
    device_set_timer(dev, 0);
}

static void handle_lost(struct device *dev)
{
    char why[DEVICE_REASON_MAX] = "device stopped answering or was unplugged";
    const char *own = dev->opened && dev->tr.ops->lost_reason ? dev->tr.ops->lost_reason(&dev->tr) : NULL;
    if (own)
        snprintf(why, sizeof(why), "%s", own);
    close_device(dev, true);
    dev->lost = false;
    host_set_state((struct agw_device *)dev, AGW_STATE_ERROR, why);
    schedule_retry(dev);
}

static void run_command(struct device *dev, struct in_mail *m)
{
    json_t *result = NULL;
    int status;
    if (!dev->opened) {
        char reason[DEVICE_REASON_MAX + DEVICE_ID_MAX + 32];
        snprintf(reason, sizeof(reason), "device %s is not up: %s", dev->id, dev->reason);
        result = json_pack("{s:s}", "message", reason);
        status = AGW_CMD_DEVICE_ERROR;
    } else if (!dev->plugin->command) {
        status = AGW_CMD_UNKNOWN_VERB;
    } else {
        dev->input_time.tv_sec = 0;
        CALL_PLUGIN(dev, "command()",
                    status = dev->plugin->command((struct agw_device *)dev, m->target, m->verb,
                                                  m->args, &result));
        if (status > 0 || status < AGW_CMD_UNSUPPORTED)
            status = AGW_CMD_DEVICE_ERROR;
    }
    if (status != AGW_CMD_OK && !json_is_string(json_object_get(result, "message"))) {
        char msg[DEVICE_ID_MAX + 160];
        snprintf(msg, sizeof(msg), "device %s: %.64s.%.64s: %s", dev->id,
                 dev->plugin->device_class, m->verb,
                 status == AGW_CMD_UNKNOWN_VERB ? "no such verb" : device_status_code(status));
        json_decref(result);
        result = json_pack("{s:s}", "message", msg);
    }
    post_reply(dev, m->route, status, result);
    m->route = NULL;
}

void free_in_mail(struct device *dev, struct in_mail *m)
{
    if (m->kind == IN_FD && m->fd >= 0)
        close(m->fd);
    if (m->route) /* a command that never ran still gets its answer */
        post_reply(dev, m->route, AGW_CMD_DEVICE_ERROR,
                   json_pack("{s:s}", "message", "device is being removed"));
    free(m->verb);
    json_decref(m->args);
    free(m);
}

static void handle_inbox(struct device *dev, bool *removed)
{
    struct mail *all = mailbox_take_all(&dev->inbox);
    while (all) {
        struct in_mail *m = (struct in_mail *)all;
        all = all->next;
        if (m->kind == IN_STOP) {
            dev->stop = true;
            *removed = *removed || m->removed;
        } else if (m->kind == IN_FD) {
            take_handed_fd(dev, m);
        } else if (!dev->stop) {
            run_command(dev, m);
        }
        free_in_mail(dev, m);
    }
}

static int next_timeout(struct device *dev)
{
    long t = -1;
    if (!dev->opened)
        t = ms_until(&dev->retry_at);
    else if (dev->timer_ms && !dev->shared_timer)
        t = ms_until(&dev->next_timer);
    return t > 60000 ? 60000 : (int)t;
}

static void deliver_input(struct device *dev, const uint8_t *buf, ssize_t n)
{
    if (n > 0) {
        clock_now(&dev->input_time);
        CALL_PLUGIN(dev, "on_input()", dev->plugin->on_input((struct agw_device *)dev, buf, (size_t)n));
        dev->input_time.tv_sec = 0;
    } else if (n == -ENODEV) {
        dev->lost = true;
    }
}

/* Event-driven transports: dispatch what waits (sd-bus may hold messages it
 * already read while answering a call, so this runs before and after polling). */
static void process_events(struct device *dev)
{
    struct transport_sink sink = {dev, sink_notify, sink_link};
    if (dev->opened && dev->tr.ops->process && dev->tr.ops->process(&dev->tr, &sink) == -ENODEV)
        dev->lost = true;
}

/* The only place a worker waits: the shared timer thread may call the plugin
 * meanwhile (busy is free only here). */
static int wait_in_poll(struct device *dev, struct pollfd *p, nfds_t n, int timeout)
{
    pthread_mutex_unlock(&dev->busy);
    int r = poll(p, n, timeout);
    pthread_mutex_lock(&dev->busy);
    return r;
}

/* Waits for input, mail or the next timer, and hands input to the plugin. */
static void wait_for_work(struct device *dev, int timeout)
{
    uint8_t buf[INPUT_BUFFER];
    if (dev->opened && dev->tr.ops->process) {
        process_events(dev);
        struct pollfd p[2] = {{.fd = dev->inbox.fd, .events = POLLIN},
                              {.fd = dev->tr.ops->pollfd(&dev->tr), .events = POLLIN}};
        mailbox_flush(dev->outbox); /* what this turn published goes before the wait */
        wait_in_poll(dev, p, 2, timeout);
        process_events(dev);
        return;
    }
    bool wants_input = dev->opened && dev->plugin->on_input;
    int fd = wants_input ? dev->tr.ops->pollfd(&dev->tr) : -1;
    mailbox_flush(dev->outbox);
    if (wants_input && fd < 0 && dev->tr.ops != &transport_none_ops) {
        int slice = (timeout < 0 || timeout > USB_POLL_MS) ? USB_POLL_MS : timeout;
        deliver_input(dev, buf, dev->tr.ops->read(&dev->tr, buf, sizeof(buf), slice));
        return;
    }
    struct pollfd p[2] = {{.fd = dev->inbox.fd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int n = wait_in_poll(dev, p, fd >= 0 ? 2 : 1, timeout);
    if (n > 0 && fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
        deliver_input(dev, buf, dev->tr.ops->read(&dev->tr, buf, sizeof(buf), 0));
}

static void call_on_timer(struct device *dev)
{
    dev->input_time.tv_sec = 0;
    CALL_PLUGIN(dev, "on_timer()", dev->plugin->on_timer((struct agw_device *)dev));
}

static void run_timer_if_due(struct device *dev)
{
    if (dev->shared_timer) { /* the shared thread found this worker busy */
        if (atomic_exchange(&dev->timer_pending, false) && dev->opened && dev->plugin->on_timer)
            call_on_timer(dev);
        return;
    }
    if (!dev->opened || !dev->timer_ms || !dev->plugin->on_timer || ms_until(&dev->next_timer) > 0)
        return;
    monotonic_now(&dev->next_timer);
    add_ms(&dev->next_timer, dev->timer_ms);
    call_on_timer(dev);
}

/* On the shared timer thread: the device's on_timer, if its worker waits in
 * poll (then busy is free); else the worker runs it when it is done. */
static void fire_shared_timer(struct device *dev)
{
    if (pthread_mutex_trylock(&dev->busy) != 0) {
        atomic_store(&dev->timer_pending, true);
        mailbox_wake(&dev->inbox);
        return;
    }
    if (dev->opened && !dev->stop && dev->plugin->on_timer) {
        host_api_enter_worker(dev); /* its events, as if on its own thread */
        call_on_timer(dev);
        host_api_enter_worker(NULL);
        if (dev->lost || dev->republish_state) /* the worker's to handle */
            mailbox_wake(&dev->inbox);
    }
    pthread_mutex_unlock(&dev->busy);
}

/* What a batch's timers published leaves in pieces of this many devices' events,
 * and after each piece this thread steps aside (sched_yield): the reader it just
 * woke (accessgwd, a local socket's "sync" wake-up) is often queued on this very
 * CPU, and would otherwise wait until the whole batch is made.  Measured with a
 * thousand timers due together on 2 vCPUs (bench/RUNLOG.md): without the yield,
 * p99 3.7-7.6 ms; with it, pieces of 64: 1.4-3.9 ms, of 32: 1.2-2.4 ms.
 * With a CPU to spare the yield returns at once. */
#define TIMERS_PER_FLUSH 32

void *shared_timers_main(void *arg)
{
    (void)arg;
    struct device **batch = NULL;
    size_t cap = 0;
    pthread_setname_np(pthread_self(), "timers");
    for (;;) {
        size_t n = wheel_wait_due(&batch, &cap);
        struct mailbox *outbox = NULL;
        for (size_t i = 0; i < n; i++) {
            if (outbox && (outbox != batch[i]->outbox || i % TIMERS_PER_FLUSH == 0)) {
                mailbox_flush(outbox);
                sched_yield();
            }
            outbox = batch[i]->outbox;
            fire_shared_timer(batch[i]);
        }
        if (outbox) /* the whole batch's events in as few sends as the link allows */
            mailbox_flush(outbox);
        wheel_batch_done(batch, n);
    }
    return NULL;
}

void *worker_main(void *arg)
{
    struct device *dev = arg;
    bool removed = false;
    char name[16];
    host_api_enter_worker(dev);
    pthread_mutex_lock(&dev->busy); /* free only while it waits (wait_in_poll) */
    snprintf(name, sizeof(name), "dev:%.11s", dev->id);
    pthread_setname_np(pthread_self(), name); /* prctl on itself: no /proc file to open */
    monotonic_now(&dev->retry_at);
    while (!dev->stop) {
        if (!dev->opened && ms_until(&dev->retry_at) == 0)
            try_open(dev);
        republish_state_if_due(dev);
        wait_for_work(dev, next_timeout(dev));
        handle_inbox(dev, &removed);
        if (dev->stop)
            break;
        if (dev->lost)
            handle_lost(dev);
        run_timer_if_due(dev);
        if (dev->lost)
            handle_lost(dev);
    }
    close_device(dev, removed);
    pthread_mutex_unlock(&dev->busy);
    device_forget_timer(dev); /* after this, only the thread that frees it holds it */
    struct out_mail *m = out_new(dev, OUT_EXITED);
    if (m)
        mailbox_post(dev->outbox, &m->link);
    return NULL;
}


static void plugin_enter(struct device *dev, const char *callback)
{
    pthread_mutex_lock(&dev->lock);
    dev->in_callback = callback;
    dev->in_callback_since_ms = monotonic_ms();
    pthread_mutex_unlock(&dev->lock);
}

/* Back from the plugin: a hang that was reported is said to be over, and the
 * state the plugin had set comes back (unless it set a new one meanwhile);
 * it is published once, by whichever comes first: the next set_state or the
 * worker loop. */
static void plugin_leave(struct device *dev)
{
    pthread_mutex_lock(&dev->lock);
    bool was_reported = dev->hang_reported;
    long long took = monotonic_ms() - dev->in_callback_since_ms;
    const char *callback = dev->in_callback;
    dev->in_callback_since_ms = 0;
    dev->hang_reported = false;
    if (was_reported && strncmp(dev->reason, "plugin hung in ", 15) == 0) {
        dev->state = dev->state_before_hang;
        snprintf(dev->reason, sizeof(dev->reason), "%s", dev->reason_before_hang);
    }
    pthread_mutex_unlock(&dev->lock);
    if (was_reported) {
        log_warn("device %s: plugin %s returned from %s after %lld ms", dev->id, dev->plugin->id,
                 callback, took);
        dev->republish_state = true; /* by the worker loop, unless a set_state says it first */
    }
}

static void republish_state_if_due(struct device *dev)
{
    if (dev->republish_state) {
        dev->republish_state = false;
        publish_state(dev, true);
    }
}

bool device_check_hung(struct device *dev, unsigned limit_ms)
{
    pthread_mutex_lock(&dev->lock);
    long long since = dev->in_callback_since_ms;
    bool hung = since && !dev->hang_reported && monotonic_ms() - since > limit_ms;
    if (hung) {
        dev->hang_reported = true;
        dev->state_before_hang = dev->state;
        snprintf(dev->reason_before_hang, sizeof(dev->reason_before_hang), "%s", dev->reason);
        dev->state = AGW_STATE_ERROR;
        snprintf(dev->reason, sizeof(dev->reason), "plugin hung in %s for more than %u ms",
                 dev->in_callback, limit_ms);
    }
    pthread_mutex_unlock(&dev->lock);
    if (hung) {
        log_err("device %s: plugin %s hung in %s for more than %u ms; the device is reported "
                "down until it returns", dev->id, dev->plugin->id, dev->in_callback, limit_ms);
        publish_state(dev, false);
    }
    return hung;
}
