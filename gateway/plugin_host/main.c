/*
 * accessgw-plugin-host: one plugin's devices in a process of their own
 * (docs/PROCESSES.md).  accessgwd starts one per plugin in use, with the
 * socket on fd 3; this process loads the plugin, runs each device on its
 * worker thread exactly as accessgwd would in one process (gateway/device/),
 * and carries what the workers post to accessgwd over the plugin link
 * (gateway/common/plink.h).  It holds no ZeroMQ socket and no key: a plugin
 * that crashes here takes only its own devices down, and accessgwd starts it
 * again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "loader.h"
#include "log.h"
#include "mailbox.h"
#include "monotonic.h"
#include "plink.h"
#include "sandbox.h"
#include "table.h"
#include "transport.h"

#define LINK_FD 3
#define STOP_GRACE_MS 5000

struct host {
    const struct agw_plugin *plugin;
    struct mailbox outbox;
    struct device_table devices;
    unsigned hang_ms;
    /* The link's write side and the device list, shared by this thread and the
     * workers that put their mail on the link themselves (take_now).  Recursive:
     * this thread may post (the hang watch) while it holds it. */
    pthread_mutex_t lock;
    struct plink_writer w;
    uint8_t out[PLINK_RECORD_MAX];
    uint8_t in[PLINK_RECORD_MAX];
    bool parent_gone;
};

/* ---- to accessgwd ---- */

static void flush_link(struct host *h)
{
    if (h->w.len == 0 || h->parent_gone)
        return;
    /* Blocking on purpose: when accessgwd is slower than the devices, this thread waits,
     * the outbox fills and the workers wait (device.c's backpressure), nothing is lost. */
    while (send(LINK_FD, h->out, h->w.len, MSG_NOSIGNAL) < 0) {
        if (errno == EINTR)
            continue;
        log_err("plugin %s: the link to accessgwd is gone (%s); stopping", h->plugin->id,
                strerror(errno));
        h->parent_gone = true;
        break;
    }
    if (h->plugin->personal) /* sent: the unmasked data stays nowhere in this process */
        explicit_bzero(h->out, h->w.len);
    h->w.len = 0;
}

/* put: one plink_put_* bound to its arguments; retried in an empty record. */
#define SEND(h, put)                                                      \
    ({                                                                    \
        bool ok_ = (put);                                                 \
        if (!ok_ && (h)->w.len > 0) {                                     \
            flush_link(h);                                                \
            ok_ = (put);                                                  \
        }                                                                 \
        if ((h)->w.len >= PLINK_BATCH_BYTES)                              \
            flush_link(h);                                                \
        ok_;                                                              \
    })

static void send_snapshot(struct host *h, struct device *dev)
{
    enum agw_state state;
    char reason[DEVICE_REASON_MAX];
    device_get_state(dev, &state, reason, sizeof(reason));
    json_t *info = device_get_info(dev), *children = device_children(dev);
    char *info_json = json_dumps(info, JSON_COMPACT), *children_json = json_dumps(children, JSON_COMPACT);
    if (!SEND(h, plink_put_snapshot(&h->w, dev->id, (int32_t)state, reason, info_json, children_json)))
        log_err("device %s: its info is too large for the link; not sent", dev->id);
    free(info_json);
    free(children_json);
    json_decref(info);
    json_decref(children);
}

static void send_event(struct host *h, struct out_mail *m)
{
    const char *text = m->data_json;
    if (!text ||
        !SEND(h, plink_put_event(&h->w, m->device, m->cls, m->event, m->personal != NULL,
                                 (int64_t)m->time.tv_sec, (uint32_t)m->time.tv_nsec, text)))
        log_err("device %s: event %s/%s of %zu bytes is larger than the link carries "
                "(%d bytes); dropped", m->device, m->cls, m->event, text ? strlen(text) : 0,
                PLINK_RECORD_MAX);
}

static void send_reply(struct host *h, struct out_mail *m)
{
    char *text = m->data ? json_dumps(m->data, JSON_COMPACT) : NULL;
    uint64_t token = (uint64_t)(uintptr_t)m->route;
    if (!SEND(h, plink_put_reply(&h->w, m->device, token, m->status, text)))
        SEND(h, plink_put_reply(&h->w, m->device, token, AGW_CMD_DEVICE_ERROR,
                                "{\"message\":\"the device's answer is too large to carry\"}"));
    free(text);
}

