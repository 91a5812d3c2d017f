#define _GNU_SOURCE
#include "device.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "envelope.h"
#include "hotplug.h"
#include "config.h"
#include "loader.h"
#include "log.h"
#include "monotonic.h"
#include "mask.h"
#include "state.h"

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000
/* libusb's synchronous bulk API has no fd to poll: a USB worker reads in
 * slices this long between looks at its inbox */
#define USB_POLL_MS 50
/* one hidraw report can be HID_MAX_BUFFER_SIZE (16 KiB) long */
#define INPUT_BUFFER 16384

/* Set once at start, before any worker: a copy, because the configuration it
 * comes from is freed at every reload while workers keep reading this. */
static char *state_dir_value;
void device_set_state_dir(const char *dir)
{
    free(state_dir_value);
    state_dir_value = dir ? strdup(dir) : NULL;
}

void clock_now(struct timespec *ts) { clock_gettime(CLOCK_REALTIME, ts); }

const char *device_state_name(enum agw_state s)
{
    switch (s) {
    case AGW_STATE_UP: return "up";
    case AGW_STATE_STALE: return "stale";
    default: return "error";
    }
}

/* ---- messages to the main loop ---- */

static struct out_mail *out_new(struct device *dev, enum out_kind kind)
{
    struct out_mail *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->kind = kind;
    snprintf(m->device, sizeof(m->device), "%s", dev->id);
    return m;
}

/* Backpressure: a device flooding faster than the bus publishes waits
 * here (its bytes wait in the kernel) instead of growing memory or losing
 * events. */
#define OUTBOX_HIGH_WATER 5000

static void wait_for_outbox_room(struct device *dev)
{
    while (mailbox_depth(dev->outbox) > OUTBOX_HIGH_WATER && !dev->stop)
        usleep(1000);
}

/* subject: the device (NULL) or one of its children */
static void post_event(struct device *dev, const char *subject, const char *cls, const char *event,
                       json_t *data, bool personal, const struct timespec *when)
{
    wait_for_outbox_room(dev);
    struct out_mail *m = out_new(dev, OUT_EVENT);
    if (!m) {
        json_decref(data);
        return;
    }
    if (subject)
        snprintf(m->device, sizeof(m->device), "%s", subject);
    snprintf(m->cls, sizeof(m->cls), "%s", cls);
    snprintf(m->event, sizeof(m->event), "%s", event);
    m->personal = personal ? dev->plugin->personal : NULL;
    if (m->personal) {
        m->data = data; /* the main thread masks it */
    } else {
        /* encoded here, on the device's thread, to spare the one that publishes */
        m->data_json = json_dumps(data, JSON_COMPACT);
        json_decref(data);
    }
    if (when)
        m->time = *when;
    else
        clock_now(&m->time);
    mailbox_post(dev->outbox, &m->link);
}

static void post_reply(struct device *dev, void *route, int status, json_t *result)
{
    struct out_mail *m = out_new(dev, OUT_REPLY);
    if (!m) {
        json_decref(result);
        return;
    }
    m->route = route;
    m->status = status;
    m->data = result;
    mailbox_post(dev->outbox, &m->link);
}

/* ---- the host API handed to plugins ---- */

static const char *host_device_id(struct agw_device *d) { return ((struct device *)d)->id; }

static const char *host_config(struct agw_device *d, const char *key)
{
    struct device *dev = (struct device *)d;
    for (size_t i = 0; i < dev->n_settings; i++)
        if (strcmp(dev->settings[i].key, key) == 0)
            return dev->settings[i].value;
    return NULL;
}

/* ---- typed config values (ABI 1.3) ---- */

static void host_set_state(struct agw_device *d, enum agw_state state, const char *reason);

static const struct device_setting *find_setting(struct device *dev, const char *key)
{
    for (size_t i = 0; i < dev->n_settings; i++)
        if (strcmp(dev->settings[i].key, key) == 0)
            return &dev->settings[i];
    return NULL;
}

