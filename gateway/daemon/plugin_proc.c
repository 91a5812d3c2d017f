#define _GNU_SOURCE /* sigabbrev_np */
#include "plugin_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "config.h"
#include "envelope.h"
#include "json_check.h"
#include "log.h"
#include "monotonic.h"
#include "mask.h"
#include "plink.h"
#include "proc_internal.h"

int procs_init(struct plugin_procs *ps, const struct plugin_set *set, const struct proc_hooks *hooks,
               const char *state_dir, int log_level, unsigned hang_ms)
{
    memset(ps, 0, sizeof(*ps));
    ps->items = calloc(set->n ? set->n : 1, sizeof(*ps->items));
    ps->in = malloc(PLINK_RECORD_MAX);
    ps->out = malloc(PLINK_RECORD_MAX);
    ps->state_dir = strdup(state_dir);
    if (!ps->items || !ps->in || !ps->out || !ps->state_dir ||
        state_writer_start(&ps->saves, state_dir) < 0)
        return -1;
    ps->n = set->n;
    for (size_t i = 0; i < set->n; i++) {
        ps->items[i] = (struct plugin_proc){.plugin = &set->items[i], .sock = -1, .err_fd = -1};
        restart_init(&ps->items[i].restart);
    }
    ps->hooks = *hooks;
    ps->log_level = log_level;
    ps->hang_ms = hang_ms;
    /* beside accessgwd in a build tree, else where it is installed */
    child_program_path("accessgw-plugin-host", ps->program, sizeof(ps->program));
    if (access(ps->program, X_OK) != 0)
        snprintf(ps->program, sizeof(ps->program), "%s/accessgw-plugin-host", ACCESSGW_HELPER_DIR);
    return 0;
}

/* ---- mail for the gateway ---- */

/* ---- to a child ---- */

/* ---- a child's stderr: through accessgwd's log, never straight into it ---- */

/* ---- starting and losing a child ---- */

/* ---- what a plugin may read in its sandbox ---- */

static void start(struct plugin_procs *ps, struct plugin_proc *p)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        log_err("plugin %s: socketpair: %s", p->plugin->desc->id, strerror(errno));
        restart_schedule(&p->restart);
        return;
    }
    int err[2];
    if (pipe2(err, O_CLOEXEC) < 0) {
        log_err("plugin %s: pipe: %s", p->plugin->desc->id, strerror(errno));
        close(sv[0]);
        close(sv[1]);
        restart_schedule(&p->restart);
        return;
    }
    char level[16], hang[16];
    snprintf(level, sizeof(level), "%d", ps->log_level);
    snprintf(hang, sizeof(hang), "%u", ps->hang_ms);
    collect_reads(ps, p);
    char *argv[10 + 2 * PROC_READS_MAX] = {ps->program, "--plugin", p->plugin->path,
                                           "--log-level", level, "--hang-ms", hang,
                                           "--state-dir", ps->state_dir};
    for (size_t i = 0, k = 9; i < p->n_reads; i++) {
        argv[k++] = "--read";
        argv[k++] = p->reads[i];
    }
    pid_t pid = child_spawn(argv, sv[1], err[1], SIGKILL);
    close(sv[1]);
    close(err[1]);
    if (pid < 0) {
        log_err("plugin %s: fork: %s", p->plugin->desc->id, strerror(errno));
        close(sv[0]);
        close(err[0]);
        restart_schedule(&p->restart);
        return;
    }
    p->pid = pid;
    p->sock = sv[0];
    p->err_fd = err[0];
    fcntl(p->err_fd, F_SETFL, fcntl(p->err_fd, F_GETFL) | O_NONBLOCK);
    p->event_tokens = (double)ps->events_per_s * EVENT_BURST_S;
    p->tokens_at_ms = p->watched_ms = p->cpu_since_ms = monotonic_ms();
    p->cpu_ticks_since = 0;
    p->ticked_ms = monotonic_ms();
    p->unread_since_ms = 0;
    fcntl(p->sock, F_SETFL, fcntl(p->sock, F_GETFL) | O_NONBLOCK);
    restart_started(&p->restart);
    log_info("plugin %s runs in process %d", p->plugin->desc->id, (int)pid);
    size_t n;
    struct device **mine = devices_of(ps, p, &n);
    for (size_t i = 0; i < n; i++)
        if (!mine[i]->retiring)
            send_attach(ps, p, mine[i]);
    free(mine);
}

