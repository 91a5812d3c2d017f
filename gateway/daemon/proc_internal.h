/* What the files of the plugin host runner share (plugin_proc.h is its face
 * to accessgwd), from the bottom up: proc_mail.c (mail for the gateway),
 * proc_link.c (records to a host), proc_stderr.c (a host's stderr into the
 * log), proc_reads.c (what its sandbox may read), proc_bounds.c (what it may
 * hold and how it must answer), proc_take.c (what a host sends, checked),
 * plugin_proc.c (starting, losing, restarting hosts: the top).  Main loop only. */
#ifndef AGW_PROC_INTERNAL_H
#define AGW_PROC_INTERNAL_H
#include "plugin_proc.h"
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
/* A child whose own loop stopped (a deadlock in the plugin's process, SIGSTOP)
 * reports no hang and no crash: that it no longer reads its link is the sign. */
#define SILENCE_MIN_MS 3000 /* a host under a sanitizer takes a while to read its first */
/* TICKs go with accessgwd's heartbeat; without one in this long (heartbeat_ms over a
 * second) they go on their own. */
#define TICK_LATE_MS 1100

struct host_usage {
    unsigned long long cpu_ticks; /* utime + stime */
    long threads;
    long long rss_kib;
};

/* proc_mail.c */
bool proc_running(const struct plugin_proc *p);
void set_mirror_error(struct device *dev, const char *why);
struct out_mail *mail_for(const char *device, enum out_kind kind);
void post_later(struct plugin_procs *ps, struct out_mail *m);
struct out_mail *reply_mail(const char *device, void *route, int status, const char *message);
struct device **devices_of(struct plugin_procs *ps, struct plugin_proc *p, size_t *n_out);
struct plugin_proc *proc_of(struct plugin_procs *ps, const struct agw_plugin *desc);

/* proc_link.c */
void send_record_with(struct plugin_proc *p, const uint8_t *buf, size_t len, int fd, const char *device);
void send_record(struct plugin_proc *p, const uint8_t *buf, size_t len);
void flush_queue(struct plugin_proc *p);
void drop_queue(struct plugin_proc *p);
unsigned queued_nodes_of(const struct plugin_proc *p, const char *device);
void send_attach(struct plugin_procs *ps, struct plugin_proc *p, struct device *dev);

/* proc_stderr.c */
void say_dropped_lines(struct plugin_proc *p);
void read_stderr(struct plugin_proc *p, size_t max);
void close_stderr(struct plugin_proc *p);

/* proc_reads.c */
void forget_reads(struct plugin_proc *p);
const char *unreadable_setting(const struct plugin_proc *p, const struct device *dev);
void collect_reads(struct plugin_procs *ps, struct plugin_proc *p);

/* proc_bounds.c */
unsigned silence_limit_ms(const struct plugin_procs *ps);
bool reads_its_link(const struct plugin_proc *p);
const char *over_bounds(struct plugin_procs *ps, struct plugin_proc *p, char *why, size_t len);
bool within_event_budget(const struct plugin_procs *ps, struct plugin_proc *p);

/* proc_take.c */
/* One record from a host; NULL, or why the host is stopped. */
const char *take_record(struct plugin_procs *ps, struct plugin_proc *p, const struct plink_msg *m);
/* The saves the state writer has written: each host that asked gets its answer. */
void answer_saves(struct plugin_procs *ps);

#endif
