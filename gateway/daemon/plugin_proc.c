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

/* Records read from one child per turn of the loop: one flooding family
 * cannot starve the others or the control socket. */
#define RECORDS_PER_TURN 32
/* A child's commands that may wait unanswered: more is a child not reading. */
#define PENDING_MAX 4096
/* Nodes opened for one device of a child that has not taken them: more is a child
 * asking without reading (each is an fd accessgwd holds).  Per device, not per host:
 * a host attaching a thousand devices has a node in flight for each, legitimately. */
#define QUEUED_FDS_PER_DEVICE 2
/* SAVE requests a second: each is an fsync on accessgwd's loop; a plugin saves once per
 * call, press or invitation. */
#define SAVES_PER_SECOND_MAX 200
/* Lines of a plugin host's stderr said per window, whatever they are about: beyond
 * each subject's own limit (log.c), one plugin cannot fill the service's log. */
#define HOST_LINES_PER_WINDOW 200
#define HOST_LINES_WINDOW_MS 10000
/* Events a plugin host may publish at once beyond its rate: two seconds' worth. */
#define EVENT_BURST_S 2
/* What a plugin host may hold, looked at once a second: threads (a worker per device
 * and the host's own few), resident memory, and CPU over a window (a plugin that
 * spins a core says nothing to the hang watch: its callbacks may all return). */
#define HOST_THREADS_BASE 32
#define HOST_THREADS_PER_DEVICE 2
#if defined(__SANITIZE_ADDRESS__)
#define HOST_RSS_BASE_MIB 768 /* AddressSanitizer's shadow and quarantine (256 MiB) */
#else
#define HOST_RSS_BASE_MIB 256
#endif
#define HOST_RSS_PER_DEVICE_KIB 512
#define HOST_CPU_WINDOW_MS 5000
#define HOST_CPU_MAX_PERCENT 90
/* Bytes of a host's stderr read per turn of the loop, and when it ends. */
#define HOST_STDERR_PER_TURN 16384
#define HOST_STDERR_AT_END 65536

int procs_init(struct plugin_procs *ps, const struct plugin_set *set, const struct proc_hooks *hooks,
               const char *state_dir, int log_level, unsigned hang_ms)
{
    memset(ps, 0, sizeof(*ps));
    ps->items = calloc(set->n ? set->n : 1, sizeof(*ps->items));
    ps->in = malloc(PLINK_RECORD_MAX);
    ps->out = malloc(PLINK_RECORD_MAX);
    ps->state_dir = strdup(state_dir);
    if (!ps->items || !ps->in || !ps->out || !ps->state_dir)
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

static struct plugin_proc *proc_of(struct plugin_procs *ps, const struct agw_plugin *desc)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->items[i].plugin->desc == desc)
            return &ps->items[i];
    return NULL;
}

static bool running(const struct plugin_proc *p) { return p->sock >= 0; }

/* ---- mail for the gateway ---- */

static struct out_mail *mail_for(const char *device, enum out_kind kind)
{
    struct out_mail *m = calloc(1, sizeof(*m));
    if (m) {
        m->kind = kind;
        snprintf(m->device, sizeof(m->device), "%s", device);
        clock_now(&m->time);
    }
    return m;
}

static void post_later(struct plugin_procs *ps, struct out_mail *m)
{
    if (m)
        mailbox_post(ps->hooks.outbox, &m->link);
}

static struct out_mail *reply_mail(const char *device, void *route, int status, const char *message)
{
    struct out_mail *m = mail_for(device, OUT_REPLY);
    if (m) {
        m->route = route;
        m->status = status;
        m->data = json_pack("{s:s}", "message", message);
    }
    return m;
}

/* ---- to a child ---- */

