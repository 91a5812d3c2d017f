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
#include "syncer.h"
#include "journal_format.h"

#define AGE_CHECK_MS 60000

/* ---- reading ---- */

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
    if (j->fd >= 0 && j->dirty) {
        char what[600];
        snprintf(what, sizeof(what), "journal %.560s", j->dir);
        syncer_request(j->syncer, SYNC_JOURNAL, j->fd, what);
    }
    j->dirty = false;
}

void journal_close(struct journal *j)
{
    j->syncer = NULL; /* the last sync before it closes is done here, not left behind */
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