/* The refusal, said once where an installer looks (the log, with FILE:LINE)
 * and on device/<id>/state: the plugin only returns the -EINVAL. */
static int refuse_setting(struct device *dev, const struct device_setting *s, const char *must)
{
    char why[600];
    snprintf(why, sizeof(why), "%s%skey '%s' in [device %s] must be %s, not '%.200s'",
             s->where ? s->where : "", s->where ? ": " : "", s->key, dev->id, must, s->value);
    log_err("%s", why);
    /* the state's reason is short: the file's name, not its whole path */
    const char *slash = s->where ? strrchr(s->where, '/') : NULL;
    snprintf(why, sizeof(why), "%s%skey '%s' must be %s, not '%.40s'",
             s->where ? (slash ? slash + 1 : s->where) : "", s->where ? ": " : "", s->key, must,
             s->value);
    host_set_state((struct agw_device *)dev, AGW_STATE_ERROR, why);
    return -EINVAL;
}

/* Digits only (no sign, no space, no hex): what an installer means by a number. */
static bool parse_decimal(const char *text, unsigned long long *out, const char **rest)
{
    unsigned long long v = 0;
    const char *p = text;
    while (*p >= '0' && *p <= '9') {
        if (v > (ULLONG_MAX - 9) / 10)
            return false;
        v = v * 10 + (unsigned)(*p++ - '0');
    }
    *out = v;
    *rest = p;
    return p > text;
}

static int host_config_uint(struct agw_device *d, const char *key, unsigned def, unsigned min,
                            unsigned max, unsigned *out)
{
    struct device *dev = (struct device *)d;
    const struct device_setting *s = find_setting(dev, key);
    unsigned long long v;
    const char *rest;
    *out = def;
    if (!s)
        return 0;
    if (!parse_decimal(s->value, &v, &rest) || *rest || v < min || v > max) {
        char must[96];
        snprintf(must, sizeof(must), "a whole number from %u to %u", min, max);
        return refuse_setting(dev, s, must);
    }
    *out = (unsigned)v;
    return 0;
}

static int host_config_bool(struct agw_device *d, const char *key, int def, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1", NULL};
    static const char *const no[] = {"no", "false", "off", "0", NULL};
    struct device *dev = (struct device *)d;
    const struct device_setting *s = find_setting(dev, key);
    *out = def;
    if (!s)
        return 0;
    for (size_t i = 0; yes[i]; i++)
        if (strcasecmp(s->value, yes[i]) == 0 || strcasecmp(s->value, no[i]) == 0) {
            *out = strcasecmp(s->value, yes[i]) == 0;
            return 0;
        }
    return refuse_setting(dev, s, "yes or no");
}

static int host_config_enum(struct agw_device *d, const char *key, const char *const *names,
                            int def, int *out)
{
    struct device *dev = (struct device *)d;
    const struct device_setting *s = find_setting(dev, key);
    *out = def;
    if (!s)
        return 0;
    char must[300] = "one of";
    for (int i = 0; names[i]; i++) {
        if (strcmp(s->value, names[i]) == 0) {
            *out = i;
            return 0;
        }
        size_t used = strlen(must);
        snprintf(must + used, sizeof(must) - used, "%s %s", i ? "," : "", names[i]);
    }
    return refuse_setting(dev, s, must);
}

static int host_config_ms(struct agw_device *d, const char *key, unsigned def_ms, unsigned min_ms,
                          unsigned max_ms, unsigned *out)
{
    struct device *dev = (struct device *)d;
    const struct device_setting *s = find_setting(dev, key);
    unsigned long long v;
    const char *unit;
    *out = def_ms;
    if (!s)
        return 0;
    unsigned long long scale = 0;
    if (parse_decimal(s->value, &v, &unit))
        scale = !*unit || !strcmp(unit, "ms") ? 1 : !strcmp(unit, "s") ? 1000
              : !strcmp(unit, "min") ? 60000 : 0;
    if (!scale || v > max_ms / scale || v * scale < min_ms) {
        char must[120];
        snprintf(must, sizeof(must), "a duration from %u to %u ms (1500, 1500ms, 2s, 5min)",
                 min_ms, max_ms);
        return refuse_setting(dev, s, must);
    }
    *out = (unsigned)(v * scale);
    return 0;
}