/* One record, with fd (a device node) in SCM_RIGHTS when it is not -1. */
static bool send_now(int sock, const uint8_t *buf, size_t len, int fd)
{
    struct iovec iov = {(void *)buf, len};
    union {
        char bytes[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        msg.msg_control = control.bytes;
        msg.msg_controllen = sizeof(control.bytes);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    return sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len;
}

/* Takes fd, device's node (closed once sent, or dropped). */
static void send_record_with(struct plugin_proc *p, const uint8_t *buf, size_t len, int fd,
                             const char *device)
{
    if (!running(p) || (!p->queue && send_now(p->sock, buf, len, fd))) {
        if (fd >= 0)
            close(fd);
        return;
    }
    /* The child is busy: the record waits (bounded: commands are, per device). */
    struct queued_record *q = malloc(sizeof(*q) + len);
    if (!q) {
        log_err("plugin %s: out of memory queueing for its host", p->plugin->desc->id);
        if (fd >= 0)
            close(fd);
        return;
    }
    q->next = NULL;
    q->len = len;
    q->fd = fd;
    snprintf(q->device, sizeof(q->device), "%s", device ? device : "");
    memcpy(q->bytes, buf, len);
    if (p->queue_tail)
        p->queue_tail->next = q;
    else
        p->queue = q;
    p->queue_tail = q;
}

static void send_record(struct plugin_proc *p, const uint8_t *buf, size_t len)
{
    send_record_with(p, buf, len, -1, NULL);
}

static void free_queued(struct queued_record *q)
{
    if (q->fd >= 0)
        close(q->fd);
    free(q);
}

static void flush_queue(struct plugin_proc *p)
{
    while (p->queue) {
        struct queued_record *q = p->queue;
        if (!send_now(p->sock, q->bytes, q->len, q->fd))
            return;
        p->queue = q->next;
        if (!p->queue)
            p->queue_tail = NULL;
        free_queued(q);
    }
}

static void drop_queue(struct plugin_proc *p)
{
    while (p->queue) {
        struct queued_record *q = p->queue;
        p->queue = q->next;
        free_queued(q);
    }
    p->queue_tail = NULL;
}

static unsigned queued_nodes_of(const struct plugin_proc *p, const char *device)
{
    unsigned n = 0;
    for (const struct queued_record *q = p->queue; q; q = q->next)
        n += q->fd >= 0 && strcmp(q->device, device) == 0;
    return n;
}

/* What the device saved last: accessgwd's copy (kept even when the disk
 * refused it), else its file, read once ("": none). */
static const char *saved_state_of(struct plugin_procs *ps, struct device *dev)
{
    if (!dev->saved_json) {
        json_t *state = device_state_read(ps->state_dir, dev->plugin->id, dev->id);
        dev->saved_json = state ? json_dumps(state, JSON_COMPACT) : strdup("");
        json_decref(state);
    }
    return dev->saved_json ? dev->saved_json : "";
}

static void send_attach(struct plugin_procs *ps, struct plugin_proc *p, struct device *dev)
{
    static struct plink_attach a;
    a = (struct plink_attach){.id = dev->id, .path = dev->path ? dev->path : "",
                              .location = dev->location ? dev->location : "",
                              .syspath = dev->syspath ? dev->syspath : "",
                              .state = saved_state_of(ps, dev),
                              .transport = (uint8_t)dev->transport_kind, .baud = dev->baud};
    for (size_t i = 0; i < dev->n_settings && a.n_settings < PLINK_MAX_SETTINGS; i++)
        a.settings[a.n_settings++] = (struct plink_setting){
            dev->settings[i].key, dev->settings[i].value,
            dev->settings[i].where ? dev->settings[i].where : ""};
    struct plink_writer w;
    plink_writer_init(&w, ps->out, PLINK_RECORD_MAX);
    if (dev->n_settings > PLINK_MAX_SETTINGS || !plink_put_attach(&w, &a)) {
        log_err("device %s: its settings are too many or too long to hand to its plugin host",
                dev->id);
        return;
    }
    send_record(p, w.buf, w.len);
}

/* ---- a child's stderr: through accessgwd's log, never straight into it ---- */

/* A line as the plugin host's log writes it ("accessgw-plugin-host: LEVEL: text",
 * or "<N>text") keeps its level; anything else a plugin printed is a warning,
 * marked as its raw stderr.  Either way it is said as the plugin's, never as
 * accessgwd's own. */
static int host_line_level(const char *line, const char **text)
{
    static const char *const names[8] = {"emerg", "alert", "crit", "error",
                                         "warning", "notice", "info", "debug"};
    static const char host[] = "accessgw-plugin-host: ";
    if (line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>') {
        *text = line + 3;
        return line[1] - '0';
    }
    if (strncmp(line, host, sizeof(host) - 1) == 0)
        for (int level = 0; level < 8; level++) {
            size_t n = strlen(names[level]);
            const char *at = line + sizeof(host) - 1;
            if (strncmp(at, names[level], n) == 0 && at[n] == ':' && at[n + 1] == ' ') {
                *text = at + n + 2;
                return level;
            }
        }
    *text = line;
    return -1;
}

static void say_dropped_lines(struct plugin_proc *p)
{
    if (p->lines_dropped)
        log_warn("plugin %s: %u more lines of its log suppressed in %d s", p->plugin->desc->id,
                 p->lines_dropped, HOST_LINES_WINDOW_MS / 1000);
    p->lines_dropped = 0;
}

static bool within_line_budget(struct plugin_proc *p)
{
    long long now = monotonic_ms();
    if (now - p->lines_since_ms >= HOST_LINES_WINDOW_MS) {
        say_dropped_lines(p);
        p->lines_since_ms = now;
        p->lines = 0;
    }
    if (p->lines < HOST_LINES_PER_WINDOW) {
        p->lines++;
        return true;
    }
    p->lines_dropped++;
    return false;
}

static void relay_line(struct plugin_proc *p)
{
    char *line = p->err_line;
    line[p->err_len] = '\0';
    p->err_len = 0;
    for (char *c = line; *c; c++) /* no terminal escapes, no forged line breaks */
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    if (!line[0] || !within_line_budget(p))
        return;
    const char *text;
    int level = host_line_level(line, &text);
    char from[80];
    snprintf(from, sizeof(from), "plugin %s%s", p->plugin->desc->id, level < 0 ? " (stderr)" : "");
    log_relayed(level < 0 ? 4 : level, p, from, text);
}

/* Reads up to max bytes of the host's stderr; at its end, the fd is closed. */
static void read_stderr(struct plugin_proc *p, size_t max)
{
    char buf[4096];
    for (size_t got = 0; p->err_fd >= 0 && got < max;) {
        ssize_t n = read(p->err_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0 || errno != EAGAIN) {
                close(p->err_fd);
                p->err_fd = -1;
                if (p->err_len)
                    relay_line(p);
            }
            return;
        }
        got += (size_t)n;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n')
                p->err_line[p->err_len++] = buf[i];
            if (buf[i] == '\n' || p->err_len == sizeof(p->err_line) - 1)
                relay_line(p); /* an overlong line goes in pieces */
        }
    }
}

