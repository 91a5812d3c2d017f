#include "journal.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "json_check.h"
#include "log.h"
#include "monotonic.h"
#include "sbuf.h"

/* On disk, little-endian:
 *   0 u32 magic "AGWJ"   4 u32 body length   8 u64 epoch   16 u64 seq
 *  24 i64 time (ms since 1970)   32 u32 flags   36 u32 CRC-32 of bytes 8..35 and the body
 *  40 body: topic, NUL, the CloudEvents envelope (masked) */
#define REC_MAGIC 0x4a574741u
#define REC_HEADER 40
#define REC_MAX_BODY (4u << 20)
#define REC_FLAG_AFTER_GAP 1u /* events before this one could not be written */
#define SEGMENT_SUFFIX ".agwj"
#define AGE_CHECK_MS 60000

struct record {
    struct journal_key key;
    int64_t time_ms;
    uint32_t flags, body_len;
    char *body; /* topic NUL envelope; owned by the reader */
};

static void segment_name(char *buf, size_t len, struct journal_key first)
{
    snprintf(buf, len, "%016" PRIx64 "-%016" PRIx64 SEGMENT_SUFFIX, first.epoch, first.seq);
}

static bool parse_segment_name(const char *name, struct journal_key *first)
{
    char tail[8];
    unsigned long long e, s;
    if (strlen(name) != 33 + strlen(SEGMENT_SUFFIX) ||
        sscanf(name, "%16llx-%16llx%7s", &e, &s, tail) != 3 || strcmp(tail, SEGMENT_SUFFIX) != 0)
        return false;
    *first = (struct journal_key){e, s};
    return true;
}

static void segment_path(const struct journal *j, char *buf, size_t len, struct journal_key first)
{
    char name[64];
    segment_name(name, sizeof(name), first);
    snprintf(buf, len, "%s/%s", j->dir, name);
}

static void put_le32(unsigned char *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void put_le64(unsigned char *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }
static uint32_t get_le32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return le32toh(v); }
static uint64_t get_le64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return le64toh(v); }

static uint32_t record_crc(const unsigned char *hdr, const char *body, size_t body_len)
{
    uLong crc = crc32(0L, hdr + 8, 28);
    /* zlib takes a uInt length: bodies are bounded by REC_MAX_BODY */
    return (uint32_t)crc32(crc, (const Bytef *)body, (uInt)body_len);
}

static void encode_header(unsigned char hdr[REC_HEADER], const struct record *r, const char *topic,
                          size_t topic_len, const char *env, size_t env_len)
{
    put_le32(hdr, REC_MAGIC);
    put_le32(hdr + 4, r->body_len);
    put_le64(hdr + 8, r->key.epoch);
    put_le64(hdr + 16, r->key.seq);
    put_le64(hdr + 24, (uint64_t)r->time_ms);
    put_le32(hdr + 32, r->flags);
    uLong crc = crc32(0L, hdr + 8, 28);
    crc = crc32(crc, (const Bytef *)topic, (uInt)topic_len);
    crc = crc32(crc, (const Bytef *)"", 1);
    crc = crc32(crc, (const Bytef *)env, (uInt)env_len);
    put_le32(hdr + 36, (uint32_t)crc);
}

/* ---- reading ---- */

enum read_result { READ_OK, READ_END, READ_TORN };

/* One record at *off of a file of size bytes; with want_body, its body too
 * (checked against the CRC).  READ_TORN says where a record is cut or damaged. */
static enum read_result read_record(int fd, uint64_t off, uint64_t size, bool want_body,
                                    struct record *r, char **buf, size_t *cap)
{
    unsigned char hdr[REC_HEADER];
    if (off == size)
        return READ_END;
    if (size - off < REC_HEADER || pread(fd, hdr, REC_HEADER, (off_t)off) != REC_HEADER ||
        get_le32(hdr) != REC_MAGIC)
        return READ_TORN;
    r->body_len = get_le32(hdr + 4);
    r->key = (struct journal_key){get_le64(hdr + 8), get_le64(hdr + 16)};
    r->time_ms = (int64_t)get_le64(hdr + 24);
    r->flags = get_le32(hdr + 32);
    if (r->body_len < 3 || r->body_len > REC_MAX_BODY || size - off - REC_HEADER < r->body_len)
        return READ_TORN;
    if (!want_body)
        return READ_OK;
    if (*cap < r->body_len + 1) {
        char *grown = realloc(*buf, r->body_len + 1);
        if (!grown)
            return READ_TORN;
        *buf = grown;
        *cap = r->body_len + 1;
    }
    if (pread(fd, *buf, r->body_len, (off_t)(off + REC_HEADER)) != (ssize_t)r->body_len ||
        record_crc(hdr, *buf, r->body_len) != get_le32(hdr + 36))
        return READ_TORN;
    (*buf)[r->body_len] = '\0';
    r->body = *buf;
    return memchr(r->body, '\0', r->body_len) ? READ_OK : READ_TORN;
}

