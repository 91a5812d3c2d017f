/* The staff console's follow-ups: bad ratings, and which were handled (GET and POST /followups). */
#define _GNU_SOURCE
#include "web_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zmq.h>

#include "log.h"
#include "monotonic.h"
#include "state.h"

static void save_followups(struct web *w)
{
    char *text = json_dumps(w->followups, JSON_COMPACT);
    if (!text || state_write_file(w->conf.state_dir, w->followups_name, text, strlen(text)) < 0)
        log_err("web: cannot save the follow-up list to %s/%s: %s", w->conf.state_dir,
                w->followups_name, strerror(errno));
    free(text);
}

/* A bad rating (level <= 2) is kept for follow-up until staff mark it handled. */
static json_t *followup_of(struct web *w, const char *id)
{
    size_t i;
    json_t *item;
    json_array_foreach(w->followups, i, item) if (strcmp(json_string_value(json_object_get(item, "id")) ?: "", id) == 0)
        return item;
    return NULL;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* The follow-up list from the bus: a bad rating adds an item; a followup_handled (from
 * this console's process or another's) marks it, first come first kept. */
void note_followups(struct web *w, struct feed_event *fe)
{
    bool rating = strncmp(fe->topic, "evaluation/", 11) == 0 && ends_with(fe->topic, "/rating");
    bool handled = strncmp(fe->topic, "gateway/", 8) == 0 && ends_with(fe->topic, "/followup_handled");
    if (!rating && !handled)
        return;
    json_t *ev = json_loadb(fe->json, fe->json_len, 0, NULL);
    json_t *data = json_object_get(ev, "data");
    const char *id = json_string_value(json_object_get(rating ? ev : data, "id"));
    json_t *item = id ? followup_of(w, id) : NULL;
    if (rating && !item && json_is_true(json_object_get(data, "bad"))) {
        item = json_pack("{s:O, s:O, s:O, s:O, s:b}", "id", json_object_get(ev, "id"), "time",
                         json_object_get(ev, "time"), "device", json_object_get(ev, "subject"),
                         "data", data, "handled", 0);
        if (item) {
            json_array_append_new(w->followups, item);
            while (json_array_size(w->followups) > FOLLOWUPS_KEPT)
                json_array_remove(w->followups, 0);
            save_followups(w);
        }
    } else if (handled && item && !json_is_true(json_object_get(item, "handled"))) {
        json_object_set_new(item, "handled", json_true());
        json_object_set(item, "handled_by", json_object_get(data, "by"));
        json_object_set(item, "handled_at", json_object_get(ev, "time"));
        save_followups(w);
    }
    json_decref(ev);
}

/* 已处理: kept at once, and said on the bus so that every console clears it (as an
 * acknowledged call does); an item already handled keeps who handled it first. */
/* The gateway publishes gateway/<id>/followup_handled for every console and the platform. */
static void on_followup_told(void *ctx, unsigned long tag, json_t *reply)
{
    (void)ctx, (void)tag;
    if (!json_is_true(json_object_get(reply, "ok")))
        log_warn("web: the gateway did not take a handled follow-up: %s",
                 reply ? json_string_value(json_object_get(json_object_get(reply, "error"),
                                                           "message")) ?: "?"
                       : "no answer");
}

enum MHD_Result mark_handled(struct web *w, struct request *q)
{
    json_t *body = json_loadb(q->body.p ? q->body.p : "", q->body.len, 0, NULL);
    const char *id = json_string_value(json_object_get(body, "id"));
    const char *by = json_string_value(json_object_get(body, "by"));
    if (!id || !by || !by[0] || strlen(by) > 64 || strlen(id) > 128) {
        json_decref(body);
        return respond_error(q->conn, 400, "bad_args", "{\"id\": EVENT-ID, \"by\": STAFF (1-64)}");
    }
    json_t *item = followup_of(w, id);
    if (!item) {
        json_decref(body);
        return respond_error(q->conn, 404, "unknown_id", "no bad rating with that id in the list");
    }
    if (json_is_true(json_object_get(item, "handled"))) {
        char message[200];
        snprintf(message, sizeof(message), "已由 %.64s 处理 already handled by %.64s",
                 json_string_value(json_object_get(item, "handled_by")) ?: "?",
                 json_string_value(json_object_get(item, "handled_by")) ?: "?");
        json_decref(body);
        return respond_error(q->conn, 409, "already_handled", message);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char at[32];
    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now.tv_sec));
    json_object_set_new(item, "handled", json_true());
    json_object_set_new(item, "handled_by", json_string(by));
    json_object_set_new(item, "handled_at", json_string(at));
    save_followups(w);
    json_t *note = json_pack("{s:s, s:{s:s, s:s}}", "verb", "followup_handled", "args", "id", id,
                             "by", by);
    if (!note || !control_client_send(&w->control, note, w->conf.command_timeout_ms,
                                      on_followup_told, w, 0))
        log_warn("web: cannot tell the gateway a follow-up was handled: %s",
                 zmq_strerror(zmq_errno()));
    json_decref(note);
    json_decref(body);
    return respond_json(q->conn, 200, json_pack("{s:b, s:O}", "ok", 1, "result", item));
}

void load_followups(struct web *w)
{
    char path[4200];
    snprintf(w->followups_name, sizeof(w->followups_name), "web-followups.json");
    snprintf(path, sizeof(path), "%s/%s", w->conf.state_dir, w->followups_name);
    json_error_t e;
    w->followups = json_load_file(path, 0, &e);
    if (!json_is_array(w->followups)) {
        if (access(path, F_OK) == 0)
            log_err("web: %s:%d: %s; the follow-up list starts empty", path, e.line, e.text);
        json_decref(w->followups);
        w->followups = json_array();
    }
}
