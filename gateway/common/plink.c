#include "plink.h"

#include <stdio.h>
#include <string.h>

/* ---- writing ---- */

void plink_writer_init(struct plink_writer *w, uint8_t *buf, size_t cap)
{
    *w = (struct plink_writer){buf, 0, cap, false};
}

static void put_bytes(struct plink_writer *w, const void *p, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void put_le(struct plink_writer *w, uint64_t v, unsigned bytes)
{
    uint8_t b[8];
    for (unsigned i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put_bytes(w, b, bytes);
}

/* A string with its length in len_bytes (2: names, 4: JSON texts) and its NUL. */
static void put_string(struct plink_writer *w, const char *s, unsigned len_bytes)
{
    size_t n = s ? strlen(s) : 0;
    if (n > (len_bytes == 2 ? UINT16_MAX : UINT32_MAX)) {
        w->overflow = true;
        return;
    }
    put_le(w, n, len_bytes);
    put_bytes(w, s ? s : "", n + 1);
}

static void put_str(struct plink_writer *w, const char *s) { put_string(w, s, 2); }
static void put_text(struct plink_writer *w, const char *s) { put_string(w, s, 4); }

/* A message is appended whole or not at all: the length is patched in at the end. */
static size_t begin(struct plink_writer *w, enum plink_type type)
{
    size_t start = w->len;
    put_le(w, 0, 4);
    put_le(w, (uint64_t)type, 1);
    return start;
}

static bool finish(struct plink_writer *w, size_t start)
{
    if (w->overflow) {
        w->len = start;
        w->overflow = false;
        return false;
    }
    uint32_t n = (uint32_t)(w->len - start - 4);
    for (unsigned i = 0; i < 4; i++)
        w->buf[start + i] = (uint8_t)(n >> (8 * i));
    return true;
}

bool plink_put_attach(struct plink_writer *w, const struct plink_attach *a)
{
    if (a->n_settings > PLINK_MAX_SETTINGS)
        return false;
    size_t start = begin(w, PLINK_ATTACH);
    put_str(w, a->id);
    put_str(w, a->path);
    put_str(w, a->location);
    put_str(w, a->syspath);
    put_le(w, a->transport, 1);
    put_le(w, a->baud, 4);
    put_le(w, a->n_settings, 2);
    for (unsigned i = 0; i < a->n_settings; i++) {
        put_str(w, a->settings[i].key);
        put_str(w, a->settings[i].value);
        put_str(w, a->settings[i].where);
    }
    put_text(w, a->state);
    return finish(w, start);
}

bool plink_put_detach(struct plink_writer *w, const char *device, bool removed)
{
    size_t start = begin(w, PLINK_DETACH);
    put_str(w, device);
    put_le(w, removed, 1);
    return finish(w, start);
}

bool plink_put_command(struct plink_writer *w, const char *device, const char *target,
                       const char *verb, uint64_t token, const char *args_json)
{
    size_t start = begin(w, PLINK_COMMAND);
    put_str(w, device);
    put_str(w, target);
    put_str(w, verb);
    put_le(w, token, 8);
    put_text(w, args_json);
    return finish(w, start);
}

bool plink_put_event(struct plink_writer *w, const char *subject, const char *cls,
                     const char *event, bool personal, int64_t sec, uint32_t nsec,
                     const char *data_json)
{
    size_t start = begin(w, PLINK_EVENT);
    put_str(w, subject);
    put_str(w, cls);
    put_str(w, event);
    put_le(w, personal, 1);
    put_le(w, (uint64_t)sec, 8);
    put_le(w, nsec, 4);
    put_text(w, data_json);
    return finish(w, start);
}

bool plink_put_reply(struct plink_writer *w, const char *device, uint64_t token, int32_t status,
                     const char *result_json)
{
    size_t start = begin(w, PLINK_REPLY);
    put_str(w, device);
    put_le(w, token, 8);
    put_le(w, (uint32_t)status, 4);
    put_text(w, result_json);
    return finish(w, start);
}

bool plink_put_exited(struct plink_writer *w, const char *device)
{
    size_t start = begin(w, PLINK_EXITED);
    put_str(w, device);
    return finish(w, start);
}

static bool put_outcome(struct plink_writer *w, enum plink_type type, const char *device,
                        int32_t error, const char *reason)
{
    size_t start = begin(w, type);
    put_str(w, device);
    put_le(w, (uint32_t)error, 4);
    put_str(w, reason);
    return finish(w, start);
}

bool plink_put_fd(struct plink_writer *w, const char *device, int32_t error, const char *reason)
{
    return put_outcome(w, PLINK_FD, device, error, reason);
}

bool plink_put_saved(struct plink_writer *w, const char *device, int32_t error, const char *reason)
{
    return put_outcome(w, PLINK_SAVED, device, error, reason);
}

bool plink_put_open(struct plink_writer *w, const char *device)
{
    size_t start = begin(w, PLINK_OPEN);
    put_str(w, device);
    return finish(w, start);
}

bool plink_put_save(struct plink_writer *w, const char *device, const char *state_json)
{
    size_t start = begin(w, PLINK_SAVE);
    put_str(w, device);
    put_text(w, state_json);
    return finish(w, start);
}

bool plink_put_tick(struct plink_writer *w)
{
    size_t start = begin(w, PLINK_TICK);
    return finish(w, start);
}

bool plink_put_snapshot(struct plink_writer *w, const char *device, int32_t state,
                        const char *reason, const char *info_json, const char *children_json)
{
    size_t start = begin(w, PLINK_SNAPSHOT);
    put_str(w, device);
    put_le(w, (uint32_t)state, 4);
    put_str(w, reason);
    put_text(w, info_json);
    put_text(w, children_json);
    return finish(w, start);
}

/* ---- reading: every get checks the bounds of its message, and a failed one
 * makes every later one fail too, so a decoder reads straight through and
 * asks once at the end ---- */

struct reader {
    const uint8_t *base; /* the record, for error offsets */
    size_t pos, end;
    const char *bad; /* what was wrong, NULL while nothing is */
    size_t bad_at;
};

static void fail(struct reader *r, const char *why)
{
    if (!r->bad) {
        r->bad = why;
        r->bad_at = r->pos;
    }
}

static uint64_t get_le(struct reader *r, unsigned bytes)
{
    if (r->bad || r->end - r->pos < bytes) {
        fail(r, "message ends inside a number");
        return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)r->base[r->pos + i] << (8 * i);
    r->pos += bytes;
    return v;
}

static const char *get_string(struct reader *r, unsigned len_bytes)
{
    uint64_t n = get_le(r, len_bytes);
    if (r->bad)
        return "";
    if (r->end - r->pos < n + 1) {
        fail(r, "string runs past the end of its message");
        return "";
    }
    const char *s = (const char *)r->base + r->pos;
    if (s[n] != '\0' || memchr(s, '\0', n)) {
        fail(r, "string is not terminated where its length says");
        return "";
    }
    r->pos += n + 1;
    return s;
}

static const char *get_str(struct reader *r) { return get_string(r, 2); }
static const char *get_text(struct reader *r) { return get_string(r, 4); }

static void read_attach(struct reader *r, struct plink_attach *a)
{
    a->id = get_str(r);
    a->path = get_str(r);
    a->location = get_str(r);
    a->syspath = get_str(r);
    a->transport = (uint8_t)get_le(r, 1);
    a->baud = (uint32_t)get_le(r, 4);
    a->n_settings = (uint16_t)get_le(r, 2);
    if (a->n_settings > PLINK_MAX_SETTINGS) {
        fail(r, "too many settings");
        a->n_settings = 0;
    }
    for (unsigned i = 0; i < a->n_settings && !r->bad; i++) {
        a->settings[i].key = get_str(r);
        a->settings[i].value = get_str(r);
        a->settings[i].where = get_str(r);
    }
    a->state = get_text(r);
}

static void read_body(struct reader *r, struct plink_msg *m, struct plink_attach *attach)
{
    switch (m->type) {
    case PLINK_ATTACH:
        if (!attach) {
            fail(r, "ATTACH is not expected here");
            return;
        }
        read_attach(r, attach);
        m->attach = attach;
        m->device = attach->id;
        break;
    case PLINK_DETACH:
        m->device = get_str(r);
        m->flag = get_le(r, 1) != 0;
        break;
    case PLINK_COMMAND:
        m->device = get_str(r);
        m->s1 = get_str(r);
        m->s2 = get_str(r);
        m->token = get_le(r, 8);
        m->json = get_text(r);
        break;
    case PLINK_EVENT:
        m->device = get_str(r);
        m->s1 = get_str(r);
        m->s2 = get_str(r);
        m->flag = get_le(r, 1) != 0;
        m->sec = (int64_t)get_le(r, 8);
        m->nsec = (uint32_t)get_le(r, 4);
        if (m->nsec >= 1000000000u)
            fail(r, "nanoseconds out of range");
        m->json = get_text(r);
        break;
    case PLINK_REPLY:
        m->device = get_str(r);
        m->token = get_le(r, 8);
        m->status = (int32_t)(uint32_t)get_le(r, 4);
        m->json = get_text(r);
        break;
    case PLINK_FD:
    case PLINK_SAVED:
        m->device = get_str(r);
        m->status = (int32_t)(uint32_t)get_le(r, 4);
        m->s1 = get_str(r);
        break;
    case PLINK_EXITED:
    case PLINK_OPEN: m->device = get_str(r); break;
    case PLINK_SAVE:
        m->device = get_str(r);
        m->json = get_text(r);
        break;
    case PLINK_TICK: break;
    case PLINK_SNAPSHOT:
        m->device = get_str(r);
        m->status = (int32_t)(uint32_t)get_le(r, 4);
        m->s1 = get_str(r);
        m->json = get_text(r);
        m->json2 = get_text(r);
        break;
    default: fail(r, "unknown message type");
    }
}

int plink_next(const uint8_t *rec, size_t len, size_t *off, struct plink_msg *m,
               struct plink_attach *attach_storage, char *err, size_t errlen)
{
    if (*off >= len)
        return 0;
    struct reader r = {rec, *off, len, NULL, 0};
    uint64_t n = get_le(&r, 4);
    if (!r.bad && (n < 1 || n > len - r.pos))
        fail(&r, "message length runs past the record");
    struct reader body = {rec, r.pos, r.bad ? r.pos : r.pos + (size_t)n, NULL, 0};
    *m = (struct plink_msg){.device = "", .s1 = "", .s2 = "", .json = "", .json2 = ""};
    if (!r.bad) {
        m->type = (enum plink_type)get_le(&body, 1);
        read_body(&body, m, attach_storage);
        if (!body.bad && body.pos != body.end)
            fail(&body, "message has bytes after its last field");
    }
    const struct reader *bad = r.bad ? &r : &body;
    if (bad->bad) {
        snprintf(err, errlen, "byte %zu: %s", bad->bad_at, bad->bad);
        return -1;
    }
    *off = body.end;
    return 1;
}