static const char *host_config_nth(struct agw_device *d, size_t n, const char **value)
{
    struct device *dev = (struct device *)d;
    if (n >= dev->n_settings)
        return NULL;
    *value = dev->settings[n].value;
    return dev->settings[n].key;
}

static void host_log(struct agw_device *d, int level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct device *dev = (struct device *)d;
    log_keyed(level, fmt, "device %s (%s): %s", dev->id, dev->plugin->id, msg);
}

static int host_emit(struct agw_device *d, const char *event, json_t *data)
{
    struct device *dev = (struct device *)d;
    if (!event || !envelope_valid_name(event)) {
        log_err("device %s (%s): event name refused (a-z 0-9 _ -, at most 48)", dev->id,
                dev->plugin->id);
        json_decref(data);
        return -EINVAL;
    }
    if (!data)
        data = json_object();
    if (!json_is_object(data)) {
        log_err("device %s (%s): event %s data is not a JSON object", dev->id, dev->plugin->id,
                event);
        json_decref(data);
        return -EINVAL;
    }
    if (dev->location && !json_object_get(data, "location"))
        json_object_set_new(data, "location", json_string(dev->location));
    post_event(dev, NULL, dev->plugin->device_class, event, data, dev->plugin->personal != NULL,
               dev->input_time.tv_sec ? &dev->input_time : NULL);
    return 0;
}

static void post_changed(struct device *dev)
{
    struct out_mail *m = out_new(dev, OUT_CHANGED);
    if (m)
        mailbox_post(dev->outbox, &m->link);
}

/* From the worker, or from the main loop's hang watch: read under the lock. */
static void publish_state(struct device *dev)
{
    post_changed(dev);
    pthread_mutex_lock(&dev->lock);
    json_t *data = json_pack("{s:s, s:s}", "state", device_state_name(dev->state), "reason",
                             dev->reason);
    pthread_mutex_unlock(&dev->lock);
    post_event(dev, NULL, "device", "state", data, false, NULL);
}

static void host_set_state(struct agw_device *d, enum agw_state state, const char *reason)
{
    struct device *dev = (struct device *)d;
    if (dev->in_open)
        dev->state_set = true;
    pthread_mutex_lock(&dev->lock);
    bool changed = dev->state != state || strcmp(dev->reason, reason ? reason : "") != 0;
    dev->state = state;
    snprintf(dev->reason, sizeof(dev->reason), "%s", reason ? reason : "");
    pthread_mutex_unlock(&dev->lock);
    if (changed) {
        log_msg(state == AGW_STATE_UP ? AGW_LOG_INFO : AGW_LOG_WARNING, "device %s: %s%s%s",
                dev->id, device_state_name(state), reason && *reason ? ": " : "",
                reason ? reason : "");
        dev->republish_state = false;
        publish_state(dev);
    }
}

/* ---- hang watch (the worker's half) ---- */

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
        publish_state(dev);
    }
}

/* Every call into a plugin goes through here, so the main loop can see a hang. */
#define CALL_PLUGIN(dev, callback, call) \
    do {                                 \
        plugin_enter(dev, callback);     \
        call;                            \
        plugin_leave(dev);               \
    } while (0)

bool device_check_hung(struct device *dev, unsigned limit_ms, char *reason, size_t len)
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
        snprintf(reason, len, "%s", dev->reason);
    }
    pthread_mutex_unlock(&dev->lock);
    if (hung)
        log_err("device %s: plugin %s %s; the device is reported down until it returns", dev->id,
                dev->plugin->id, reason);
    return hung;
}

static ssize_t note_gone(struct device *dev, ssize_t r)
{
    if (r == -ENODEV)
        dev->lost = true;
    return r;
}

