/* The cursor: the newest event every earlier one of which the broker has
 * acknowledged, saved atomically; checkpoints of it; and the window of what
 * the broker has not acknowledged yet. */
#include "uplink.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "monotonic.h"
#include "state.h"

void load_cursor(struct uplink *u)
{
    json_error_t e;
    json_t *c = json_load_file(u->cursor_path, 0, &e);
    json_t *ep = json_object_get(c, "epoch"), *sq = json_object_get(c, "seq");
    if (json_is_integer(ep) && json_is_integer(sq) && json_integer_value(ep) >= 0 &&
        json_integer_value(sq) >= 0) {
        u->cursor = (struct journal_key){(uint64_t)json_integer_value(ep),
                                         (uint64_t)json_integer_value(sq)};
        log_notice("uplink: resuming after %" PRIu64 ":%" PRIu64 " (%s)", u->cursor.epoch,
                   u->cursor.seq, u->cursor_path);
    } else if (access(u->cursor_path, F_OK) == 0) {
        log_err("uplink: %s is damaged (%s); starting from the journal's beginning (the broker "
                "may see duplicates, recognisable by id)", u->cursor_path, e.text);
    } else {
        log_notice("uplink: no cursor yet (%s); starting from the journal's beginning",
                   u->cursor_path);
    }
    json_decref(c);
}

void add_checkpoint(struct uplink *u, long long at_ms, struct journal_key key)
{
    size_t slot = (u->first_checkpoint + u->n_checkpoints) % CHECKPOINTS;
    if (u->n_checkpoints == CHECKPOINTS)
        u->first_checkpoint = (u->first_checkpoint + 1) % CHECKPOINTS;
    else
        u->n_checkpoints++;
    u->checkpoints[slot] = (struct checkpoint){at_ms, key};
}

/* Once a second at most: the newest checkpoint is replaced within the second. */
static void note_checkpoint(struct uplink *u)
{
    long long now = monotonic_ms();
    struct checkpoint *last = u->n_checkpoints
        ? &u->checkpoints[(u->first_checkpoint + u->n_checkpoints - 1) % CHECKPOINTS] : NULL;
    if (last && last->at_ms > now - 1000 && last->at_ms != 0)
        last->key = u->cursor;
    else
        add_checkpoint(u, now, u->cursor);
}

/* The newest position acknowledged at least resend_s ago: where the uplink
 * resumes after a restart or a reconnect. */
struct journal_key resume_point(const struct uplink *u)
{
    long long limit = monotonic_ms() - (long long)u->conf.uplink.resend_s * 1000;
    struct journal_key best = u->checkpoints[u->first_checkpoint].key;
    for (size_t i = 0; i < u->n_checkpoints; i++) {
        const struct checkpoint *c = &u->checkpoints[(u->first_checkpoint + i) % CHECKPOINTS];
        if (c->at_ms > limit)
            break;
        best = c->key;
    }
    return best;
}

void save_cursor(struct uplink *u)
{
    char text[96];
    u->saved = resume_point(u);
    int n = snprintf(text, sizeof(text), "{\"epoch\":%" PRIu64 ",\"seq\":%" PRIu64 "}\n",
                     u->saved.epoch, u->saved.seq);
    const char *slash = strrchr(u->cursor_path, '/');
    char dir[4200];
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - u->cursor_path), u->cursor_path);
    if (state_write_file(dir, slash + 1, text, (size_t)n) < 0)
        log_err("uplink: cannot save the cursor to %s: %s (after a restart, events since the "
                "last saved one are sent again)", u->cursor_path, strerror(errno));
    u->cursor_dirty = false;
}

void save_cursor_if_due(struct uplink *u)
{
    if (u->cursor_dirty && ms_until(&u->cursor_save_at) == 0) {
        if (journal_key_cmp(resume_point(u), u->saved) != 0)
            save_cursor(u);
        u->cursor_dirty = false;
    }
}

bool window_full(const struct window *w) { return w->n == w->cap; }

void window_push(struct window *w, struct journal_key key, int mid, bool done)
{
    w->slots[(w->head + w->n++) % w->cap] = (struct slot){key, mid, done};
}

/* The cursor moves over every leading event the broker has acknowledged. */
void advance_cursor(struct uplink *u)
{
    struct window *w = &u->window;
    bool moved = false;
    while (w->n && w->slots[w->head].done) {
        if (journal_key_cmp(w->slots[w->head].key, u->cursor) > 0) /* re-sent events do not move it back */
            u->cursor = w->slots[w->head].key;
        w->head = (w->head + 1) % w->cap;
        w->n--;
        moved = true;
    }
    if (moved)
        note_checkpoint(u);
    if (moved && !u->cursor_dirty) {
        u->cursor_dirty = true;
        monotonic_now(&u->cursor_save_at);
        add_ms(&u->cursor_save_at, CURSOR_SAVE_MS);
    }
}