static uint64_t record_end(uint64_t off, const struct record *r)
{
    return off + REC_HEADER + r->body_len;
}

/* ---- opening and recovery ---- */

static int add_segment(struct journal *j, struct journal_key first, uint64_t bytes, time_t mtime)
{
    if (j->n_segs == j->cap_segs) {
        size_t cap = j->cap_segs ? j->cap_segs * 2 : 16;
        struct journal_segment *grown = realloc(j->segs, cap * sizeof(*grown));
        if (!grown)
            return -1;
        j->segs = grown;
        j->cap_segs = cap;
    }
    j->segs[j->n_segs++] = (struct journal_segment){first, bytes, mtime};
    j->total_bytes += bytes;
    return 0;
}

static int by_first_key(const void *a, const void *b)
{
    return journal_key_cmp(((const struct journal_segment *)a)->first,
                   ((const struct journal_segment *)b)->first);
}

static int list_segments(struct journal *j, char *err, size_t errlen)
{
    DIR *d = opendir(j->dir);
    if (!d) {
        snprintf(err, errlen, "journal %s: %s", j->dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        struct journal_key first;
        struct stat st;
        char path[4096];
        if (!parse_segment_name(e->d_name, &first))
            continue;
        snprintf(path, sizeof(path), "%s/%s", j->dir, e->d_name);
        if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
            log_warn("journal: %s is not a regular file; ignored", path);
            continue;
        }
        if (add_segment(j, first, (uint64_t)st.st_size, st.st_mtime) < 0) {
            closedir(d);
            snprintf(err, errlen, "journal %s: out of memory", j->dir);
            return -1;
        }
    }
    closedir(d);
    if (j->n_segs > 1)
        qsort(j->segs, j->n_segs, sizeof(*j->segs), by_first_key);
    return 0;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Reads the newest segment to its end; a record cut by a power cut (or
 * damaged) and everything after it is cut off, and the note says so. */
static void recover_tail(struct journal *j, char *note, size_t notelen)
{
    if (j->n_segs == 0)
        return;
    struct journal_segment *s = &j->segs[j->n_segs - 1];
    char path[4096];
    segment_path(j, path, sizeof(path), s->first);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(note, notelen, "journal: cannot read %s: %s", path, strerror(errno));
        return;
    }
    struct record r;
    char *buf = NULL;
    size_t cap = 0, events = 0;
    uint64_t off = 0;
    enum read_result rr;
    while ((rr = read_record(fd, off, s->bytes, true, &r, &buf, &cap)) == READ_OK) {
        j->last = r.key;
        j->have_last = true;
        off = record_end(off, &r);
        events++;
    }
    free(buf);
    if (rr == READ_TORN) {
        snprintf(note, notelen, "journal: %s: a torn or damaged record at byte %" PRIu64
                 " (after %zu good events); the last %" PRIu64 " bytes were cut off",
                 path, off, events, s->bytes - off);
        if (ftruncate(fd, (off_t)off) == 0)
            fsync(fd);
        j->total_bytes -= s->bytes - off;
        s->bytes = off;
        j->gap_pending = true; /* what was cut may have held events: the next says so */
    }
    close(fd);
    if (!j->have_last && j->n_segs > 1) { /* an empty newest segment: its predecessor's end */
        j->last = s->first;
        j->have_last = true;
    }
}

/* Each segment's first record is the one its name says, and no older segment is
 * empty: a segment renamed, swapped, emptied or deleted is said at start (replay then
 * flags the hole or skips what is out of order). */
static void check_segment_names(struct journal *j)
{
    for (size_t i = 0; i < j->n_segs; i++) {
        char path[4096];
        segment_path(j, path, sizeof(path), j->segs[i].first);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct record r;
        enum read_result rr = read_record(fd, 0, j->segs[i].bytes, false, &r, NULL, NULL);
        close(fd);
        if (rr == READ_END && i + 1 < j->n_segs)
            log_warn("journal: %s is empty: the events it held are gone", path);
        else if (rr == READ_OK && journal_key_cmp(r.key, j->segs[i].first) != 0)
            log_warn("journal: %s begins with event %" PRIu64 ":%" PRIu64
                     ", not the one its name says: renamed or swapped", path, r.key.epoch,
                     r.key.seq);
    }
}

static bool marker_exists(const struct journal *j, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", j->dir, name);
    return access(path, F_OK) == 0;
}