static ssize_t host_write(struct agw_device *d, const void *buf, size_t len)
{
    struct device *dev = (struct device *)d;
    if (!dev->opened && !dev->in_open)
        return -ENODEV;
    return note_gone(dev, dev->tr.ops->write(&dev->tr, buf, len));
}

static ssize_t host_read(struct agw_device *d, void *buf, size_t max, int timeout_ms)
{
    struct device *dev = (struct device *)d;
    if (!dev->opened && !dev->in_open)
        return -ENODEV;
    ssize_t r = note_gone(dev, dev->tr.ops->read(&dev->tr, buf, max, timeout_ms));
    if (r > 0)
        clock_now(&dev->input_time);
    return r;
}

static void host_flush_input(struct agw_device *d)
{
    struct device *dev = (struct device *)d;
    dev->tr.ops->flush_input(&dev->tr);
}

static void host_set_timer(struct agw_device *d, unsigned interval_ms)
{
    struct device *dev = (struct device *)d;
    dev->timer_ms = interval_ms;
    monotonic_now(&dev->next_timer);
    add_ms(&dev->next_timer, interval_ms);
}

static void host_set_userdata(struct agw_device *d, void *data) { ((struct device *)d)->userdata = data; }
static void *host_userdata(struct agw_device *d) { return ((struct device *)d)->userdata; }
static const char *host_state_dir(struct agw_device *d)
{
    (void)d;
    return state_dir_value;
}

static enum agw_transport host_transport(struct agw_device *d)
{
    return ((struct device *)d)->transport_kind;
}

static void state_file_name(struct device *dev, char *buf, size_t len)
{
    snprintf(buf, len, "%s.%s.json", dev->plugin->id, dev->id);
}

/* The main thread publishes gateway/<id>/degraded; once per failing streak. */
static void report_degraded_once(struct device *dev, const char *reason)
{
    if (dev->degraded_said)
        return;
    dev->degraded_said = true;
    struct out_mail *m = out_new(dev, OUT_DEGRADED);
    if (!m)
        return;
    m->data = json_pack("{s:s}", "reason", reason);
    mailbox_post(dev->outbox, &m->link);
}

static int host_save_state(struct agw_device *d, const json_t *state)
{
    struct device *dev = (struct device *)d;
    char name[160];
    state_file_name(dev, name, sizeof(name));
    char *text = json_dumps(state, JSON_COMPACT);
    if (!text)
        return -EINVAL;
    int r = state_write_file(state_dir_value, name, text, strlen(text));
    int e = errno;
    free(text);
    if (r < 0) {
        char reason[512];
        snprintf(reason, sizeof(reason), "device %s: cannot save its state to %s/%s: %s", dev->id,
                 state_dir_value, name, strerror(e));
        log_err("DEGRADED: %s", reason);
        report_degraded_once(dev, reason);
        return -e;
    }
    dev->degraded_said = false;
    return 0;
}

static json_t *host_load_state(struct agw_device *d)
{
    struct device *dev = (struct device *)d;
    char name[160], path[4096];
    state_file_name(dev, name, sizeof(name));
    snprintf(path, sizeof(path), "%s/%s", state_dir_value, name);
    json_error_t err;
    json_t *state = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (state && !json_is_object(state)) {
        json_decref(state);
        state = NULL;
        snprintf(err.text, sizeof(err.text), "not a JSON object");
        err.line = 1;
    }
    if (!state && errno != ENOENT && access(path, F_OK) == 0) {
        /* Kept aside, not overwritten by the next save: what it held can still be read. */
        char aside[4200];
        snprintf(aside, sizeof(aside), "%s.corrupt-%lld", path, (long long)time(NULL));
        bool kept = rename(path, aside) == 0;
        log_err("device %s: %s:%d: unreadable state, starting empty: %s%s%s", dev->id, path,
                err.line, err.text, kept ? "; the file is kept as " : "", kept ? aside : "");
    } else if (state) {
        log_info("device %s: state restored from %s", dev->id, path);
    }
    return state;
}

