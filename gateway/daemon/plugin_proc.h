/*
 * Plugin host processes, seen from accessgwd's main loop (docs/PROCESSES.md).
 *
 * Each plugin in use runs in an accessgw-plugin-host child; its devices stay
 * in accessgwd's registry (struct device, with state, info and children kept
 * as the child last reported them), and what the child sends back arrives as
 * the same worker mail a device thread posts.  A child that crashes, exits or
 * says something malformed is stopped; its devices are published in error
 * with the reason, its commands answered, and it is started again with backoff.
 */
#ifndef AGW_PLUGIN_PROC_H
#define AGW_PLUGIN_PROC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <zmq.h>

#include "child.h"
#include "device.h"
#include "loader.h"
#include "state_writer.h"

struct proc_hooks {
    void *ctx;
    /* Worker mail from a child (replies, exits, degraded); takes m. */
    void (*deliver)(void *ctx, struct out_mail *m);
    /* A child's event, checked, onto the bus (data_json is borrowed: a child's
     * events cost accessgwd no allocation of their own). */
    void (*publish)(void *ctx, const char *cls, const char *subject, const char *event,
                    const char *data_json, const struct agw_personal_field *personal,
                    const struct timespec *time);
    /* The gateway's devices, retiring ones included; find: the one with this id. */
    struct device **(*devices)(void *ctx, size_t *n);
    struct device *(*find)(void *ctx, const char *id);
    /* Mail made while the gateway is in the middle of something (a detach, a
     * crash) goes here, to be handled at the next turn of the loop. */
    struct mailbox *outbox;
};

struct pending_command {
    uint64_t token;
    void *route;
    char device[DEVICE_ID_MAX + 1];
};

struct queued_record {
    struct queued_record *next;
    size_t len;
    int fd; /* a device node going with it (SCM_RIGHTS), or -1 */
    char device[DEVICE_ID_MAX + 1]; /* whose node it is */
    uint8_t bytes[];
};

#define PROC_READS_MAX 32

struct plugin_proc {
    const struct loaded_plugin *plugin;
    char *reads[PROC_READS_MAX]; /* what its sandbox lets it read (--read) */
    size_t n_reads;
    pid_t pid;  /* 0 while not running */
    int sock;   /* -1 while not running */
    struct restart restart;
    long long ticked_ms;       /* the last TICK sent to it */
    long long unread_since_ms; /* since when what it was sent lies unread (0: it reads) */
    bool wanted; /* a device of the plugin was attached since the gateway started */
    struct pending_command *pending;
    size_t n_pending, cap_pending;
    struct queued_record *queue, *queue_tail; /* records the socket did not take yet */
    long long saves_since_ms; /* the current second of SAVE requests, and how many */
    unsigned saves;
    int err_fd;                 /* the read end of its stderr, -1 while not running */
    char err_line[512];         /* a line of it not yet ended */
    size_t err_len;
    long long lines_since_ms;   /* the current window of its log lines, how many, */
    unsigned lines, lines_dropped; /* and how many over its budget */
    double event_tokens;        /* its event budget: a bucket refilled at events_per_s */
    long long tokens_at_ms;
    long long watched_ms;       /* the last look at its threads, memory and CPU, */
    long long cpu_since_ms, cpu_ticks_since; /* and the CPU window's start */
};

struct plugin_procs {
    struct plugin_proc *items;
    size_t n;
    struct proc_hooks hooks;
    char program[4200]; /* accessgw-plugin-host, beside accessgwd */
    char *state_dir;
    int log_level;
    unsigned hang_ms;
    unsigned events_per_s; /* per plugin host, 0: no bound ([gateway] plugin_events_per_s) */
    uint64_t next_token;
    uint8_t *in, *out; /* one record each way */
    struct state_writer saves; /* the states hosts ask to keep, written off the loop */
};

int procs_init(struct plugin_procs *ps, const struct plugin_set *set, const struct proc_hooks *hooks,
               const char *state_dir, int log_level, unsigned hang_ms);
/* Runs dev in its plugin's host (started now if it is not running). */
void procs_attach(struct plugin_procs *ps, struct device *dev);
/* Stops dev; OUT_EXITED comes through deliver when it has stopped. */
void procs_detach(struct plugin_procs *ps, struct device *dev, bool removed);
/* A device verb; the answer (or busy, when the plugin is restarting) comes through deliver. */
void procs_command(struct plugin_procs *ps, struct device *dev, const char *target, char *verb,
                   json_t *args, void *route);
/* Fills items with the children's sockets, and the written saves' descriptor;
 * returns how many (at most max: 2 per plugin, and 1). */
size_t procs_pollitems(struct plugin_procs *ps, zmq_pollitem_t *items, size_t max);
void procs_handle(struct plugin_procs *ps, const zmq_pollitem_t *items, size_t n);
/* SIGCHLD: looks for children that ended. */
void procs_reap(struct plugin_procs *ps);
/* Sends each plugin host its TICK (look for hung devices) and stops one that has not
 * read what it was sent for longer than hang_ms: accessgwd's heartbeat does this, so an
 * idle gateway wakes once a second in all. */
void procs_tick(struct plugin_procs *ps);
/* Restarts that are due, and TICKs the heartbeat did not send (a heartbeat_ms over a
 * second); ms until the next (-1: none). */
void procs_start_due(struct plugin_procs *ps);
long procs_ms_until_start(const struct plugin_procs *ps);
/* At shutdown, after the devices stopped: ends every child. */
void procs_close(struct plugin_procs *ps);
#endif
