/* What the files of a device share, listed from the bottom up: a file calls
 * only files listed above its own.
 *   device.c       the device as the owning thread sees it (state, children, inbox)
 *   mail.c         what a worker sends back: events, replies, state
 *   saved_state.c  what a device keeps across restarts
 *   timer_wheel.c  the timers a plugin shares among its devices (AGW_TIMERS_SHARED)
 *   host_api.c     the tables a plugin calls (SDK 2.x, and 1.x through abi1.c)
 *   worker.c       the worker thread's loop, the shared timer thread, the hang watch
 *   lifecycle.c    creating, starting and freeing a device: the top */
#ifndef AGW_DEVICE_INTERNAL_H
#define AGW_DEVICE_INTERNAL_H
#include "abi1.h"
#include "device.h"

/* device.c (a device's lock held) */
bool child_known(struct device *dev, const char *id);

/* mail.c */
void host_api_enter_worker(struct device *dev); /* worker_main, first thing */
struct out_mail *out_new(struct device *dev, enum out_kind kind);
void wait_for_outbox_room(struct device *dev);
void post_event(struct device *dev, const char *subject, const char *cls, const char *event,
                json_t *data, bool personal, const struct timespec *input_time);
void post_reply(struct device *dev, void *route, int status, json_t *result);
void post_changed(struct device *dev);
/* From the worker (wait: for room in the outbox) or from the hang watch. */
void publish_state(struct device *dev, bool wait);
void host_set_state(struct agw_device *d, enum agw_state state, const char *reason);

/* saved_state.c */
extern bool device_parent_keeps_state; /* device_use_parent() was called */
const char *device_state_dir(void);
int host_save_state(struct agw_device *d, const json_t *state);
json_t *host_load_state(struct agw_device *d);

/* timer_wheel.c */
int device_timer_init(struct device *dev); /* device_new: room for its timer; -1: none */
void device_set_timer(struct device *dev, unsigned interval_ms); /* 0: none */
/* The worker's last act before OUT_EXITED (holding no lock the timer thread may
 * need): out of the wheel, and out of the batch being fired, if it is in it. */
void device_forget_timer(struct device *dev);
void device_timer_release(struct device *dev); /* device_free: its room in the wheel */
/* The shared timer thread: waits until timers are due, then puts every due device
 * in *batch (grown as needed) and returns how many; wheel_batch_done after firing. */
size_t wheel_wait_due(struct device ***batch, size_t *cap);
void wheel_batch_done(struct device **batch, size_t n);

/* host_api.c */
extern const struct agw_host host_api;
extern const struct agw1_host host_api_v1; /* the flat table a 1.x plugin is given */

/* worker.c */
void *worker_main(void *arg);
void *shared_timers_main(void *arg); /* one per process, started with its first such device */
void free_in_mail(struct device *dev, struct in_mail *m);
#endif