static int host_hid_ids(struct agw_device *d, uint16_t *vid, uint16_t *pid)
{
    struct device *dev = (struct device *)d;
    uint8_t desc[1];
    int r = dev->path ? hotplug_hid_info(dev->path, vid, pid, desc, sizeof(desc)) : -ENODEV;
    return r < 0 ? r : 0;
}

static ssize_t host_hid_descriptor(struct agw_device *d, uint8_t *buf, size_t max)
{
    struct device *dev = (struct device *)d;
    uint16_t vid, pid;
    return dev->path ? hotplug_hid_info(dev->path, &vid, &pid, buf, max) : -ENODEV;
}

static int host_hid_names(struct agw_device *d, int *interface, char *product, size_t len)
{
    struct device *dev = (struct device *)d;
    return dev->path ? hotplug_hid_names(dev->path, interface, product, len) : -ENODEV;
}

static void host_set_info(struct agw_device *d, const char *key, const char *value)
{
    struct device *dev = (struct device *)d;
    pthread_mutex_lock(&dev->lock);
    if (!dev->info)
        dev->info = json_object();
    if (value)
        json_object_set_new(dev->info, key, json_string(value));
    else
        json_object_del(dev->info, key);
    pthread_mutex_unlock(&dev->lock);
    post_changed(dev);
}

static bool child_known(struct device *dev, const char *id)
{
    for (size_t i = 0; i < dev->n_children; i++)
        if (strcmp(dev->children[i].id, id) == 0)
            return true;
    return false;
}

static int host_add_child(struct agw_device *d, const char *child_id, const char *location)
{
    struct device *dev = (struct device *)d;
    if (!child_id || strlen(child_id) > DEVICE_ID_MAX || !config_valid_name(child_id) ||
        strcmp(child_id, dev->id) == 0)
        return -EINVAL;
    pthread_mutex_lock(&dev->lock);
    int r = 0;
    if (child_known(dev, child_id)) {
        r = -EEXIST;
    } else {
        struct device_child *grown = realloc(dev->children, (dev->n_children + 1) * sizeof(*grown));
        if (!grown) {
            r = -ENOMEM;
        } else {
            dev->children = grown;
            struct device_child *c = &dev->children[dev->n_children++];
            snprintf(c->id, sizeof(c->id), "%s", child_id);
            snprintf(c->location, sizeof(c->location), "%s", location ? location : "");
        }
    }
    pthread_mutex_unlock(&dev->lock);
    if (r == 0) {
        post_changed(dev);
        json_t *data = json_pack("{s:s, s:s, s:s, s:b, s:s}", "plugin", dev->plugin->id, "class",
                                 dev->plugin->device_class, "transport",
                                 transport_name(dev->transport_kind), "hotplug", 0, "parent", dev->id);
        if (location && *location)
            json_object_set_new(data, "location", json_string(location));
        post_event(dev, child_id, "device", "attached", data, false, NULL);
    }
    return r;
}

static int host_emit_for(struct agw_device *d, const char *child_id, const char *event, json_t *data)
{
    struct device *dev = (struct device *)d;
    pthread_mutex_lock(&dev->lock);
    bool known = child_id && child_known(dev, child_id);
    pthread_mutex_unlock(&dev->lock);
    if (!known || !event || !envelope_valid_name(event) || (data && !json_is_object(data))) {
        log_err("device %s (%s): emit_for refused (unknown child or bad event)", dev->id,
                dev->plugin->id);
        json_decref(data);
        return -EINVAL;
    }
    post_event(dev, child_id, dev->plugin->device_class, event, data ? data : json_object(),
               dev->plugin->personal != NULL, dev->input_time.tv_sec ? &dev->input_time : NULL);
    return 0;
}

static const char *host_command_target(struct agw_device *d)
{
    struct device *dev = (struct device *)d;
    return dev->command_target ? dev->command_target : dev->id;
}

static struct transport *ble_transport(struct device *dev)
{
    return dev->tr.ops == &transport_bluez_ops && (dev->opened || dev->in_open) ? &dev->tr : NULL;
}

