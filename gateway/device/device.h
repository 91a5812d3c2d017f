/* A device: its plugin, its transport and the worker thread that runs
 * both.  The main thread creates, stops and frees devices; everything the
 * plugin does happens on the worker, which talks to the main thread only
 * through mailboxes. */
#ifndef AGW_DEVICE_H
#define AGW_DEVICE_H
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "accessgw/plugin.h"
#include "abi1.h"
#include "mailbox.h"
#include "transport.h"

#define DEVICE_ID_MAX 64
#define DEVICE_REASON_MAX 160

/* worker -> main */
/* OUT_CHANGED: the device's state, info or children changed (a plugin host
 * process sends them to accessgwd; in one process the main loop reads them
 * under the lock and ignores this).  OUT_OPEN and OUT_SAVE only in a plugin
 * host (device_use_parent): the node to be opened by accessgwd and handed
 * back (IN_FD), the state (data_json) to be written by accessgwd. */
enum out_kind { OUT_EVENT, OUT_REPLY, OUT_EXITED, OUT_DEGRADED, OUT_CHANGED, OUT_OPEN, OUT_SAVE };
struct out_mail {
    struct mail link;
    enum out_kind kind;
    char device[DEVICE_ID_MAX + 1];
    char cls[49], event[49];
    json_t *data;                              /* reply result / error */
    char *data_json;                           /* event data, encoded (personal fields unmasked) */
    const struct agw_personal_field *personal; /* the plugin's declaration: what to mask */
    struct timespec time;
    void *route;                               /* reply: the control request's return address */
    int status;                                /* reply: enum agw_cmd_status */
    bool device_owned; /* the device's own event mail (host_api.c): freeing it only wipes */
};

/* Frees a mail once its reader is done with it; what a plugin declared personal
 * is wiped first, wherever that is. */
void out_mail_free(struct out_mail *m);

/* main -> worker */
enum in_kind { IN_COMMAND, IN_STOP, IN_FD };
struct in_mail {
    struct mail link;
    enum in_kind kind;
    char *verb;
    json_t *args;
    void *route;
    char target[DEVICE_ID_MAX + 1]; /* the device or child id the command was sent to */
    bool removed; /* IN_STOP: the hardware is gone, tell the plugin before close */
    int fd;       /* IN_FD: the opened node, or -1 and why in reason */
    char reason[DEVICE_REASON_MAX];
};

struct device_child {
    char id[DEVICE_ID_MAX + 1];
    char location[96];
};

struct device_setting {
    char *key, *value;
    char *where; /* "FILE:LINE" of the key, NULL when it came from elsewhere (hotplug) */
};

struct device {
    struct agw_device pub; /* first: the handle plugins get is this struct */
    char id[DEVICE_ID_MAX + 1];
    const struct agw_plugin *plugin;
    enum agw_transport transport_kind;
    char *path;
    unsigned baud;
    char *location;
    char *syspath;  /* hotplugged: the udev syspath; NULL for [device] sections */
    struct device_setting *settings;
    size_t n_settings;

    struct mailbox inbox;
    struct mailbox *outbox; /* the main loop's */
    pthread_t thread;
    bool thread_started;
    bool retiring;          /* main: stop requested, waiting for OUT_EXITED */

    /* worker-owned */
    struct transport tr;
    bool opened, lost, stop, in_open, state_set;
    bool degraded_said; /* a failed save_state was reported; cleared by the next good one */
    bool republish_state; /* a reported hang is over: say the state again */
    int handed_fd;        /* a node accessgwd opened for this device, not yet taken (-1) */
    json_t *saved_state;  /* device_use_parent: what save_state kept last */
    sem_t save_answered;  /* device_use_parent: accessgwd wrote it (or could not) */
    int save_result;      /* 0 or -errno, set before save_answered is posted */
    unsigned saves_unanswered; /* saves whose wait ended before their answer came */
    unsigned timer_ms;      /* shared timers (timer_wheel.c): it and next_timer under its lock */
    struct timespec next_timer, retry_at, input_time;
    /* AGW_TIMERS_SHARED: the shared timer thread calls on_timer while it holds busy,
     * which the worker holds except while it waits in poll (so never during another
     * callback); when the worker has it, the timer is left to the worker (timer_pending) */
    bool shared_timer;
    pthread_mutex_t busy;
    atomic_bool timer_pending;
    size_t wheel_slot;      /* its place in the heap, under the wheel's lock */
    bool timer_firing;      /* in the timer thread's batch, under the wheel's lock */
    unsigned backoff_ms;
    void *userdata;
    /* worker: the mail and text of its events when its outbox's reader takes them on
     * this thread (a plugin host), reused event after event */
    struct out_mail *event_mail;
    char *event_text;
    size_t event_text_len, event_text_cap;

