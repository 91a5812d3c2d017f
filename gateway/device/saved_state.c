/* What devices keep across restarts (state_dir/<plugin>/<device>.json),
 * written here or, in a plugin host, by accessgwd (device_use_parent).
 * Worker threads. */
#define _GNU_SOURCE
#include "device_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "monotonic.h"
#include "state.h"

/* Set once at start, before any worker: a copy, because the configuration it
 * comes from is freed at every reload while workers keep reading this. */
static char *state_dir_value;
const char *device_state_dir(void) { return state_dir_value; }

bool device_parent_keeps_state;

/* accessgwd answers within milliseconds (one fsync); longer means it is stuck,
 * and a plugin inside save_state must not be reported hung for its sake. */
#define SAVE_WAIT_MS 2000

void device_set_state_dir(const char *dir)
{
    free(state_dir_value);
    state_dir_value = dir ? strdup(dir) : NULL;
}

void device_use_parent(void) { device_parent_keeps_state = true; }

static void state_path(char *buf, size_t len, const char *dir, const char *plugin_id,
                       const char *device_id)
{
    snprintf(buf, len, "%s/%s.%s.json", dir, plugin_id, device_id);
}

json_t *device_state_read(const char *dir, const char *plugin_id, const char *device_id)
{
    char path[4096];
    state_path(path, sizeof(path), dir, plugin_id, device_id);
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
        log_err("device %s: %s:%d: unreadable state, starting empty: %s%s%s", device_id, path,
                err.line, err.text, kept ? "; the file is kept as " : "", kept ? aside : "");
    } else if (state) {
        log_info("device %s: state restored from %s", device_id, path);
    }
    return state;
}

int device_state_write(const char *dir, const char *plugin_id, const char *device_id,
                       const char *json, char *why, size_t len)
{
    char name[160];
    snprintf(name, sizeof(name), "%s.%s.json", plugin_id, device_id);
    if (state_write_file(dir, name, json, strlen(json)) == 0)
        return 0;
    int e = errno;
    snprintf(why, len, "device %s: cannot save its state to %s/%s: %s", device_id, dir, name,
             strerror(e));
    return -e;
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

void device_saved(struct device *dev, int error)
{
    dev->save_result = error > 0 ? -error : error;
    sem_post(&dev->save_answered);
}

/* In a plugin host accessgwd writes the file; save_state returns when it is
 * on disk, as in one process, so the SDK's promise holds either way. */
static int save_through_parent(struct device *dev, const json_t *state)
{
    struct out_mail *m = out_new(dev, OUT_SAVE);
    char *text = json_dumps(state, JSON_COMPACT);
    json_t *copy = json_deep_copy(state);
    if (!m || !text || !copy) {
        free(m);
        free(text);
        json_decref(copy);
        return -ENOMEM;
    }
    json_decref(dev->saved_state);
    dev->saved_state = copy; /* what the next open() loads, should this host reopen it */
    m->data_json = text;
    wait_for_outbox_room(dev);
    mailbox_post(dev->outbox, &m->link);
    mailbox_flush(dev->outbox);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    add_ms(&until, SAVE_WAIT_MS);
    /* Answers come in the order the saves went; those of saves whose wait ended
     * before them come first (a slow disk), and are not this one's. */
    for (;;) {
        if (sem_timedwait(&dev->save_answered, &until) < 0) {
            if (errno == EINTR)
                continue;
            log_err("device %s: accessgwd did not confirm its saved state within %d ms",
                    dev->id, SAVE_WAIT_MS);
            dev->saves_unanswered++;
            return -ETIMEDOUT;
        }
        if (dev->saves_unanswered == 0)
            return dev->save_result;
        dev->saves_unanswered--;
    }
}

int host_save_state(struct agw_device *d, const json_t *state)
{
    struct device *dev = (struct device *)d;
    if (!json_is_object(state))
        return -EINVAL;
    if (device_parent_keeps_state)
        return save_through_parent(dev, state);
    char *text = json_dumps(state, JSON_COMPACT);
    if (!text)
        return -EINVAL;
    char reason[512];
    int r = device_state_write(state_dir_value, dev->plugin->id, dev->id, text, reason,
                               sizeof(reason));
    free(text);
    if (r < 0) {
        log_err("DEGRADED: %s", reason);
        report_degraded_once(dev, reason);
        return r;
    }
    dev->degraded_said = false;
    return 0;
}

json_t *host_load_state(struct agw_device *d)
{
    struct device *dev = (struct device *)d;
    if (device_parent_keeps_state)
        return json_deep_copy(dev->saved_state);
    return device_state_read(state_dir_value, dev->plugin->id, dev->id);
}