static ssize_t host_gatt_read(struct agw_device *d, const char *uuid, uint8_t *buf, size_t max)
{
    struct transport *t = ble_transport((struct device *)d);
    return t ? bluez_gatt_read(t, uuid, buf, max) : -ENOTSUP;
}

static int host_gatt_write(struct agw_device *d, const char *uuid, const uint8_t *data, size_t len,
                           uint8_t *att_error)
{
    struct transport *t = ble_transport((struct device *)d);
    return t ? bluez_gatt_write(t, uuid, data, len, att_error) : -ENOTSUP;
}

static int host_gatt_notify(struct agw_device *d, const char *uuid)
{
    struct transport *t = ble_transport((struct device *)d);
    return t ? bluez_gatt_notify(t, uuid) : -ENOTSUP;
}

static const char *host_ble_name(struct agw_device *d)
{
    struct transport *t = ble_transport((struct device *)d);
    return t ? bluez_name(t) : "";
}

static const struct agw_hid_ext hid_ext = {sizeof(hid_ext), host_hid_ids, host_hid_descriptor,
                                           host_hid_names};
static const struct agw_bluez_ext bluez_ext = {sizeof(bluez_ext), host_gatt_read, host_gatt_write,
                                               host_gatt_notify, host_ble_name};

static const void *host_extension(struct agw_device *d, const char *name)
{
    enum agw_transport t = ((struct device *)d)->transport_kind;
    if (name && strcmp(name, AGW_EXT_HID) == 0 && t == AGW_TRANSPORT_HIDRAW)
        return &hid_ext;
    if (name && strcmp(name, AGW_EXT_BLUEZ) == 0 && t == AGW_TRANSPORT_BLUEZ)
        return &bluez_ext;
    return NULL;
}

static const struct agw_host host_api = {
    .struct_size = sizeof(struct agw_host),
    .device_id = host_device_id,
    .config = host_config,
    .log = host_log,
    .emit = host_emit,
    .set_state = host_set_state,
    .write = host_write,
    .read = host_read,
    .flush_input = host_flush_input,
    .set_timer = host_set_timer,
    .set_userdata = host_set_userdata,
    .userdata = host_userdata,
    .state_dir = host_state_dir,
    .transport = host_transport,
    .save_state = host_save_state,
    .load_state = host_load_state,
    .config_nth = host_config_nth,
    .hid_ids = host_hid_ids,
    .hid_descriptor = host_hid_descriptor,
    .hid_names = host_hid_names,
    .set_info = host_set_info,
    .add_child = host_add_child,
    .emit_for = host_emit_for,
    .command_target = host_command_target,
    .gatt_read = host_gatt_read,
    .gatt_write = host_gatt_write,
    .gatt_notify = host_gatt_notify,
    .ble_name = host_ble_name,
    .config_uint = host_config_uint,
    .config_bool = host_config_bool,
    .config_enum = host_config_enum,
    .config_ms = host_config_ms,
    .extension = host_extension,
};

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

static void try_open(struct device *dev)
{
    char err[256] = "";
    dev->tr.ops = transport_ops_for(dev->transport_kind);
    if (!dev->tr.ops) {
        host_set_state((struct agw_device *)dev, AGW_STATE_ERROR, "transport not supported by this gateway");
        schedule_retry(dev);
        return;
    }
    int r = dev->tr.ops->open(&dev->tr, dev->path, dev->baud, err, sizeof(err));
    if (r < 0) {
        host_set_state((struct agw_device *)dev, AGW_STATE_ERROR, err);
        schedule_retry(dev);
        return;
    }
    dev->in_open = true;
    dev->state_set = false;
    dev->lost = false;
    dev->timer_ms = 0;
    CALL_PLUGIN(dev, "open()", r = dev->plugin->open((struct agw_device *)dev, &host_api));
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
    if (dev->tr.ops == &transport_bluez_ops) /* tell the plugin where the link stands */
        sink_link(dev, bluez_link_up(&dev->tr), bluez_link_up(&dev->tr) ? "connected" : "not connected");
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
    dev->timer_ms = 0;
}