    pthread_mutex_t lock;   /* guards state, reason and info, read by the main thread */
    enum agw_state state;
    char reason[DEVICE_REASON_MAX];
    json_t *info;           /* set_info(): shown by the devices verb */
    struct device_child *children; /* add_child(), under lock */
    size_t n_children;
    const char *command_target;    /* worker: during a 1.x plugin's command (abi1.c) */
    char *saved_json;              /* accessgwd, isolation = process: the state its host saved last */

    /* Hang watch: the worker says which plugin callback it is in and since
     * when (monotonic ms, 0 outside); the main loop reports one that does not
     * return (device_check_hung).  Under lock, with state and reason. */
    const char *in_callback;
    long long in_callback_since_ms;
    bool hang_reported;
    enum agw_state state_before_hang;
    char reason_before_hang[DEVICE_REASON_MAX];
};

struct device_params {
    const char *id;
    const struct agw_plugin *plugin;
    enum agw_transport transport;
    const char *path;
    unsigned baud;
    const char *location;
    const char *syspath;
    const struct device_setting *settings;
    size_t n_settings;
    const char *saved_state; /* device_use_parent: the JSON object saved last, or NULL */
};

struct device *device_new(const struct device_params *p, struct mailbox *outbox);
int device_start(struct device *dev);
/* Asks the worker to stop; OUT_EXITED arrives on the outbox when it has. */
void device_request_stop(struct device *dev, bool removed);
/* Joins the worker (after OUT_EXITED) and frees everything. */
void device_free(struct device *dev);
/* Hands a control request to the worker; takes verb, args and route. */
void device_post_command(struct device *dev, const char *target, char *verb, json_t *args,
                         void *route);
/* Whether id is one of this device's children (main thread). */
bool device_has_child(struct device *dev, const char *id);
/* The children's ids, as a JSON array of {id, location} (main thread). */
json_t *device_children(struct device *dev);
void device_get_state(struct device *dev, enum agw_state *state, char *reason, size_t len);
/* A copy of what the plugin published with set_info (an object, maybe empty). */
json_t *device_get_info(struct device *dev);
const char *device_state_name(enum agw_state s);
/* "unknown_verb", "bad_args", ... for an enum agw_cmd_status */
const char *device_status_code(int status);
/* The directory plugins are given by state_dir(); set before any device starts. */
void device_set_state_dir(const char *dir);
/* In a plugin host, before any device starts: devices open no node and write
 * no file themselves; they ask accessgwd (OUT_OPEN, OUT_SAVE) and get their
 * nodes by device_hand_fd and their saved state in device_params. */
void device_use_parent(void);
/* What runs 1.x plugins' devices: give it to abi1_use_calls() before loading plugins. */
extern const struct abi1_calls abi1_device_calls;
/* accessgwd's answer to OUT_SAVE (the worker waits for it): 0 or an errno. */
void device_saved(struct device *dev, int error);
/* accessgwd's answer to OUT_OPEN: the node (taken), or fd -1 and why. */
void device_hand_fd(struct device *dev, int fd, const char *why);
/* A device's state file in dir (plugin.device.json): the saved object, or NULL
 * when there is none; a damaged file is renamed aside and said with FILE:LINE. */
json_t *device_state_read(const char *dir, const char *plugin_id, const char *device_id);
/* Written atomically; 0, or -errno with the reason (file and error) in why. */
int device_state_write(const char *dir, const char *plugin_id, const char *device_id,
                       const char *json, char *why, size_t len);
/* The thread that reads the outbox (accessgwd's main loop, a plugin host's):
 * when the worker has been inside one plugin callback for more than limit_ms,
 * marks the device "error" and posts that state to the outbox (the worker
 * cannot, it is stuck), once, and returns true; the worker publishes its state
 * again when the callback returns. */
bool device_check_hung(struct device *dev, unsigned limit_ms);
/* Timestamp helper shared with the main loop */
void clock_now(struct timespec *ts);
#endif