static void describe_end(int status, char *why, size_t len)
{
    if (WIFSIGNALED(status)) {
        const char *abbrev = sigabbrev_np(WTERMSIG(status));
        snprintf(why, len, "plugin crashed: SIG%s", abbrev ? abbrev : "?");
    } else if (WIFEXITED(status)) {
        snprintf(why, len, "plugin host exited with status %d", WEXITSTATUS(status));
    } else {
        snprintf(why, len, "plugin host ended");
    }
}

/* The child's end, however it came: its status when it has one (within a
 * moment of its socket closing), else it is killed. */
static int collect(struct plugin_proc *p, bool kill_now)
{
    if (kill_now)
        kill(p->pid, SIGKILL);
    return child_wait(p->pid, 500, NULL);
}

static void publish_lost(struct plugin_procs *ps, struct device *dev, const char *why)
{
    set_mirror_error(dev, why);
    struct out_mail *m = mail_for(dev->id, OUT_EVENT);
    if (!m)
        return;
    snprintf(m->cls, sizeof(m->cls), "device");
    snprintf(m->event, sizeof(m->event), "state");
    json_t *o = json_pack("{s:s, s:s}", "state", "error", "reason", why);
    m->data_json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    post_later(ps, m);
}

/* why: NULL when the child's exit status tells it. */
static void lose(struct plugin_procs *ps, struct plugin_proc *p, const char *why, int status)
{
    char reason[DEVICE_REASON_MAX];
    if (why)
        snprintf(reason, sizeof(reason), "%s", why);
    else
        describe_end(status, reason, sizeof(reason));
    close(p->sock);
    p->sock = -1;
    p->pid = 0;
    close_stderr(p);
    drop_queue(p);
    unsigned delay = restart_schedule(&p->restart);
    size_t n;
    struct device **mine = devices_of(ps, p, &n);
    log_err("plugin %s: %s; its %zu device(s) are down, starting it again in %u ms",
            p->plugin->desc->id, reason, n, delay);
    for (size_t i = 0; i < n; i++)
        if (mine[i]->retiring)
            post_later(ps, mail_for(mine[i]->id, OUT_EXITED));
        else
            publish_lost(ps, mine[i], reason);
    free(mine);
    for (size_t i = 0; i < p->n_pending; i++)
        post_later(ps, reply_mail(p->pending[i].device, p->pending[i].route, AGW_CMD_DEVICE_ERROR,
                                  reason));
    p->n_pending = 0;
}


static void tick(struct plugin_procs *ps, struct plugin_proc *p)
{
    long long now = monotonic_ms();
    if (reads_its_link(p))
        p->unread_since_ms = 0;
    else if (!p->unread_since_ms)
        p->unread_since_ms = p->ticked_ms; /* unread since the last tick at least */
    else if (now - p->unread_since_ms >= silence_limit_ms(ps)) {
        char why[96];
        snprintf(why, sizeof(why), "plugin host stopped answering for %u ms",
                 silence_limit_ms(ps));
        log_err("plugin %s (process %d): %s; killed", p->plugin->desc->id, (int)p->pid, why);
        lose(ps, p, why, collect(p, true));
        return;
    }
    uint8_t buf[16];
    struct plink_writer w;
    plink_writer_init(&w, buf, sizeof(buf));
    if (plink_put_tick(&w))
        send_record(p, w.buf, w.len);
    p->ticked_ms = now;
}

void procs_tick(struct plugin_procs *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        if (proc_running(&ps->items[i]))
            tick(ps, &ps->items[i]);
}


/* Once a second, beside its TICK: a host over its bounds is stopped, named and
 * started again with backoff, as for a flood on the link. */
static void watch_host(struct plugin_procs *ps, struct plugin_proc *p)
{
    if (!proc_running(p) || monotonic_ms() - p->watched_ms < 1000)
        return;
    p->watched_ms = monotonic_ms();
    char found[160], why[200];
    if (!over_bounds(ps, p, found, sizeof(found)))
        return;
    snprintf(why, sizeof(why), "plugin host stopped: it used %s", found);
    log_err("plugin %s (process %d): %s", p->plugin->desc->id, (int)p->pid, why);
    lose(ps, p, why, collect(p, true));
}

