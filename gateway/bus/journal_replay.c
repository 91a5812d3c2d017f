/* Replay: the events after a point, from the journal, in pages, with gaps said. */
#include "journal_format.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <jansson.h>

#include "json_check.h"
#include "log.h"

struct page {
    struct sbuf out;
    const char *const *prefixes;
    size_t n_prefixes, limit, page_bytes, emitted;
    bool more, truncated, scanned_any;
    struct journal_key next_since;
    bool have_prev;
    struct journal_key prev; /* the record scanned last (or since): the next must follow it */
    char *buf;
    size_t cap;
};

/* Whether b is the event published right after a: the next seq of one epoch, or the
 * first of a later epoch (a gateway's seq starts at 1 each run). */
static bool follows(struct journal_key a, struct journal_key b)
{
    return (b.epoch == a.epoch && b.seq == a.seq + 1) || (b.epoch > a.epoch && b.seq == 1);
}

/* An envelope read back is checked whole, not only its braces: a record whose CRC
 * holds but whose JSON does not (written so, or damaged before its CRC was made)
 * would make every page holding it unparsable. */
static bool envelope_is_json(const char *env)
{
    size_t len = strlen(env);
    enum json_check v = json_check_object(env, len, NULL);
    if (v == JSON_CHECK_UNSURE) {
        json_t *o = json_loadb(env, len, JSON_REJECT_DUPLICATES, NULL);
        v = json_is_object(o) ? JSON_CHECK_OBJECT : JSON_CHECK_INVALID;
        json_decref(o);
    }
    return v == JSON_CHECK_OBJECT;
}

/* A topic read back from disk is written into JSON unquoted: only the
 * characters the gateway's names allow pass. */
static bool body_is_sane(const char *body, size_t len, const char **env)
{
    size_t topic_len = strlen(body);
    for (size_t i = 0; i < topic_len; i++) {
        char c = body[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '.'))
            return false;
    }
    *env = body + topic_len + 1;
    size_t env_len = len - topic_len - 1;
    return topic_len > 0 && env_len >= 2 && (*env)[0] == '{' && (*env)[env_len - 1] == '}';
}

/* Adds one record to the page; false when the page is full (the record is not consumed). */
static bool page_take(struct page *p, const struct record *r)
{
    const char *env;
    if (!body_is_sane(r->body, r->body_len, &env) || !envelope_is_json(env)) {
        log_warn("journal: event %" PRIu64 ":%" PRIu64
                       " has a damaged topic or envelope; skipped", r->key.epoch, r->key.seq);
        p->truncated = true;
        return true;
    }
    if (!topic_matches(r->body, p->prefixes, p->n_prefixes))
        return true;
    if ((p->limit && p->emitted == p->limit) ||
        (p->emitted && p->out.len + r->body_len + 32 > p->page_bytes))
        return false;
    sbuf_str(&p->out, p->emitted ? ",{\"topic\":\"" : "{\"topic\":\"");
    sbuf_str(&p->out, r->body);
    sbuf_str(&p->out, "\",\"event\":");
    sbuf_str(&p->out, env);
    sbuf_str(&p->out, "}");
    p->emitted++;
    return true;
}