/* What is left of a host that ended (its last words: a sanitizer's report, a crash). */
static void close_stderr(struct plugin_proc *p)
{
    read_stderr(p, HOST_STDERR_AT_END);
    if (p->err_fd >= 0)
        close(p->err_fd);
    p->err_fd = -1;
    p->err_len = 0;
    say_dropped_lines(p);
}

/* ---- starting and losing a child ---- */

static struct device **devices_of(struct plugin_procs *ps, struct plugin_proc *p, size_t *n_out)
{
    size_t n;
    struct device **all = ps->hooks.devices(ps->hooks.ctx, &n);
    struct device **mine = calloc(n + 1, sizeof(*mine));
    size_t k = 0;
    for (size_t i = 0; mine && i < n; i++)
        if (all[i]->plugin == p->plugin->desc)
            mine[k++] = all[i];
    *n_out = k;
    return mine;
}

/* ---- what a plugin may read in its sandbox ---- */

/* Profiles where plugins/common looks for them (the shipped ones where this build
 * installs them, the hall's own in /etc), and every file or directory
 * a device's settings name with a key ending in _dir or _file (docs/PLUGINS.md):
 * nothing else outside the system's libraries, sysfs and udev's database. */
static bool names_a_path(const struct device_setting *s)
{
    size_t n = strlen(s->key);
    return s->value[0] == '/' && ((n > 4 && strcmp(s->key + n - 4, "_dir") == 0) ||
                                  (n > 5 && strcmp(s->key + n - 5, "_file") == 0));
}