void procs_start_due(struct plugin_procs *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        struct plugin_proc *p = &ps->items[i];
        if (p->lines_dropped && monotonic_ms() - p->lines_since_ms >= HOST_LINES_WINDOW_MS)
            say_dropped_lines(p);
        watch_host(ps, p);
        if (proc_running(p) && monotonic_ms() - p->ticked_ms >= TICK_LATE_MS)
            tick(ps, p);
        if (p->wanted && !proc_running(p) && restart_ms_until(&p->restart) == 0)
            start(ps, p);
    }
}

long procs_ms_until_start(const struct plugin_procs *ps)
{
    long t = -1;
    for (size_t i = 0; i < ps->n; i++) {
        const struct plugin_proc *p = &ps->items[i];
        long late = (long)(p->ticked_ms + TICK_LATE_MS - monotonic_ms());
        long due = proc_running(p)  ? (late > 0 ? late : 0)
                   : p->wanted ? restart_ms_until(&p->restart)
                               : -1;
        if (due >= 0 && (t < 0 || due < t))
            t = due;
    }
    return t;
}

void procs_reap(struct plugin_procs *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        struct plugin_proc *p = &ps->items[i];
        int status;
        if (proc_running(p) && waitpid(p->pid, &status, WNOHANG) == p->pid)
            lose(ps, p, NULL, status);
    }
}

/* ---- the gateway's requests ---- */

void procs_attach(struct plugin_procs *ps, struct device *dev)
{
    struct plugin_proc *p = proc_of(ps, dev->plugin);
    if (!p)
        return;
    p->wanted = true;
    const char *path = proc_running(p) ? unreadable_setting(p, dev) : NULL;
    if (path) { /* its sandbox was drawn without it: drawn again, with every device */
        char why[DEVICE_ID_MAX + 128];
        snprintf(why, sizeof(why), "plugin host restarted to let device %s read %.64s", dev->id,
                 path);
        lose(ps, p, why, collect(p, true));
    } else if (proc_running(p)) {
        send_attach(ps, p, dev);
    }
    /* else the loop starts it at its next turn (or after the backoff), with every
     * device attached by then: one sandbox drawn for all of them */
}

void procs_detach(struct plugin_procs *ps, struct device *dev, bool removed)
{
    struct plugin_proc *p = proc_of(ps, dev->plugin);
    dev->retiring = true;
    if (!p || !proc_running(p)) {
        post_later(ps, mail_for(dev->id, OUT_EXITED));
        return;
    }
    uint8_t buf[256];
    struct plink_writer w;
    plink_writer_init(&w, buf, sizeof(buf));
    if (plink_put_detach(&w, dev->id, removed))
        send_record(p, w.buf, w.len);
}

void procs_command(struct plugin_procs *ps, struct device *dev, const char *target, char *verb,
                   json_t *args, void *route)
{
    struct plugin_proc *p = proc_of(ps, dev->plugin);
    if (p && p->wanted && !proc_running(p) && restart_ms_until(&p->restart) == 0)
        start(ps, p); /* due at the end of this turn of the loop: now, for this command */
    char *args_json = args ? json_dumps(args, JSON_COMPACT) : NULL;
    json_decref(args);
    bool room = p && p->n_pending < PENDING_MAX;
    if (room && p->n_pending == p->cap_pending) {
        size_t cap = p->cap_pending ? p->cap_pending * 2 : 16;
        struct pending_command *grown = realloc(p->pending, cap * sizeof(*grown));
        room = grown != NULL;
        if (grown) {
            p->pending = grown;
            p->cap_pending = cap;
        }
    }
    if (!p || !proc_running(p) || !room) {
        char msg[160];
        snprintf(msg, sizeof(msg), "plugin %s is restarting; try again in %ld ms",
                 dev->plugin->id, p && !proc_running(p) ? restart_ms_until(&p->restart) + 500 : 1000);
        post_later(ps, reply_mail(dev->id, route, AGW_CMD_BUSY, msg));
    } else {
        uint64_t token = ++ps->next_token;
        struct pending_command *c = &p->pending[p->n_pending++];
        c->token = token;
        c->route = route;
        snprintf(c->device, sizeof(c->device), "%s", dev->id);
        struct plink_writer w;
        plink_writer_init(&w, ps->out, PLINK_RECORD_MAX);
        if (plink_put_command(&w, dev->id, target, verb, token, args_json))
            send_record(p, w.buf, w.len);
    }
    free(args_json);
    free(verb);
}