static void drop_oldest_segment(struct journal *j, const char *why)
{
    char path[4096];
    segment_path(j, path, sizeof(path), j->segs[0].first);
    if (unlink(path) < 0 && errno != ENOENT) {
        log_warn("journal: cannot remove %s: %s", path, strerror(errno));
        return;
    }
    log_info("journal: removed %s (%s)", path, why);
    j->total_bytes -= j->segs[0].bytes;
    memmove(j->segs, j->segs + 1, (j->n_segs - 1) * sizeof(*j->segs));
    j->n_segs--;
    if (!j->ever_pruned) {
        /* Remembered across restarts: replay from the very start is then truncated. */
        char marker[4096];
        snprintf(marker, sizeof(marker), "%s/pruned", j->dir);
        int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
        if (fd >= 0)
            close(fd);
        j->ever_pruned = true;
    }
    j->resume.valid = false;
}

/* Never the segment being written: the newest events are what replay is for. */
static void enforce_size(struct journal *j)
{
    while (j->n_segs > 1 && j->total_bytes > j->max_bytes)
        drop_oldest_segment(j, "over max_mb");
}

static void enforce_age(struct journal *j)
{
    time_t now = time(NULL);
    while (j->n_segs > 1 && j->segs[0].mtime + (time_t)j->max_age_s < now)
        drop_oldest_segment(j, "older than max_days");
}

int journal_open(struct journal *j, const char *state_dir, const struct journal_options *o,
                 char *note, size_t notelen, char *err, size_t errlen)
{
    memset(j, 0, sizeof(*j));
    j->fd = -1;
    note[0] = '\0';
    j->max_bytes = o->max_bytes;
    j->max_age_s = o->max_age_s;
    j->sync_ms = o->sync_ms;
    /* 16 segments to the bound: pruning drops a sixteenth at a time. */
    j->segment_bytes = o->max_bytes / 16;
    if (j->segment_bytes < 64 * 1024)
        j->segment_bytes = 64 * 1024;
    if (j->segment_bytes > 16u << 20)
        j->segment_bytes = 16u << 20;
    size_t dir_len = strlen(state_dir) + sizeof("/journal");
    if ((j->dir = malloc(dir_len)))
        snprintf(j->dir, dir_len, "%s/journal", state_dir);
    else {
        snprintf(err, errlen, "journal: out of memory");
        return -1;
    }
    if ((mkdir(state_dir, 0750) < 0 && errno != EEXIST) || (mkdir(j->dir, 0750) < 0 && errno != EEXIST)) {
        snprintf(err, errlen, "journal %s: %s", j->dir, strerror(errno));
        journal_close(j);
        return -1;
    }
    if (access(j->dir, W_OK) < 0) {
        snprintf(err, errlen, "journal %s: cannot write: %s", j->dir, strerror(errno));
        journal_close(j);
        return -1;
    }
    if (list_segments(j, err, errlen) < 0) {
        journal_close(j);
        return -1;
    }
    j->ever_pruned = marker_exists(j, "pruned");
    check_segment_names(j);
    recover_tail(j, note, notelen);
    enforce_age(j);
    enforce_size(j);
    monotonic_now(&j->next_age_check);
    add_ms(&j->next_age_check, AGE_CHECK_MS);
    return 0;
}

bool journal_is_open(const struct journal *j) { return j->dir != NULL; }

void journal_sync(struct journal *j)
{
    journal_flush(j);
    if (j->fd >= 0 && j->dirty && fdatasync(j->fd) < 0)
        log_err("journal %s: fdatasync: %s", j->dir, strerror(errno));
    j->dirty = false;
}

void journal_close(struct journal *j)
{
    journal_sync(j);
    if (j->fd >= 0)
        close(j->fd);
    free(j->segs);
    free(j->dir);
    free(j->pending);
    memset(j, 0, sizeof(*j));
    j->fd = -1;
}

/* ---- writing ---- */

static int start_segment(struct journal *j, struct journal_key first)
{
    char path[4096];
    if (j->fd >= 0) {
        journal_sync(j);
        close(j->fd);
        j->fd = -1;
        j->segs[j->n_segs - 1].mtime = time(NULL);
    }
    segment_path(j, path, sizeof(path), first);
    j->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (j->fd < 0) {
        snprintf(j->failure, sizeof(j->failure), "cannot create %.400s: %s", path, strerror(errno));
        return -1;
    }
    if (add_segment(j, first, 0, time(NULL)) < 0) {
        close(j->fd);
        j->fd = -1;
        unlink(path);
        snprintf(j->failure, sizeof(j->failure), "out of memory");
        return -1;
    }
    fsync_dir(j->dir); /* the new name survives a power cut */
    return 0;
}

static bool needs_new_segment(const struct journal *j)
{
    return j->fd < 0 || j->segs[j->n_segs - 1].bytes + j->pending_len >= j->segment_bytes;
}