static bool may_read(const struct plugin_proc *p, const char *path)
{
    for (size_t i = 0; i < p->n_reads; i++)
        if (strcmp(p->reads[i], path) == 0)
            return true;
    return false;
}

static void allow_read(struct plugin_proc *p, const char *path)
{
    if (may_read(p, path))
        return;
    if (p->n_reads == PROC_READS_MAX) {
        log_warn("plugin %s: more than %d directories to read; %s is not among them",
                 p->plugin->desc->id, PROC_READS_MAX, path);
        return;
    }
    p->reads[p->n_reads++] = strdup(path);
}

static void forget_reads(struct plugin_proc *p)
{
    for (size_t i = 0; i < p->n_reads; i++)
        free(p->reads[i]);
    p->n_reads = 0;
}

/* The path a device reads that its running host may not, or NULL. */
static const char *unreadable_setting(const struct plugin_proc *p, const struct device *dev)
{
    for (size_t i = 0; i < dev->n_settings; i++)
        if (names_a_path(&dev->settings[i]) && !may_read(p, dev->settings[i].value))
            return dev->settings[i].value;
    return NULL;
}

static void collect_reads(struct plugin_procs *ps, struct plugin_proc *p)
{
    forget_reads(p);
    allow_read(p, ACCESSGW_PROFILE_DIR); /* under /usr, or a prefix of its own (/opt/accessgw) */
    allow_read(p, "/etc/accessgw/profiles");
    const char *env = getenv("ACCESSGW_PROFILE_PATH"); /* dir:dir..., for tests and trials */
    char copy[4096], *save = NULL;
    snprintf(copy, sizeof(copy), "%s", env ? env : "");
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
        if (d[0] == '/')
            allow_read(p, d);
    size_t n;
    struct device **mine = devices_of(ps, p, &n);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < mine[i]->n_settings; k++)
            if (names_a_path(&mine[i]->settings[k]))
                allow_read(p, mine[i]->settings[k].value);
    free(mine);
}

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