static void forget_device(struct host *h, struct device *dev)
{
    device_table_remove(&h->devices, dev);
    device_free(dev);
}

/* One mail from a device onto the link, then freed. */
static void carry(struct host *h, struct out_mail *m)
{
    struct device *dev = device_table_find(&h->devices, m->device);
    switch (m->kind) {
    case OUT_EVENT: send_event(h, m); break;
    case OUT_REPLY: send_reply(h, m); break;
    case OUT_OPEN: SEND(h, plink_put_open(&h->w, m->device)); break;
    case OUT_SAVE:
        if (!SEND(h, plink_put_save(&h->w, m->device, m->data_json)) && dev)
            device_saved(dev, EMSGSIZE);
        break;
    case OUT_DEGRADED: break; /* only where devices write their own state */
    case OUT_CHANGED:
        if (dev)
            send_snapshot(h, dev);
        break;
    case OUT_EXITED:
        if (dev)
            forget_device(h, dev);
        SEND(h, plink_put_exited(&h->w, m->device));
        break;
    }
    out_mail_free(m); /* sent: nothing personal stays behind in this process */
}

/* On the worker's thread: its mail goes into the link's batch without waking
 * this process's main thread (one hand-off less per event), and the batch is
 * sent when it is full or the worker is about to block (flush_now), so a burst
 * of events costs one send.  A device's last mail, OUT_EXITED, is queued: only
 * the main thread may free the device. */
static bool take_now(void *ctx, struct mail *mail)
{
    struct host *h = ctx;
    struct out_mail *m = (struct out_mail *)mail;
    if (m->kind == OUT_EXITED)
        return false;
    pthread_mutex_lock(&h->lock);
    carry(h, m);
    pthread_mutex_unlock(&h->lock);
    return true;
}

static void flush_now(void *ctx)
{
    struct host *h = ctx;
    pthread_mutex_lock(&h->lock);
    flush_link(h);
    pthread_mutex_unlock(&h->lock);
}

static void drain_outbox(struct host *h)
{
    for (struct mail *all = mailbox_take_all(&h->outbox); all;) {
        struct out_mail *m = (struct out_mail *)all;
        all = all->next;
        carry(h, m);
    }
    flush_link(h);
}

/* A worker stuck in the plugin cannot say so; this thread does, as accessgwd's main
 * loop does for devices it runs itself, at each TICK accessgwd sends (about once a
 * second).  This process has no timer of its own: an idle host sleeps until then, and
 * reading the TICK is how accessgwd knows this loop still turns. */
static void report_hung_devices(struct host *h)
{
    log_flush_suppressed();
    if (device_table_check_hung(&h->devices, h->hang_ms)) /* into the link's batch (take_now) */
        flush_link(h);
}

/* ---- from accessgwd ---- */

static void attach(struct host *h, const struct plink_attach *a)
{
    if (device_table_find(&h->devices, a->id)) {
        log_err("device %s: attached twice; the second is ignored", a->id);
        return;
    }
    struct device_setting *settings = calloc(a->n_settings + 1u, sizeof(*settings));
    if (!settings) {
        free(settings);
        log_err("device %s: out of memory", a->id);
        return;
    }
    for (unsigned i = 0; i < a->n_settings; i++)
        settings[i] = (struct device_setting){(char *)a->settings[i].key,
                                              (char *)a->settings[i].value,
                                              a->settings[i].where[0] ? (char *)a->settings[i].where
                                                                      : NULL};
    struct device_params p = {a->id, h->plugin, (enum agw_transport)a->transport,
                              a->path[0] ? a->path : NULL, a->baud,
                              a->location[0] ? a->location : NULL,
                              a->syspath[0] ? a->syspath : NULL, settings, a->n_settings,
                              a->state};
    struct device *dev = device_new(&p, &h->outbox);
    free(settings);
    if (!dev)
        return;
    if (!device_table_add(&h->devices, dev)) {
        log_err("device %s: out of memory", a->id);
        device_free(dev);
        SEND(h, plink_put_exited(&h->w, a->id));
        return;
    }
    if (device_start(dev) < 0) {
        forget_device(h, dev);
        SEND(h, plink_put_exited(&h->w, a->id));
    }
}