static bool pending_add(struct journal *j, const void *data, size_t len)
{
    if (j->pending_len + len > j->pending_cap) {
        size_t cap = j->pending_cap ? j->pending_cap : 64 * 1024;
        while (cap < j->pending_len + len)
            cap *= 2;
        char *grown = realloc(j->pending, cap);
        if (!grown)
            return false;
        j->pending = grown;
        j->pending_cap = cap;
    }
    memcpy(j->pending + j->pending_len, data, len);
    j->pending_len += len;
    return true;
}

int journal_flush(struct journal *j)
{
    if (!j->pending_len)
        return 0;
    struct journal_segment *s = &j->segs[j->n_segs - 1];
    size_t done = 0;
    while (done < j->pending_len) {
        ssize_t n = write(j->fd, j->pending + done, j->pending_len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(j->failure, sizeof(j->failure), "writing in %.400s: %s", j->dir,
                     n < 0 ? strerror(errno) : "nothing written (disk full?)");
            if (done && ftruncate(j->fd, (off_t)s->bytes) < 0) /* no torn record left behind */
                log_err("journal: cannot cut a short write: %s", strerror(errno));
            j->pending_len = 0;
            j->gap_pending = true;
            return -1;
        }
        done += (size_t)n;
    }
    s->bytes += j->pending_len;
    j->total_bytes += j->pending_len;
    j->pending_len = 0;
    j->last = j->pending_last;
    j->have_last = true;
    j->failure[0] = '\0';
    if (!j->dirty && j->pending_sync) {
        j->dirty = true;
        monotonic_now(&j->next_sync);
        add_ms(&j->next_sync, j->sync_ms);
    }
    j->pending_sync = false;
    if (j->total_bytes > j->max_bytes)
        enforce_size(j);
    return 0;
}

static int append_record(struct journal *j, uint64_t epoch, uint64_t seq, int64_t time_ms,
                         const char *topic, size_t topic_len, const char *envelope,
                         size_t envelope_len, bool sync)
{
    if (!j->dir)
        return -1;
    struct record r = {{epoch, seq}, time_ms, j->gap_pending ? REC_FLAG_AFTER_GAP : 0,
                       (uint32_t)(topic_len + 1 + envelope_len), NULL};
    if (topic_len + 1 + envelope_len > REC_MAX_BODY) {
        snprintf(j->failure, sizeof(j->failure), "event %.*s (seq %" PRIu64 ") is %zu bytes, "
                 "more than a journal record holds", (int)topic_len, topic, seq, envelope_len);
        j->gap_pending = true;
        return -1;
    }
    if (needs_new_segment(j) && (journal_flush(j) < 0 || start_segment(j, r.key) < 0)) {
        j->gap_pending = true;
        return -1;
    }
    unsigned char hdr[REC_HEADER];
    encode_header(hdr, &r, topic, topic_len, envelope, envelope_len);
    size_t before = j->pending_len;
    if (!pending_add(j, hdr, REC_HEADER) || !pending_add(j, topic, topic_len) ||
        !pending_add(j, "", 1) || !pending_add(j, envelope, envelope_len)) {
        j->pending_len = before;
        snprintf(j->failure, sizeof(j->failure), "out of memory");
        j->gap_pending = true;
        return -1;
    }
    j->pending_last = r.key;
    j->gap_pending = false;
    j->pending_sync |= sync;
    return 0;
}

int journal_append(struct journal *j, uint64_t epoch, uint64_t seq, int64_t time_ms,
                   const char *topic, size_t topic_len, const char *envelope, size_t envelope_len)
{
    return append_record(j, epoch, seq, time_ms, topic, topic_len, envelope, envelope_len, true);
}

int journal_append_unsynced(struct journal *j, uint64_t epoch, uint64_t seq, int64_t time_ms,
                            const char *topic, size_t topic_len, const char *envelope,
                            size_t envelope_len)
{
    return append_record(j, epoch, seq, time_ms, topic, topic_len, envelope, envelope_len, false);
}

int journal_tick(struct journal *j)
{
    if (!j->dir)
        return -1;
    if (j->dirty && ms_until(&j->next_sync) == 0)
        journal_sync(j);
    if (ms_until(&j->next_age_check) == 0) {
        if (j->fd >= 0)
            j->segs[j->n_segs - 1].mtime = time(NULL);
        enforce_age(j);
        monotonic_now(&j->next_age_check);
        add_ms(&j->next_age_check, AGE_CHECK_MS);
    }
    long due = ms_until(&j->next_age_check);
    if (j->dirty && ms_until(&j->next_sync) < due)
        due = ms_until(&j->next_sync);
    return (int)due;
}

/* ---- replay ---- */

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
