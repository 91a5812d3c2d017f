/* What the files of a device share, listed from the bottom up: a file calls
 * only files listed above its own.
 *   device.c       the device as the owning thread sees it (state, children, inbox)
 *   mail.c         what a worker sends back: events, replies, state
 *   saved_state.c  what a device keeps across restarts
 *   host_api.c     the tables a plugin calls (SDK 2.x, and 1.x through abi1.c)
 *   worker.c       the worker thread's loop, and the hang watch
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

/* host_api.c */
extern const struct agw_host host_api;
extern const struct agw1_host host_api_v1; /* the flat table a 1.x plugin is given */

/* worker.c */
void *worker_main(void *arg);
void free_in_mail(struct device *dev, struct in_mail *m);
#endif