static void command(struct host *h, const struct plink_msg *m)
{
    struct device *dev = device_table_find(&h->devices, m->device);
    json_t *args = m->json[0] ? json_loads(m->json, 0, NULL) : NULL;
    if (!dev || dev->retiring) {
        json_decref(args);
        SEND(h, plink_put_reply(&h->w, m->device, m->token, AGW_CMD_BUSY,
                                "{\"message\":\"the device is stopping\"}"));
        return;
    }
    device_post_command(dev, m->s1, strdup(m->s2), args, (void *)(uintptr_t)m->token);
}

/* accessgwd's answer to OPEN: the node goes to its device's worker. */
static void hand_over(struct host *h, const struct plink_msg *m, int *fd)
{
    struct device *dev = device_table_find(&h->devices, m->device);
    if (!dev || dev->retiring)
        return;
    if (m->status == 0 && *fd < 0) {
        device_hand_fd(dev, -1, "accessgwd opened the node but it did not arrive");
        return;
    }
    device_hand_fd(dev, m->status == 0 ? *fd : -1, m->s1);
    if (m->status == 0)
        *fd = -1;
}

/* One record; *fd: a descriptor that came with it (SCM_RIGHTS), else -1. */
static ssize_t receive(struct host *h, int *fd)
{
    union {
        char bytes[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {h->in, sizeof(h->in)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes,
                         .msg_controllen = sizeof(control.bytes)};
    *fd = -1;
    ssize_t n = recvmsg(LINK_FD, &msg, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
    struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(sizeof(int)))
        memcpy(fd, CMSG_DATA(c), sizeof(int));
    return n;
}

static void read_link(struct host *h)
{
    int fd;
    ssize_t n = receive(h, &fd);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0 || (size_t)n > sizeof(h->in)) {
        h->parent_gone = true; /* accessgwd stopped (or sent what it never sends) */
        if (fd >= 0)
            close(fd);
        return;
    }
    static struct plink_attach attach_storage;
    struct plink_msg m;
    char err[160];
    size_t off = 0;
    int r;
    while ((r = plink_next(h->in, (size_t)n, &off, &m, &attach_storage, err, sizeof(err))) > 0) {
        if (m.type == PLINK_ATTACH) {
            attach(h, m.attach);
        } else if (m.type == PLINK_DETACH) {
            struct device *dev = device_table_find(&h->devices, m.device);
            if (dev && !dev->retiring)
                device_request_stop(dev, m.flag);
        } else if (m.type == PLINK_COMMAND) {
            command(h, &m);
        } else if (m.type == PLINK_TICK) {
            report_hung_devices(h);
        } else if (m.type == PLINK_FD) {
            hand_over(h, &m, &fd);
        } else if (m.type == PLINK_SAVED) {
            struct device *dev = device_table_find(&h->devices, m.device);
            if (dev)
                device_saved(dev, m.status);
        }
    }
    if (fd >= 0) /* no device took it */
        close(fd);
    if (r < 0)
        log_err("plugin %s: a message from accessgwd is malformed (%s); ignored", h->plugin->id, err);
    flush_link(h);
}

/* ---- start and stop ---- */

static void stop_all(struct host *h)
{
    for (size_t i = 0; i < h->devices.n; i++)
        if (!h->devices.items[i]->retiring)
            device_request_stop(h->devices.items[i], false);
    long long give_up = monotonic_ms() + STOP_GRACE_MS;
    while (h->devices.n > 0 && monotonic_ms() < give_up) {
        struct pollfd p = {h->outbox.fd, POLLIN, 0};
        poll(&p, 1, 100); /* never holding the lock: the workers' last mail needs it */
        pthread_mutex_lock(&h->lock);
        drain_outbox(h);
        pthread_mutex_unlock(&h->lock);
    }
}

static int run(struct host *h)
{
    while (!h->parent_gone) {
        struct pollfd p[2] = {{LINK_FD, POLLIN, 0}, {h->outbox.fd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR) {
            log_err("poll: %s", strerror(errno));
            return 1;
        }
        pthread_mutex_lock(&h->lock);
        if (p[1].revents)
            drain_outbox(h);
        if (p[0].revents)
            read_link(h);
        pthread_mutex_unlock(&h->lock);
    }
    stop_all(h);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: accessgw-plugin-host --plugin FILE.so [--read DIR]... "
                    "[--log-level N] [--hang-ms N] [--state-dir DIR]\n"
                    "(started by accessgwd with its link on fd 3; not run by hand)\n");
}

#define MAX_READ_DIRS 64

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"plugin", required_argument, NULL, 'p'},
        {"read", required_argument, NULL, 'r'},
        {"log-level", required_argument, NULL, 'l'},
        {"hang-ms", required_argument, NULL, 'H'},
        {"state-dir", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    const char *plugin_path = NULL, *reads[MAX_READ_DIRS];
    struct sandbox_needs needs = {.read = reads};
    int level = 6, c;
    unsigned hang_ms = 5000;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': plugin_path = optarg; break;
        case 'r':
            if (needs.n_read < MAX_READ_DIRS)
                reads[needs.n_read++] = optarg;
            break;
        case 'l': level = atoi(optarg); break;
        case 'H': hang_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case 's': device_set_state_dir(optarg); break; /* what state_dir() answers, only */
        default: usage(); return 2;
        }
    }
    if (!plugin_path || optind < argc) {
        usage();
        return 2;
    }
    log_init("accessgw-plugin-host");
    abi1_use_calls(&abi1_device_calls);
    log_set_level(level);
    signal(SIGPIPE, SIG_IGN);
    /* A stop from a terminal (SIGINT) or systemd (SIGTERM to the whole cgroup) reaches
     * this process too: accessgwd stops the devices in order and then closes the link,
     * which is when this process ends (and SIGKILL, should accessgwd die). */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    tzset(); /* /etc/localtime is out of reach once sandboxed */
    static struct host h;
    struct plugin_set set = {0};
    if (plugin_set_load_file(&set, plugin_path) < 0 || mailbox_init(&h.outbox) < 0)
        return 1;
    h.plugin = set.items[0].desc;
    pthread_mutexattr_t recursive;
    pthread_mutexattr_init(&recursive);
    pthread_mutexattr_settype(&recursive, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&h.lock, &recursive);
    pthread_mutexattr_destroy(&recursive);
    h.outbox.take_now = take_now;
    h.outbox.flush_now = flush_now;
    h.outbox.take_now_ctx = &h;
    h.hang_ms = hang_ms;
    plink_writer_init(&h.w, h.out, sizeof(h.out));
    device_use_parent(); /* nodes opened and state written by accessgwd */
    needs.usb = (h.plugin->transports & AGW_TRANSPORT_BIT(AGW_TRANSPORT_USB)) != 0;
    needs.bluez = (h.plugin->transports & AGW_TRANSPORT_BIT(AGW_TRANSPORT_BLUEZ)) != 0;
    needs.pcsc = (h.plugin->transports & AGW_TRANSPORT_BIT(AGW_TRANSPORT_PCSC)) != 0;
    needs.sound = AGW_PLUGIN_HAS(h.plugin, resources) &&
                  (h.plugin->resources & AGW_RESOURCE_SOUND) != 0;
    /* A sound plugin plays through ALSA; libpulse, which espeak-ng's audio library loads
     * and probes, would otherwise try to start a sound server (a new process, which the
     * sandbox kills from a thread that blocks SIGSYS).  Named, it only fails to connect.
     * Set while this process still has one thread. */
    if (needs.sound)
        setenv("PULSE_SERVER", "unix:/nonexistent/accessgw-plays-through-alsa", 1);
    /* Sandboxed before libusb starts its event thread: Landlock holds only for
     * threads started after it, and one thread left outside would be a way out. */
    if (sandbox_enter(h.plugin->id, &needs) < 0 || transports_global_init(needs.usb) < 0)
        return 1;
    int rc = run(&h);
    device_table_free(&h.devices);
    transports_global_exit();
    mailbox_destroy(&h.outbox);
    plugin_set_free(&set);
    device_set_state_dir(NULL);
    return rc;
}