static void set_mirror_error(struct device *dev, const char *why)
{
    pthread_mutex_lock(&dev->lock);
    dev->state = AGW_STATE_ERROR;
    snprintf(dev->reason, sizeof(dev->reason), "%s", why);
    pthread_mutex_unlock(&dev->lock);
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

/* A child whose own loop stopped (a deadlock in the plugin's process, SIGSTOP)
 * reports no hang and no crash: that it no longer reads its link is the sign. */
#define SILENCE_MIN_MS 3000 /* a host under a sanitizer takes a while to read its first */
/* TICKs go with accessgwd's heartbeat; without one in this long (heartbeat_ms over a
 * second) they go on their own. */
#define TICK_LATE_MS 1100

static unsigned silence_limit_ms(const struct plugin_procs *ps)
{
    return ps->hang_ms > SILENCE_MIN_MS ? ps->hang_ms : SILENCE_MIN_MS;
}

/* Whether the host has read everything it was sent: the kernel counts the bytes of
 * records on a local socket until the reader takes them (SIOCOUTQ). */
static bool reads_its_link(const struct plugin_proc *p)
{
    int unread = 0;
    return ioctl(p->sock, SIOCOUTQ, &unread) < 0 || unread == 0;
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
        if (running(&ps->items[i]))
            tick(ps, &ps->items[i]);
}

struct host_usage {
    unsigned long long cpu_ticks; /* utime + stime */
    long threads;
    long long rss_kib;
};

static bool read_usage(pid_t pid, struct host_usage *u)
{
    char path[64], text[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *after = strrchr(text, ')'); /* the command may hold spaces and parentheses */
    unsigned long long utime, stime;
    long threads, rss_pages;
    /* fields 3-24 of proc(5): state ... utime(14) stime(15) ... num_threads(20) ... rss(24) */
    if (!after || sscanf(after + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
                                    "%*d %*d %*d %*d %ld %*d %*u %*u %ld",
                         &utime, &stime, &threads, &rss_pages) != 4)
        return false;
    u->cpu_ticks = utime + stime;
    u->threads = threads;
    u->rss_kib = rss_pages * (sysconf(_SC_PAGESIZE) / 1024);
    return true;
}

/* What a host holds beyond its bounds, or NULL; why is filled in. */
static const char *over_bounds(struct plugin_procs *ps, struct plugin_proc *p, char *why,
                               size_t len)
{
    struct host_usage u;
    if (!read_usage(p->pid, &u))
        return NULL;
    size_t n_devices;
    free(devices_of(ps, p, &n_devices));
    long max_threads = HOST_THREADS_BASE + HOST_THREADS_PER_DEVICE * (long)n_devices;
    long long max_kib = HOST_RSS_BASE_MIB * 1024LL + HOST_RSS_PER_DEVICE_KIB * (long long)n_devices;
    long long now = monotonic_ms();
    if (u.threads > max_threads) {
        snprintf(why, len, "%ld threads (at most %ld for %zu device(s))", u.threads, max_threads,
                 n_devices);
        return why;
    }
    if (u.rss_kib > max_kib) {
        snprintf(why, len, "%lld MiB of memory (at most %lld for %zu device(s))", u.rss_kib / 1024,
                 max_kib / 1024, n_devices);
        return why;
    }
    if (now - p->cpu_since_ms >= HOST_CPU_WINDOW_MS) {
        long long spent_ms = p->cpu_ticks_since
                                 ? (long long)(u.cpu_ticks - p->cpu_ticks_since) * 1000 /
                                       sysconf(_SC_CLK_TCK)
                                 : 0;
        long long window = now - p->cpu_since_ms;
        p->cpu_since_ms = now;
        p->cpu_ticks_since = u.cpu_ticks;
        if (spent_ms * 100 > window * HOST_CPU_MAX_PERCENT) {
            snprintf(why, len, "%lld%% of a core for %lld s", spent_ms * 100 / window,
                     window / 1000);
            return why;
        }
    }
    return NULL;
}

/* Once a second, beside its TICK: a host over its bounds is stopped, named and
 * started again with backoff, as for a flood on the link. */
static void watch_host(struct plugin_procs *ps, struct plugin_proc *p)
{
    if (!running(p) || monotonic_ms() - p->watched_ms < 1000)
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
        if (running(p) && monotonic_ms() - p->ticked_ms >= TICK_LATE_MS)
            tick(ps, p);
        if (p->wanted && !running(p) && restart_ms_until(&p->restart) == 0)
            start(ps, p);
    }
}

long procs_ms_until_start(const struct plugin_procs *ps)
{
    long t = -1;
    for (size_t i = 0; i < ps->n; i++) {
        const struct plugin_proc *p = &ps->items[i];
        long late = (long)(p->ticked_ms + TICK_LATE_MS - monotonic_ms());
        long due = running(p)  ? (late > 0 ? late : 0)
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
        if (running(p) && waitpid(p->pid, &status, WNOHANG) == p->pid)
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
    const char *path = running(p) ? unreadable_setting(p, dev) : NULL;
    if (path) { /* its sandbox was drawn without it: drawn again, with every device */
        char why[DEVICE_ID_MAX + 128];
        snprintf(why, sizeof(why), "plugin host restarted to let device %s read %.64s", dev->id,
                 path);
        lose(ps, p, why, collect(p, true));
    } else if (running(p)) {
        send_attach(ps, p, dev);
    }
    /* else the loop starts it at its next turn (or after the backoff), with every
     * device attached by then: one sandbox drawn for all of them */
}

void procs_detach(struct plugin_procs *ps, struct device *dev, bool removed)
{
    struct plugin_proc *p = proc_of(ps, dev->plugin);
    dev->retiring = true;
    if (!p || !running(p)) {
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
    if (p && p->wanted && !running(p) && restart_ms_until(&p->restart) == 0)
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
    if (!p || !running(p) || !room) {
        char msg[160];
        snprintf(msg, sizeof(msg), "plugin %s is restarting; try again in %ld ms",
                 dev->plugin->id, p && !running(p) ? restart_ms_until(&p->restart) + 500 : 1000);
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

/* The device of this child with this id, or (children_too) the one that has a
 * child of that id: by the registry's index, each of this child's devices
 * looked at only for its children. */
static struct device *device_of(struct plugin_procs *ps, struct plugin_proc *p, const char *id,
                                bool children_too)
{
    struct device *dev = ps->hooks.find(ps->hooks.ctx, id);
    if (dev && dev->plugin == p->plugin->desc)
        return dev;
    if (!children_too)
        return NULL;
    size_t n;
    struct device **all = ps->hooks.devices(ps->hooks.ctx, &n);
    for (size_t i = 0; i < n; i++)
        if (all[i]->plugin == p->plugin->desc && all[i]->n_children &&
            device_has_child(all[i], id))
            return all[i];
    return NULL;
}

static json_t *parse_object(const char *text)
{
    json_t *o = text[0] ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (o && !json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* An event's data is checked without building it (protocols/json): jansson
 * decides only what the checker is not sure of. */
static bool is_one_object(const char *text)
{
    enum json_check v = json_check_object(text, strlen(text), NULL);
    if (v == JSON_CHECK_UNSURE) {
        json_t *o = parse_object(text);
        v = o ? JSON_CHECK_OBJECT : JSON_CHECK_INVALID;
        mask_wipe_decref(o);
    }
    return v == JSON_CHECK_OBJECT;
}

/* A bucket of EVENT_BURST_S seconds' worth, refilled at events_per_s: a plugin that
 * publishes faster is stopped before it fills every subscriber's queue and wipes the
 * journal's history (call bells rely on it). */
static bool within_event_budget(const struct plugin_procs *ps, struct plugin_proc *p)
{
    if (!ps->events_per_s)
        return true;
    long long now = monotonic_ms();
    double cap = (double)ps->events_per_s * EVENT_BURST_S;
    p->event_tokens += (double)(now - p->tokens_at_ms) * ps->events_per_s / 1000.0;
    if (p->event_tokens > cap)
        p->event_tokens = cap;
    p->tokens_at_ms = now;
    if (p->event_tokens < 1)
        return false;
    p->event_tokens -= 1;
    return true;
}

static const char *take_event(struct plugin_procs *ps, struct plugin_proc *p,
                              const struct plink_msg *m)
{
    if (!within_event_budget(ps, p))
        return "more events a second than [gateway] plugin_events_per_s allows";
    const struct agw_plugin *desc = p->plugin->desc;
    bool own_class = strcmp(m->s1, desc->device_class) == 0;
    bool device_event = strcmp(m->s1, "device") == 0 &&
                        (strcmp(m->s2, "state") == 0 || strcmp(m->s2, "attached") == 0);
    if (!own_class && !device_event)
        return "an event of another class";
    if (!envelope_valid_name(m->s2) || !device_of(ps, p, m->device, true))
        return "an event of a device it does not run";
    if (!is_one_object(m->json))
        return "event data that is not a JSON object";
    struct timespec time = {(time_t)m->sec, (long)m->nsec};
    /* Published as the child encoded it, checked above; whether to mask is the
     * plugin's declaration, never the child's say. */
    ps->hooks.publish(ps->hooks.ctx, m->s1, m->device, m->s2, m->json,
                      own_class ? desc->personal : NULL, &time);
    return NULL;
}

static const char *take_reply(struct plugin_procs *ps, struct plugin_proc *p,
                              const struct plink_msg *m)
{
    size_t i = 0;
    while (i < p->n_pending && p->pending[i].token != m->token)
        i++;
    if (i == p->n_pending || strcmp(p->pending[i].device, m->device) != 0)
        return "an answer to a command it was not given";
    struct pending_command c = p->pending[i];
    p->pending[i] = p->pending[--p->n_pending];
    int status = m->status <= 0 && m->status >= AGW_CMD_UNSUPPORTED ? m->status : AGW_CMD_DEVICE_ERROR;
    struct out_mail *out = mail_for(c.device, OUT_REPLY);
    if (!out)
        return NULL;
    out->route = c.route;
    out->status = status;
    out->data = parse_object(m->json);
    out->personal = p->plugin->desc->personal; /* masked by accessgwd, not trusted to the child */
    ps->hooks.deliver(ps->hooks.ctx, out);
    return NULL;
}

/* A child's id names no other device: not a configured or plugged one, not another
 * device's child, not twice in one list.  A plugin that names one is impersonating it
 * (its state, its events, the console's row, the uplink's retained state). */
static bool child_id_taken(struct plugin_procs *ps, const struct device *parent, const char *id,
                           const struct device_child *earlier, size_t n_earlier)
{
    if (ps->hooks.find(ps->hooks.ctx, id))
        return true;
    for (size_t i = 0; i < n_earlier; i++)
        if (strcmp(earlier[i].id, id) == 0)
            return true;
    size_t n;
    struct device **all = ps->hooks.devices(ps->hooks.ctx, &n);
    for (size_t i = 0; i < n; i++)
        if (all[i] != parent && all[i]->n_children && device_has_child(all[i], id))
            return true;
    return false;
}

static const char *take_snapshot(struct plugin_procs *ps, struct plugin_proc *p,
                                 const struct plink_msg *m)
{
    struct device *dev = device_of(ps, p, m->device, false);
    json_t *info = parse_object(m->json);
    json_t *children = json_loads(m->json2, 0, NULL);
    size_t n = json_array_size(children);
    struct device_child *list = calloc(n + 1, sizeof(*list));
    const char *bad = !dev                                  ? "the state of a device it does not run"
                      : m->status < 0 || m->status > AGW_STATE_ERROR ? "an unknown state"
                      : !info || !json_is_array(children) || !list   ? "device info that is not JSON"
                                                                     : NULL;
    for (size_t i = 0; !bad && i < n; i++) {
        json_t *c = json_array_get(children, i);
        const char *id = json_string_value(json_object_get(c, "id"));
        const char *loc = json_string_value(json_object_get(c, "location"));
        if (!id || strlen(id) > DEVICE_ID_MAX || !config_valid_name(id) || !loc)
            bad = "a child device with a bad id";
        else if (child_id_taken(ps, dev, id, list, i))
            bad = "a child device named as another device";
        else {
            snprintf(list[i].id, sizeof(list[i].id), "%s", id);
            snprintf(list[i].location, sizeof(list[i].location), "%s", loc);
        }
    }
    if (!bad) {
        pthread_mutex_lock(&dev->lock);
        dev->state = (enum agw_state)m->status;
        snprintf(dev->reason, sizeof(dev->reason), "%s", m->s1);
        json_decref(dev->info);
        dev->info = info;
        info = NULL;
        free(dev->children);
        dev->children = list;
        dev->n_children = n;
        list = NULL;
        pthread_mutex_unlock(&dev->lock);
    }
    json_decref(info);
    json_decref(children);
    free(list);
    return bad;
}

/* A plugin host opens no device: accessgwd opens the node of a device it gave
 * that host (never a path the host names) and hands the descriptor over. */
static const char *open_node(struct plugin_procs *ps, struct plugin_proc *p, const char *id)
{
    struct device *dev = device_of(ps, p, id, false);
    const struct transport_ops *ops = dev ? transport_ops_for(dev->transport_kind) : NULL;
    if (!dev || !ops || !ops->adopt || !dev->path)
        return "a request to open a node it was not given";
    if (dev->retiring)
        return NULL;
    if (queued_nodes_of(p, id) >= QUEUED_FDS_PER_DEVICE)
        return "requests to open nodes faster than it takes them";
    struct transport t = {.fd = -1};
    char err[DEVICE_REASON_MAX] = "";
    int r = transport_fd_open(&t, dev->path, err, sizeof(err));
    struct plink_writer w;
    plink_writer_init(&w, ps->out, PLINK_RECORD_MAX);
    if (plink_put_fd(&w, id, r < 0 ? -r : 0, err))
        send_record_with(p, w.buf, w.len, t.fd, id);
    else if (t.fd >= 0)
        close(t.fd);
    return NULL;
}

/* A plugin host writes no file: accessgwd keeps its copy of the state (so a
 * host restarted while the disk is full still gets it), writes it, and says
 * how that went; the host's save_state waits for this answer. */
static const char *save_state(struct plugin_procs *ps, struct plugin_proc *p,
                              const struct plink_msg *m)
{
    struct device *dev = device_of(ps, p, m->device, false);
    if (!dev)
        return "the state of a device it does not run";
    long long now = monotonic_ms();
    if (now - p->saves_since_ms >= 1000) {
        p->saves_since_ms = now;
        p->saves = 0;
    }
    if (++p->saves > SAVES_PER_SECOND_MAX)
        return "more than 200 saved states in a second";
    json_t *state = parse_object(m->json);
    if (!state)
        return "saved state that is not a JSON object";
    json_decref(state);
    char *copy = strdup(m->json);
    if (!copy)
        return NULL;
    free(dev->saved_json);
    dev->saved_json = copy;
    char why[512] = "";
    int r = device_state_write(ps->state_dir, dev->plugin->id, dev->id, m->json, why, sizeof(why));
    if (r < 0 && !dev->degraded_said) {
        log_err("DEGRADED: %s", why);
        struct out_mail *out = mail_for("", OUT_DEGRADED);
        if (out) {
            out->data = json_pack("{s:s}", "reason", why);
            ps->hooks.deliver(ps->hooks.ctx, out);
        }
    }
    dev->degraded_said = r < 0; /* said once per streak of failures */
    struct plink_writer w;
    plink_writer_init(&w, ps->out, PLINK_RECORD_MAX);
    if (plink_put_saved(&w, m->device, r < 0 ? -r : 0, why))
        send_record(p, w.buf, w.len);
    return NULL;
}

static const char *take(struct plugin_procs *ps, struct plugin_proc *p, const struct plink_msg *m)
{
    switch (m->type) {
    case PLINK_EVENT: return take_event(ps, p, m);
    case PLINK_REPLY: return take_reply(ps, p, m);
    case PLINK_SNAPSHOT: return take_snapshot(ps, p, m);
    case PLINK_OPEN: return open_node(ps, p, m->device);
    case PLINK_SAVE: return save_state(ps, p, m);
    case PLINK_EXITED: {
        struct device *dev = device_of(ps, p, m->device, false);
        if (!dev)
            return "the end of a device it does not run";
        if (!dev->retiring) {
            set_mirror_error(dev, "the plugin host could not start the device");
            return NULL;
        }
        ps->hooks.deliver(ps->hooks.ctx, mail_for(m->device, OUT_EXITED));
        return NULL;
    }
    default: return "a message only accessgwd sends";
    }
}

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
                bad = take(ps, p, &m);
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
    for (size_t i = 0; i < ps->n && k < max; i++) {
        struct plugin_proc *p = &ps->items[i];
        if (running(p))
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
        for (size_t i = 0; i < ps->n; i++) {
            struct plugin_proc *p = &ps->items[i];
            if (p->err_fd >= 0 && p->err_fd == items[k].fd) {
                read_stderr(p, HOST_STDERR_PER_TURN);
                break;
            }
            if (!running(p) || p->sock != items[k].fd)
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
        if (running(p)) {
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
    free(ps->items);
    free(ps->in);
    free(ps->out);
    free(ps->state_dir);
    memset(ps, 0, sizeof(*ps));
}