static void handle_lost(struct device *dev)
{
    close_device(dev, true);
    dev->lost = false;
    host_set_state((struct agw_device *)dev, AGW_STATE_ERROR, "device stopped answering or was unplugged");
    schedule_retry(dev);
}

static const char *const status_codes[] = {
    "ok", "unknown_verb", "bad_args", "device_error", "busy", "timeout", "unsupported",
};

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
        dev->command_target = m->target;
        CALL_PLUGIN(dev, "command()",
                    status = dev->plugin->command((struct agw_device *)dev, m->verb, m->args, &result));
        dev->command_target = NULL;
        if (status > 0 || status < AGW_CMD_UNSUPPORTED)
            status = AGW_CMD_DEVICE_ERROR;
    }
    if (status == AGW_CMD_OK && mask_has_personal(result, dev->plugin->personal)) {
        /* the control socket is as public as the events endpoint */
        json_t *masked = mask_public_view(result, dev->plugin->personal);
        mask_wipe_decref(result);
        result = masked;
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

static void free_in_mail(struct device *dev, struct in_mail *m)
{
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
    else if (dev->timer_ms)
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

/* Waits for input, mail or the next timer, and hands input to the plugin. */
static void wait_for_work(struct device *dev, int timeout)
{
    uint8_t buf[INPUT_BUFFER];
    if (dev->opened && dev->tr.ops->process) {
        process_events(dev);
        struct pollfd p[2] = {{.fd = dev->inbox.fd, .events = POLLIN},
                              {.fd = dev->tr.ops->pollfd(&dev->tr), .events = POLLIN}};
        poll(p, 2, timeout);
        process_events(dev);
        return;
    }
    bool wants_input = dev->opened && dev->plugin->on_input;
    int fd = wants_input ? dev->tr.ops->pollfd(&dev->tr) : -1;
    if (wants_input && fd < 0 && dev->tr.ops != &transport_none_ops) {
        int slice = (timeout < 0 || timeout > USB_POLL_MS) ? USB_POLL_MS : timeout;
        deliver_input(dev, buf, dev->tr.ops->read(&dev->tr, buf, sizeof(buf), slice));
        return;
    }
    struct pollfd p[2] = {{.fd = dev->inbox.fd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int n = poll(p, fd >= 0 ? 2 : 1, timeout);
    if (n > 0 && fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
        deliver_input(dev, buf, dev->tr.ops->read(&dev->tr, buf, sizeof(buf), 0));
}

static void run_timer_if_due(struct device *dev)
{
    if (!dev->opened || !dev->timer_ms || !dev->plugin->on_timer || ms_until(&dev->next_timer) > 0)
        return;
    monotonic_now(&dev->next_timer);
    add_ms(&dev->next_timer, dev->timer_ms);
    dev->input_time.tv_sec = 0;
    CALL_PLUGIN(dev, "on_timer()", dev->plugin->on_timer((struct agw_device *)dev));
}

static void *worker_main(void *arg)
{
    struct device *dev = arg;
    bool removed = false;
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
    struct out_mail *m = out_new(dev, OUT_EXITED);
    if (m)
        mailbox_post(dev->outbox, &m->link);
    return NULL;
}

/* ---- main-thread side ---- */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

struct device *device_new(const struct device_params *p, struct mailbox *outbox)
{
    struct device *dev = calloc(1, sizeof(*dev));
    if (!dev)
        return NULL;
    dev->pub.host = &host_api;
    snprintf(dev->id, sizeof(dev->id), "%s", p->id);
    dev->plugin = p->plugin;
    dev->transport_kind = p->transport;
    dev->path = dup_or_null(p->path);
    dev->baud = p->baud;
    dev->location = dup_or_null(p->location);
    dev->syspath = dup_or_null(p->syspath);
    dev->settings = calloc(p->n_settings + 1, sizeof(*dev->settings));
    for (size_t i = 0; dev->settings && i < p->n_settings; i++) {
        dev->settings[i].key = strdup(p->settings[i].key);
        dev->settings[i].value = strdup(p->settings[i].value);
        dev->settings[i].where = dup_or_null(p->settings[i].where);
    }
    dev->n_settings = dev->settings ? p->n_settings : 0;
    dev->outbox = outbox;
    dev->tr.fd = -1;
    dev->state = AGW_STATE_ERROR;
    snprintf(dev->reason, sizeof(dev->reason), "not opened yet");
    pthread_mutex_init(&dev->lock, NULL);
    if (mailbox_init(&dev->inbox) < 0) {
        device_free(dev);
        return NULL;
    }
    return dev;
}

int device_start(struct device *dev)
{
    int r = pthread_create(&dev->thread, NULL, worker_main, dev);
    if (r != 0) {
        log_err("device %s: cannot start its worker thread: %s", dev->id, strerror(r));
        return -1;
    }
    char name[16];
    snprintf(name, sizeof(name), "dev:%.11s", dev->id);
    pthread_setname_np(dev->thread, name);
    dev->thread_started = true;
    return 0;
}

void device_request_stop(struct device *dev, bool removed)
{
    dev->retiring = true;
    struct in_mail *m = calloc(1, sizeof(*m));
    if (!m)
        return;
    m->kind = IN_STOP;
    m->removed = removed;
    mailbox_post(&dev->inbox, &m->link);
}

void device_post_command(struct device *dev, const char *target, char *verb, json_t *args,
                         void *route)
{
    struct in_mail *m = calloc(1, sizeof(*m));
    if (!m) {
        free(verb);
        json_decref(args);
        return;
    }
    m->kind = IN_COMMAND;
    snprintf(m->target, sizeof(m->target), "%s", target);
    m->verb = verb;
    m->args = args;
    m->route = route;
    mailbox_post(&dev->inbox, &m->link);
}

void device_free(struct device *dev)
{
    if (!dev)
        return;
    if (dev->thread_started)
        pthread_join(dev->thread, NULL);
    /* Mail that arrived after the worker's last look: answer and drop it. */
    for (struct mail *m = dev->inbox.fd >= 0 ? mailbox_take_all(&dev->inbox) : NULL; m;) {
        struct mail *next = m->next;
        free_in_mail(dev, (struct in_mail *)m);
        m = next;
    }
    mailbox_destroy(&dev->inbox);
    for (size_t i = 0; i < dev->n_settings; i++) {
        free(dev->settings[i].key);
        free(dev->settings[i].value);
        free(dev->settings[i].where);
    }
    free(dev->settings);
    free(dev->path);
    free(dev->location);
    free(dev->syspath);
    json_decref(dev->info);
    free(dev->children);
    pthread_mutex_destroy(&dev->lock);
    free(dev);
}

bool device_has_child(struct device *dev, const char *id)
{
    pthread_mutex_lock(&dev->lock);
    bool known = child_known(dev, id);
    pthread_mutex_unlock(&dev->lock);
    return known;
}

json_t *device_children(struct device *dev)
{
    json_t *list = json_array();
    pthread_mutex_lock(&dev->lock);
    for (size_t i = 0; i < dev->n_children; i++)
        json_array_append_new(list, json_pack("{s:s, s:s}", "id", dev->children[i].id, "location",
                                              dev->children[i].location));
    pthread_mutex_unlock(&dev->lock);
    return list;
}

json_t *device_get_info(struct device *dev)
{
    pthread_mutex_lock(&dev->lock);
    json_t *copy = dev->info ? json_deep_copy(dev->info) : json_object();
    pthread_mutex_unlock(&dev->lock);
    return copy;
}

void device_get_state(struct device *dev, enum agw_state *state, char *reason, size_t len)
{
    pthread_mutex_lock(&dev->lock);
    *state = dev->state;
    snprintf(reason, len, "%s", dev->reason);
    pthread_mutex_unlock(&dev->lock);
}

const char *device_status_code(int status)
{
    int i = -status;
    return (i >= 0 && i < (int)(sizeof(status_codes) / sizeof(status_codes[0]))) ? status_codes[i]
                                                                                  : "device_error";
}
