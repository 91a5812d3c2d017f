/* What the three parts of a device share: host_api.c (what a plugin calls),
 * worker.c (the worker thread's loop), device.c (the side of the thread that
 * creates, stops and reads devices: accessgwd's main loop, or a plugin host's). */
#ifndef AGW_DEVICE_INTERNAL_H
#define AGW_DEVICE_INTERNAL_H
#include "device.h"

/* host_api.c */
extern const struct agw_host host_api;
void host_api_enter_worker(struct device *dev); /* worker_main, first thing */
struct out_mail *out_new(struct device *dev, enum out_kind kind);
void post_reply(struct device *dev, void *route, int status, json_t *result);
void host_set_state(struct agw_device *d, enum agw_state state, const char *reason);
bool child_known(struct device *dev, const char *id);
/* the hang watch's worker half: around every call into the plugin */
void plugin_enter(struct device *dev, const char *callback);
void plugin_leave(struct device *dev);
void republish_state_if_due(struct device *dev);
extern bool device_parent_keeps_state; /* device_use_parent() was called */

/* Every call into a plugin goes through here, so the main loop can see a hang. */
#define CALL_PLUGIN(dev, callback, call) \
    do {                                 \
        plugin_enter(dev, callback);     \
        call;                            \
        plugin_leave(dev);               \
    } while (0)

/* worker.c */
void *worker_main(void *arg);
void free_in_mail(struct device *dev, struct in_mail *m);
#endif
