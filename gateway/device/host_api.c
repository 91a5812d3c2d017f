/* The host tables a plugin calls (struct agw_host, and ABI 1.x's flat
 * struct agw1_host), on the device's worker thread. */
#define _GNU_SOURCE
#include "device_internal.h"
#include "abi1.h"

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
#include "hid_sysfs.h"
#include "config.h"
#include "loader.h"
#include "copy_text.h"
#include "log.h"
#include "monotonic.h"
#include "mask.h"
#include "state.h"

/* ---- the host API handed to plugins ---- */

static const char *host_device_id(struct agw_device *d) { return ((struct device *)d)->id; }

static const struct device_setting *find_setting(struct device *dev, const char *key)
{
    for (size_t i = 0; i < dev->n_settings; i++)
        if (strcmp(dev->settings[i].key, key) == 0)
            return &dev->settings[i];
    return NULL;
}

/* What a plugin may read of its section: ABI 1.x plugins every key, the host's
 * own (path, location) too, as 1.x did; 2.0 plugins only the keys they declared.
 * Every config call, plain or typed, reads through here. */
static bool plugin_may_read(const struct device *dev, const char *key)
{
    return abi1_is_imported(dev->plugin) || plugin_accepts_key(dev->plugin, key);
}

static const struct device_setting *plugin_setting(struct device *dev, const char *key)
{
    return plugin_may_read(dev, key) ? find_setting(dev, key) : NULL;
}

static const char *host_config(struct agw_device *d, const char *key)
{
    const struct device_setting *s = plugin_setting((struct device *)d, key);
    return s ? s->value : NULL;
}

/* ---- typed config values (ABI 1.3) ---- */

void host_set_state(struct agw_device *d, enum agw_state state, const char *reason);

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
    const struct device_setting *s = plugin_setting(dev, key);
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
    struct device *dev = (struct device *)d;
    const struct device_setting *s = plugin_setting(dev, key);
    bool value;
    *out = def;
    if (!s)
        return 0;
    if (config_parse_bool(s->value, &value) < 0)
        return refuse_setting(dev, s, "yes or no");
    *out = value;
    return 0;
}

static int host_config_enum(struct agw_device *d, const char *key, const char *const *names,
                            int def, int *out)
{
    struct device *dev = (struct device *)d;
    const struct device_setting *s = plugin_setting(dev, key);
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
    const struct device_setting *s = plugin_setting(dev, key);
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
    for (size_t i = 0; i < dev->n_settings; i++) {
        if (!plugin_may_read(dev, dev->settings[i].key))
            continue;
        if (n-- == 0) {
            *value = dev->settings[i].value;
            return dev->settings[i].key;
        }
    }
    return NULL;
}


static void host_vlog(struct agw_device *d, int level, const char *fmt, va_list ap)
{
    if (!log_enabled(level))
        return;
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    struct device *dev = (struct device *)d;
    log_keyed(level, fmt, "device %s (%s): %s", dev->id, dev->plugin->id, msg);
}

__attribute__((format(printf, 3, 4))) static void host_log_v1(struct agw_device *d, int level,
                                                              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    host_vlog(d, level, fmt, ap);
    va_end(ap);
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

/* ---- hang watch (the worker's half) ---- */

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
    if (timeout_ms > 0) /* what the plugin published goes before it waits */
        mailbox_flush(dev->outbox);
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
    device_set_timer((struct device *)d, interval_ms);
}

static void host_set_userdata(struct agw_device *d, void *data) { ((struct device *)d)->userdata = data; }
static void *host_userdata(struct agw_device *d) { return ((struct device *)d)->userdata; }
static const char *host_state_dir_v1(struct agw_device *d)
{
    (void)d;
    return device_state_dir(); /* in a plugin host: where accessgwd keeps them, not writable */
}

static enum agw_transport host_transport(struct agw_device *d)
{
    return ((struct device *)d)->transport_kind;
}



static int host_hid_ids(struct agw_device *d, uint16_t *vid, uint16_t *pid)
{
    struct device *dev = (struct device *)d;
    uint8_t desc[1];
    int r = dev->path ? hidraw_node_info(dev->path, vid, pid, desc, sizeof(desc)) : -ENODEV;
    return r < 0 ? r : 0;
}

static ssize_t host_hid_descriptor(struct agw_device *d, uint8_t *buf, size_t max)
{
    struct device *dev = (struct device *)d;
    uint16_t vid, pid;
    return dev->path ? hidraw_node_info(dev->path, &vid, &pid, buf, max) : -ENODEV;
}