static size_t segment_for(const struct journal *j, struct journal_key since)
{
    /* The last segment whose first key is not after since: the next event is in it or later. */
    size_t lo = 0, hi = j->n_segs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (journal_key_cmp(j->segs[mid].first, since) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : 0;
}

static bool find_segment(const struct journal *j, struct journal_key first, size_t *index)
{
    for (size_t i = 0; i < j->n_segs; i++)
        if (journal_key_cmp(j->segs[i].first, first) == 0) {
            *index = i;
            return true;
        }
    return false;
}

/* Scans one segment from off; returns false when the page is full. */
static bool scan_segment(struct journal *j, size_t si, uint64_t off, struct journal_key since,
                         struct page *p)
{
    char path[4096];
    const struct journal_segment *s = &j->segs[si];
    segment_path(j, path, sizeof(path), s->first);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_warn("journal: cannot read %s: %s", path, strerror(errno));
        p->truncated = true;
        return true;
    }
    struct record r;
    enum read_result rr;
    bool room = true;
    while (room && (rr = read_record(fd, off, s->bytes, true, &r, &p->buf, &p->cap)) == READ_OK) {
        if (journal_key_cmp(r.key, since) > 0) {
            if (p->have_prev && journal_key_cmp(r.key, p->prev) <= 0) {
                /* out of order or twice (segments swapped or renamed): never given back */
                log_warn("journal: %s: event %" PRIu64 ":%" PRIu64 " comes after %" PRIu64
                         ":%" PRIu64 "; skipped", path, r.key.epoch, r.key.seq, p->prev.epoch,
                         p->prev.seq);
                p->truncated = true;
                off = record_end(off, &r);
                continue;
            }
            if (p->have_prev && !follows(p->prev, r.key) && p->scanned_any)
                log_warn("journal: %s: events between %" PRIu64 ":%" PRIu64 " and %" PRIu64
                         ":%" PRIu64 " are missing", path, p->prev.epoch, p->prev.seq,
                         r.key.epoch, r.key.seq);
            if ((r.flags & REC_FLAG_AFTER_GAP) || (p->have_prev && !follows(p->prev, r.key)))
                p->truncated = true; /* a hole: events between are gone */
            if (!(room = page_take(p, &r)))
                break;
            p->next_since = r.key;
            p->prev = r.key;
            p->have_prev = true;
            p->scanned_any = true;
        }
        off = record_end(off, &r);
    }
    if (room && rr == READ_TORN) {
        log_warn("journal: %s: damaged record at byte %" PRIu64
                       "; the rest of this segment is skipped", path, off);
        p->truncated = true;
    }
    close(fd);
    j->resume.valid = true;
    j->resume.key = p->next_since;
    j->resume.segment = s->first;
    j->resume.offset = off;
    return room;
}

/* Whether events between since and the oldest held one are gone. */
static bool lost_before_oldest(const struct journal *j, struct journal_key since,
                               struct journal_key now)
{
    if (j->n_segs == 0 || !j->have_last)
        return journal_key_cmp(since, now) < 0;
    struct journal_key oldest = j->segs[0].first;
    if (journal_key_cmp(oldest, since) <= 0)
        return false; /* the journal holds since itself: all after it is held too */
    if (oldest.epoch == since.epoch && oldest.seq == since.seq + 1)
        return false;
    if (since.epoch == 0 && since.seq == 0) /* "from the beginning" */
        return j->ever_pruned;
    return true;
}

char *journal_replay_json(struct journal *j, struct journal_key since, const char *const *prefixes,
                          size_t n_prefixes, size_t limit, size_t page_bytes,
                          struct journal_key now)
{
    journal_flush(j);
    struct page p = {.prefixes = prefixes, .n_prefixes = n_prefixes, .limit = limit,
                     .page_bytes = page_bytes, .next_since = since,
                     .have_prev = since.epoch || since.seq, .prev = since};
    p.truncated = lost_before_oldest(j, since, now);
    if (journal_key_cmp(since, now) > 0) {
        /* a cursor past the newest event (a corrupt one, or another gateway's) would wait
         * for ever: said as truncated, with the real end to go on from */
        p.truncated = true;
        p.have_prev = false;
        since = p.next_since = now;
    }
    struct journal_key oldest = j->n_segs ? j->segs[0].first : now;
    sbuf_printf(&p.out, "{\"epoch\":%" PRIu64 ",\"since\":{\"epoch\":%" PRIu64 ",\"seq\":%" PRIu64
                "},\"first\":{\"epoch\":%" PRIu64 ",\"seq\":%" PRIu64 "},\"last\":{\"epoch\":%"
                PRIu64 ",\"seq\":%" PRIu64 "},\"events\":[",
                now.epoch, since.epoch, since.seq, oldest.epoch, oldest.seq, now.epoch, now.seq);
    size_t si = segment_for(j, since);
    uint64_t off = 0;
    if (j->resume.valid && journal_key_cmp(j->resume.key, since) == 0 &&
        find_segment(j, j->resume.segment, &si))
        off = j->resume.offset;
    bool room = true;
    for (; room && si < j->n_segs; si++, off = 0)
        room = scan_segment(j, si, off, since, &p);
    p.more = !room;
    free(p.buf);
    sbuf_printf(&p.out, "],\"truncated\":%s,\"more\":%s,\"next_since\":{\"epoch\":%" PRIu64
                ",\"seq\":%" PRIu64 "}}",
                p.truncated ? "true" : "false", p.more ? "true" : "false", p.next_since.epoch,
                p.next_since.seq);
    return sbuf_take(&p.out);
}
