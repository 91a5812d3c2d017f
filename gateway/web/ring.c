/* The ring of recent events, each kept as its SSE frame; positions (E:S). */
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

char *web_sse_frame(const char *topic, struct journal_key key, const char *json, size_t json_len,
                    size_t *len)
{
    struct sbuf b = {0};
    sbuf_printf(&b, "id: %" PRIu64 ":%" PRIu64 "\nevent: ", key.epoch, key.seq);
    sbuf_str(&b, topic);
    sbuf_str(&b, "\ndata: ");
    /* the envelope is one line (compact JSON); a raw CR or LF, which JSON allows as
     * whitespace between tokens, would end the SSE field: a space instead */
    for (size_t i = 0; i < json_len; i++)
        sbuf_add(&b, json[i] == '\n' || json[i] == '\r' ? " " : &json[i], 1);
    sbuf_str(&b, "\n\n");
    *len = b.len;
    return sbuf_take(&b);
}

/* One decimal number of at most 19 digits (no sign, no space): a position is never
 * negative, and 19 digits cannot overflow 64 bits. */
static const char *parse_number(const char *p, uint64_t *out)
{
    uint64_t v = 0;
    const char *start = p;
    while (*p >= '0' && *p <= '9' && p - start < 19)
        v = v * 10 + (uint64_t)(*p++ - '0');
    *out = v;
    return p > start && !(*p >= '0' && *p <= '9') ? p : NULL;
}

bool web_parse_position(const char *text, struct journal_key *key)
{
    uint64_t e, s;
    const char *p = text ? parse_number(text, &e) : NULL;
    if (!p || *p != ':' || !(p = parse_number(p + 1, &s)) || *p)
        return false;
    *key = (struct journal_key){e, s};
    return true;
}

void ring_drop_oldest(struct ring *r)
{
    struct ring_event *e = &r->ev[r->head];
    r->base = e->key;
    r->bytes -= e->frame_len;
    free(e->topic);
    free(e->frame);
    r->head = (r->head + 1) % RING_EVENTS;
    r->n--;
}

void ring_add(struct ring *r, struct feed_event *fe)
{
    size_t len;
    char *frame = web_sse_frame(fe->topic, fe->key, fe->json, fe->json_len, &len);
    char *topic = strdup(fe->topic);
    if (!frame || !topic) {
        free(frame);
        free(topic);
        log_err("web: out of memory for event %" PRIu64 ":%" PRIu64, fe->key.epoch, fe->key.seq);
        return;
    }
    if (!r->have_base) {
        r->have_base = true;
        r->base = (struct journal_key){fe->key.epoch, fe->key.seq - 1};
    }
    while (r->n && (r->n == RING_EVENTS || r->bytes + len > RING_BYTES))
        ring_drop_oldest(r);
    r->ev[(r->head + r->n++) % RING_EVENTS] = (struct ring_event){fe->key, topic, frame, len};
    r->bytes += len;
}

struct ring_event *ring_at(struct ring *r, size_t i) { return &r->ev[(r->head + i) % RING_EVENTS]; }

/* The index of the first event after pos (r->n when none). */
size_t ring_after(struct ring *r, struct journal_key pos)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (journal_key_cmp(ring_at(r, mid)->key, pos) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct journal_key ring_newest(struct ring *r)
{
    return r->n ? ring_at(r, r->n - 1)->key : r->base;
}