static int host_hid_names(struct agw_device *d, int *interface, char *product, size_t len)
{
    struct device *dev = (struct device *)d;
    return dev->path ? hidraw_node_names(dev->path, interface, product, len) : -ENODEV;
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
    char location[sizeof(dev->children[0].location)] = "";
    pthread_mutex_lock(&dev->lock);
    bool known = child_id && child_known(dev, child_id);
    for (size_t i = 0; known && i < dev->n_children; i++)
        if (strcmp(dev->children[i].id, child_id) == 0)
            snprintf(location, sizeof(location), "%s", dev->children[i].location);
    pthread_mutex_unlock(&dev->lock);
    if (!known || !event || !envelope_valid_name(event) || (data && !json_is_object(data))) {
        log_err("device %s (%s): emit_for refused (unknown child or bad event)", dev->id,
                dev->plugin->id);
        json_decref(data);
        return -EINVAL;
    }
    if (!data)
        data = json_object();
    /* the host adds where the device is, for a child as for a device (emit) */
    if (location[0] && !json_object_get(data, "location"))
        json_object_set_new(data, "location", json_string(location));
    post_event(dev, child_id, dev->plugin->device_class, event, data,
               dev->plugin->personal != NULL, dev->input_time.tv_sec ? &dev->input_time : NULL);
    return 0;
}

/* 2.0 passes the target to command(); 1.x asked for it (abi1.c sets it). */
static const char *host_command_target_v1(struct agw_device *d)
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

static struct transport *card_transport(struct device *dev)
{
    return dev->tr.ops == &transport_pcsc_ops && (dev->opened || dev->in_open) ? &dev->tr : NULL;
}

static ssize_t host_pcsc_transmit(struct agw_device *d, const uint8_t *apdu, size_t len,
                                  uint8_t *answer, size_t max)
{
    struct transport *t = card_transport((struct device *)d);
    return t ? pcsc_transmit(t, apdu, len, answer, max) : -ENOTSUP;
}

static ssize_t host_pcsc_atr(struct agw_device *d, uint8_t *buf, size_t max)
{
    struct transport *t = card_transport((struct device *)d);
    return t ? pcsc_atr(t, buf, max) : -ENOTSUP;
}

static const char *host_pcsc_reader(struct agw_device *d)
{
    struct transport *t = card_transport((struct device *)d);
    return t ? pcsc_reader_name(t) : "";
}

static const struct agw_hid_ext hid_ext = {sizeof(hid_ext), host_hid_ids, host_hid_descriptor,
                                           host_hid_names};
static const struct agw_bluez_ext bluez_ext = {sizeof(bluez_ext), host_gatt_read, host_gatt_write,
                                               host_gatt_notify, host_ble_name};
static const struct agw_pcsc_ext pcsc_ext = {sizeof(pcsc_ext), host_pcsc_transmit, host_pcsc_atr,
                                             host_pcsc_reader};

static const void *host_extension(struct agw_device *d, const char *name)
{
    enum agw_transport t = ((struct device *)d)->transport_kind;
    if (name && strcmp(name, AGW_EXT_HID) == 0 && t == AGW_TRANSPORT_HIDRAW)
        return &hid_ext;
    if (name && strcmp(name, AGW_EXT_BLUEZ) == 0 && t == AGW_TRANSPORT_BLUEZ)
        return &bluez_ext;
    if (name && strcmp(name, AGW_EXT_PCSC) == 0 && t == AGW_TRANSPORT_PCSC)
        return &pcsc_ext;
    return NULL;
}

static const struct agw_host_device device_group = {
    .struct_size = sizeof(device_group),
    .id = host_device_id,
    .transport = host_transport,
    .config = host_config,
    .config_nth = host_config_nth,
    .config_uint = host_config_uint,
    .config_bool = host_config_bool,
    .config_enum = host_config_enum,
    .config_ms = host_config_ms,
    .set_userdata = host_set_userdata,
    .userdata = host_userdata,
};

static const struct agw_host_publish publish_group = {
    .struct_size = sizeof(publish_group),
    .vlog = host_vlog,
    .emit = host_emit,
    .set_state = host_set_state,
    .set_info = host_set_info,
    .add_child = host_add_child,
    .emit_for = host_emit_for,
};

static const struct agw_host_io io_group = {
    .struct_size = sizeof(io_group),
    .write = host_write,
    .read = host_read,
    .flush_input = host_flush_input,
};

static const struct agw_host_timer timer_group = {
    .struct_size = sizeof(timer_group),
    .set = host_set_timer,
};

static const struct agw_host_persist persist_group = {
    .struct_size = sizeof(persist_group),
    .save = host_save_state,
    .load = host_load_state,
};

const struct agw_host host_api = {
    .struct_size = sizeof(struct agw_host),
    .device = &device_group,
    .publish = &publish_group,
    .io = &io_group,
    .timer = &timer_group,
    .persist = &persist_group,
    .extension = host_extension,
};

/* ABI 1.x's flat table: the same services, and what 2.0 dropped (state_dir,
 * command_target, the hid_* and gatt_* entries now in extensions). */
const struct agw1_host host_api_v1 = {
    .struct_size = sizeof(struct agw1_host),
    .device_id = host_device_id,
    .config = host_config,
    .log = host_log_v1,
    .emit = host_emit,
    .set_state = host_set_state,
    .write = host_write,
    .read = host_read,
    .flush_input = host_flush_input,
    .set_timer = host_set_timer,
    .set_userdata = host_set_userdata,
    .userdata = host_userdata,
    .state_dir = host_state_dir_v1,
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
    .command_target = host_command_target_v1,
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