/* ---- from a child: every field is checked, a child may be broken ---- */

/* false when the child is gone or was stopped for what it said */
static bool read_records(struct plugin_procs *ps, struct plugin_proc *p)
{
    /* What the host wrote to stderr before it sent these records is said first: the
     * log keeps the order in which things happened ("removed" before "detached"). */
    read_stderr(p, HOST_STDERR_PER_TURN);
    for (int k = 0; k < RECORDS_PER_TURN; k++) {
        ssize_t n = recv(p->sock, ps->in, PLINK_RECORD_MAX, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return true;
        if (n <= 0) {
            lose(ps, p, NULL, collect(p, false));
            return false;
        }
        char err[200], why[300];
        if (n > PLINK_RECORD_MAX) {
            snprintf(err, sizeof(err), "a record of %zd bytes (at most %d)", n, PLINK_RECORD_MAX);
        } else {
            struct plink_msg m;
            size_t off = 0;
            int r;
            const char *bad = NULL;
            while (!bad && (r = plink_next(ps->in, (size_t)n, &off, &m, NULL, err, sizeof(err))) > 0)
                bad = take_record(ps, p, &m);
            if (p->plugin->desc->personal) /* unmasked records stay nowhere once taken */
                explicit_bzero(ps->in, (size_t)n);
            if (!bad && r == 0)
                continue;
            if (bad)
                snprintf(err, sizeof(err), "%s (%.64s)", bad, m.device);
        }
        snprintf(why, sizeof(why), "plugin host stopped: it sent %s", err);
        log_err("plugin %s (process %d): %s", p->plugin->desc->id, (int)p->pid, why);
        lose(ps, p, why, collect(p, true));
        return false;
    }
    return true;
}

size_t procs_pollitems(struct plugin_procs *ps, zmq_pollitem_t *items, size_t max)
{
    size_t k = 0;
    if (k < max && ps->saves.written.fd >= 0)
        items[k++] = (zmq_pollitem_t){NULL, ps->saves.written.fd, ZMQ_POLLIN, 0};
    for (size_t i = 0; i < ps->n && k < max; i++) {
        struct plugin_proc *p = &ps->items[i];
        if (proc_running(p))
            items[k++] = (zmq_pollitem_t){NULL, p->sock,
                                          (short)(ZMQ_POLLIN | (p->queue ? ZMQ_POLLOUT : 0)), 0};
        if (p->err_fd >= 0 && k < max)
            items[k++] = (zmq_pollitem_t){NULL, p->err_fd, ZMQ_POLLIN, 0};
    }
    return k;
}

void procs_handle(struct plugin_procs *ps, const zmq_pollitem_t *items, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (!items[k].revents)
            continue;
        if (items[k].fd == ps->saves.written.fd) {
            answer_saves(ps);
            continue;
        }
        for (size_t i = 0; i < ps->n; i++) {
            struct plugin_proc *p = &ps->items[i];
            if (p->err_fd >= 0 && p->err_fd == items[k].fd) {
                read_stderr(p, HOST_STDERR_PER_TURN);
                break;
            }
            if (!proc_running(p) || p->sock != items[k].fd)
                continue;
            if ((items[k].revents & ZMQ_POLLIN || items[k].revents & ZMQ_POLLERR) &&
                !read_records(ps, p))
                break;
            if (items[k].revents & ZMQ_POLLOUT)
                flush_queue(p);
            break;
        }
    }
}

void procs_close(struct plugin_procs *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        struct plugin_proc *p = &ps->items[i];
        if (proc_running(p)) {
            close(p->sock); /* the child stops its devices and exits */
            p->sock = -1;
            int status = collect(p, false);
            close_stderr(p);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                char why[96];
                describe_end(status, why, sizeof(why));
                log_warn("plugin %s: %s while stopping", p->plugin->desc->id, why);
            }
        }
        drop_queue(p);
        forget_reads(p);
        free(p->pending);
    }
    state_writer_stop(&ps->saves); /* the last saves are on disk before accessgwd exits */
    answer_saves(ps);               /* (their hosts are gone: only failures are said) */
    state_writer_free(&ps->saves);
    free(ps->items);
    free(ps->in);
    free(ps->out);
    free(ps->state_dir);
    memset(ps, 0, sizeof(*ps));
}
