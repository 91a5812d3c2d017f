#define _GNU_SOURCE
#include "audit.h"
#include "copy_text.h"
#include "syncer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char zeros[AUDIT_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static void sha256_hex(const char *data, size_t len, char out[AUDIT_HASH_HEX + 1])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)data, len);
    sodium_bin2hex(out, AUDIT_HASH_HEX + 1, digest, sizeof(digest));
}

/* "YYYY-MM-DD.jsonl" */
static bool is_audit_file(const char *name)
{
    int y, m, d, n = 0;
    return strlen(name) == 16 && sscanf(name, "%4d-%2d-%2d.jsonl%n", &y, &m, &d, &n) == 3 &&
           n == 16 && name[4] == '-' && name[7] == '-';
}

static int audit_file_filter(const struct dirent *e) { return is_audit_file(e->d_name); }

/* The audit files, oldest first (their names sort by date); -1 when dir cannot be read. */
static int list_files(const char *dir, struct dirent ***names)
{
    return scandir(dir, names, audit_file_filter, alphasort);
}

static void free_list(struct dirent **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void local_date(time_t t, char out[11])
{
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* The hash of the last whole line of path into head (unchanged when there is none); a
 * last line without its newline is cut off (a write cut short), said in note. */
static int read_last_line(const char *path, char head[AUDIT_HASH_HEX + 1], bool repair,
                          char *note, size_t notelen, long long *size)
{
    int fd = open(path, (repair ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char buf[8192];
    off_t from = st.st_size > (off_t)sizeof(buf) ? st.st_size - (off_t)sizeof(buf) : 0;
    ssize_t n = pread(fd, buf, sizeof(buf), from);
    if (n < 0) {
        close(fd);
        return -1;
    }
    ssize_t end = n; /* the end of the last whole line, its newline excluded */
    while (end > 0 && buf[end - 1] != '\n')
        end--;
    if (end < n && repair) {
        if (ftruncate(fd, from + end) == 0)
            snprintf(note, notelen, "%s: its last line was cut short (a crash while writing): "
                     "%zd bytes removed", path, n - end);
        st.st_size = from + end;
    }
    if (end > 0) {
        ssize_t start = end - 1;
        while (start > 0 && buf[start - 1] != '\n')
            start--;
        sha256_hex(buf + start, (size_t)(end - 1 - start), head);
    }
    *size = st.st_size;
    close(fd);
    return 0;
}

static void note_dir(struct audit *a)
{
    struct stat st;
    if (stat(a->dir, &st) == 0)
        a->dir_mtime = st.st_mtim;
}

/* The head: the newest whole line of the newest file that has one. */
static void find_head(struct audit *a, bool repair, char *note, size_t notelen)
{
    struct dirent **names;
    int n = list_files(a->dir, &names);
    memcpy(a->head, zeros, sizeof(a->head));
    a->newest[0] = '\0';
    a->newest_size = 0;
    for (int i = n - 1; i >= 0; i--) {
        char path[4200], head[AUDIT_HASH_HEX + 1] = "";
        long long size = 0;
        snprintf(path, sizeof(path), "%s/%s", a->dir, names[i]->d_name);
        if (!a->newest[0]) {
            copy_text(a->newest, sizeof(a->newest), names[i]->d_name);
            if (read_last_line(path, head, repair, note, notelen, &size) == 0)
                a->newest_size = size;
        } else {
            read_last_line(path, head, false, note, notelen, &size);
        }
        if (head[0]) {
            memcpy(a->head, head, sizeof(a->head));
            break;
        }
    }
    if (n > 0)
        free_list(names, n);
    note_dir(a);
}

static void prune(struct audit *a)
{
    time_t now = time(NULL);
    if (now / 86400 == a->pruned_on)
        return;
    a->pruned_on = now / 86400;
    char cutoff[11], name[32];
    local_date(now - (time_t)a->max_days * 86400, cutoff);
    snprintf(name, sizeof(name), "%s.jsonl", cutoff);
    struct dirent **names;
    int n = list_files(a->dir, &names);
    for (int i = 0; i < n - 1; i++) /* never the newest: the chain's head is in it */
        if (strcmp(names[i]->d_name, name) < 0) {
            char path[4200];
            snprintf(path, sizeof(path), "%s/%s", a->dir, names[i]->d_name);
            unlink(path);
        }
    if (n > 0)
        free_list(names, n);
}

int audit_open(struct audit *a, const char *state_dir, unsigned max_days, char *note,
               size_t notelen, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    a->lock_fd = -1;
    memcpy(a->head, zeros, sizeof(a->head)); /* also when the audit cannot be opened */
    note[0] = '\0';
    if (sodium_init() < 0 || asprintf(&a->dir, "%s/audit", state_dir) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    a->max_days = max_days;
    char lock[4200];
    snprintf(lock, sizeof(lock), "%s/.lock", a->dir);
    if ((mkdir(a->dir, 0750) < 0 && errno != EEXIST) ||
        (a->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0) {
        snprintf(err, errlen, "%s: %s", a->dir, strerror(errno));
        return -1;
    }
    flock(a->lock_fd, LOCK_EX);
    prune(a);
    find_head(a, true, note, notelen);
    flock(a->lock_fd, LOCK_UN);
    return 0;
}

void audit_close(struct audit *a)
{
    a->syncer = NULL; /* the last sync before it closes is done here, not left behind */
    audit_sync(a);
    if (a->lock_fd >= 0)
        close(a->lock_fd);
    free(a->dir);
    memset(a, 0, sizeof(*a));
    a->lock_fd = -1;
}

/* Whether the head is still the newest line: no file came or went (another writer may
 * have begun a new day's file), and the newest one kept its size. */
static bool head_is_current(const struct audit *a)
{
    struct stat d, f;
    char path[4200];
    if (stat(a->dir, &d) != 0 || d.st_mtim.tv_sec != a->dir_mtime.tv_sec ||
        d.st_mtim.tv_nsec != a->dir_mtime.tv_nsec)
        return false;
    snprintf(path, sizeof(path), "%s/%s", a->dir, a->newest);
    return !a->newest[0] || (stat(path, &f) == 0 && f.st_size == a->newest_size);
}

/* Under the lock: the head again if another writer moved it (repair: an exclusive lock,
 * so a torn last line may be cut). */
static void refresh_head(struct audit *a, bool repair)
{
    char note[600] = "";
    if (!head_is_current(a))
        find_head(a, repair, note, sizeof(note));
}

static char *audit_line(const struct audit_record *r, const char *prev)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char at[32], stamp[64];
    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp, sizeof(stamp), "%s.%03dZ", at, (int)(now.tv_nsec / 1000000));
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "time", stamp, "recipient",
                          r->recipient, "channel", r->channel, "device", r->device, "type",
                          r->type, "event", r->event, "prev", prev);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return text;
}

static int write_line(struct audit *a, const char *name, const char *line, char *err,
                      size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", a->dir, name);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    size_t len = strlen(line);
    char *with_newline = malloc(len + 1);
    ssize_t w = -1;
    if (fd >= 0 && with_newline) {
        memcpy(with_newline, line, len);
        with_newline[len] = '\n';
        w = write(fd, with_newline, len + 1);
    }
    int e = errno;
    struct stat st;
    if (w == (ssize_t)len + 1 && fstat(fd, &st) == 0)
        a->newest_size = st.st_size;
    else if (w >= 0 && fd >= 0 && fstat(fd, &st) == 0 && ftruncate(fd, st.st_size - w) == 0)
        e = ENOSPC; /* a part written: taken back, so no torn line is left behind */
    free(with_newline);
    if (fd >= 0)
        close(fd);
    if (w == (ssize_t)len + 1)
        return 0;
    snprintf(err, errlen, "%s: %s", path, strerror(e ? e : EIO));
    return -1;
}

int audit_append(struct audit *a, const struct audit_record *r, char *err, size_t errlen)
{
    if (a->lock_fd < 0 || flock(a->lock_fd, LOCK_EX) < 0) {
        snprintf(err, errlen, "%s: the audit is not open", a->dir ? a->dir : "audit");
        return -1;
    }
    prune(a);
    refresh_head(a, true);
    char today[11], name[32];
    local_date(time(NULL), today);
    snprintf(name, sizeof(name), "%s.jsonl", today);
    if (strcmp(a->newest, name) > 0) /* the clock went back: the chain stays in order */
        copy_text(name, sizeof(name), a->newest);
    char *line = audit_line(r, a->head);
    int rc = line ? write_line(a, name, line, err, errlen) : -1;
    if (!line)
        snprintf(err, errlen, "out of memory");
    if (rc == 0) {
        sha256_hex(line, strlen(line), a->head);
        memcpy(a->newest, name, sizeof(name)); /* a file name is 16 characters */
        note_dir(a); /* the file may be new */
        a->dirty = true;
    }
    free(line);
    flock(a->lock_fd, LOCK_UN);
    return rc;
}

const char *audit_head(struct audit *a)
{
    if (a->lock_fd >= 0 && flock(a->lock_fd, LOCK_SH) == 0) {
        refresh_head(a, false); /* a shared lock: repairs wait for a writer */
        flock(a->lock_fd, LOCK_UN);
    }
    return a->head;
}

void audit_sync(struct audit *a)
{
    if (!a->dirty || !a->newest[0])
        return;
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", a->dir, a->newest);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        syncer_request(a->syncer, SYNC_AUDIT, fd, path);
        close(fd);
    }
    a->dirty = false;
}

/* ---- reading ---- */

/* Calls fn on each whole line of the files (oldest first); a last line without its
 * newline is given with torn set.  Stops when fn returns nonzero; returns that, or -1. */
typedef int (*line_fn)(void *ctx, const char *file, long line_no, const char *line, size_t len,
                       bool torn);

static int each_line(const char *dir, const char *from_file, line_fn fn, void *ctx)
{
    struct dirent **names;
    int n = list_files(dir, &names), rc = 0;
    if (n < 0)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (from_file && strcmp(names[i]->d_name, from_file) < 0)
            continue;
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        FILE *f = fopen(path, "re");
        if (!f) {
            rc = -1;
            break;
        }
        ssize_t len;
        for (long no = 1; rc == 0 && (len = getline(&line, &cap, f)) > 0; no++) {
            bool torn = line[len - 1] != '\n';
            rc = fn(ctx, names[i]->d_name, no, line, torn ? (size_t)len : (size_t)len - 1, torn);
        }
        fclose(f);
    }
    free(line);
    free_list(names, n);
    return rc;
}

struct lister {
    const struct audit_filter *f;
    FILE *out;
    long printed;
};

static bool field_is(const json_t *o, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(o, key));
    return !want || (v && strcmp(v, want) == 0);
}

/* The local date of an audit line's UTC time ("2026-12-07T09:00:00.123Z"). */
static bool line_date(const json_t *o, char out[11])
{
    const char *t = json_string_value(json_object_get(o, "time"));
    struct tm tm = {0};
    if (!t || !strptime(t, "%Y-%m-%dT%H:%M:%S", &tm))
        return false;
    local_date(timegm(&tm), out);
    return true;
}

static int list_line(void *ctx, const char *file, long no, const char *line, size_t len, bool torn)
{
    struct lister *l = ctx;
    (void)file, (void)no;
    if (torn)
        return 0;
    json_t *o = json_loadb(line, len, 0, NULL);
    char date[11];
    if (json_is_object(o) && field_is(o, "recipient", l->f->recipient) &&
        field_is(o, "device", l->f->device) &&
        (!l->f->since || (line_date(o, date) && strcmp(date, l->f->since) >= 0))) {
        fwrite(line, 1, len, l->out);
        fputc('\n', l->out);
        l->printed++;
    }
    json_decref(o);
    return 0;
}

long audit_list(const char *dir, const struct audit_filter *f, FILE *out, char *err, size_t errlen)
{
    struct lister l = {f, out, 0};
    char from[32] = "";
    if (f->since) { /* a day's lines are in its own file or, past midnight, the day before's */
        struct tm tm = {0};
        if (!strptime(f->since, "%Y-%m-%d", &tm)) {
            snprintf(err, errlen, "--since %s: not a date (YYYY-MM-DD)", f->since);
            return -1;
        }
        tm.tm_isdst = -1;
        local_date(mktime(&tm) - 86400, from);
        strcat(from, ".jsonl");
    }
    if (each_line(dir, f->since ? from : NULL, list_line, &l) < 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    return l.printed;
}

struct verifier {
    char prev[AUDIT_HASH_HEX + 1]; /* the hash of the line before; "" before the first */
    char torn_file[32];           /* a line cut short was seen here ("" none) */
    char *why, *note;
    size_t whylen, notelen;
};

static bool is_hex64(const char *s)
{
    if (!s || strlen(s) != AUDIT_HASH_HEX)
        return false;
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789abcdef", *p))
            return false;
    return true;
}

static int verify_line(void *ctx, const char *file, long no, const char *line, size_t len,
                       bool torn)
{
    struct verifier *v = ctx;
    if (v->torn_file[0]) { /* something followed a line cut short: not a crash's end */
        snprintf(v->why, v->whylen, "%s: a line cut short in the middle of the chain", v->torn_file);
        return 1;
    }
    if (torn) {
        snprintf(v->torn_file, sizeof(v->torn_file), "%s", file);
        return 0;
    }
    json_t *o = json_loadb(line, len, 0, NULL);
    const char *prev = json_string_value(json_object_get(o, "prev"));
    int rc = 0;
    if (!json_is_object(o) || !is_hex64(prev)) {
        snprintf(v->why, v->whylen, "%s:%ld: not an audit line", file, no);
        rc = 1;
    } else if (!v->prev[0]) {
        if (strcmp(prev, zeros) != 0)
            snprintf(v->note, v->notelen, "the chain starts at %s:%ld, after older lines were "
                     "removed ([audit] max_days)", file, no);
    } else if (strcmp(prev, v->prev) != 0) {
        snprintf(v->why, v->whylen, "%s:%ld: its prev is not the hash of the line before it "
                 "(a line was changed, removed or inserted there)", file, no);
        rc = 1;
    }
    json_decref(o);
    if (rc == 0)
        sha256_hex(line, len, v->prev);
    return rc;
}

int audit_verify(const char *dir, const char *expect_head, char *head, char *why, size_t whylen,
                 char *note, size_t notelen)
{
    struct verifier v = {.why = why, .note = note, .whylen = whylen, .notelen = notelen};
    why[0] = note[0] = '\0';
    int rc = each_line(dir, NULL, verify_line, &v);
    if (rc < 0) {
        snprintf(why, whylen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(head, AUDIT_HASH_HEX + 1, "%s", v.prev[0] ? v.prev : zeros);
    if (rc == 0 && v.torn_file[0] && !note[0])
        snprintf(note, notelen, "%s: its last line was cut short (a crash while writing); it is "
                 "not part of the chain, and the next write removes it", v.torn_file);
    if (rc == 0 && expect_head && strcmp(expect_head, head) != 0) {
        snprintf(why, whylen, "the chain ends at %s, not at %.64s (lines after it were removed, "
                 "or this is another chain)", head, expect_head);
        return 1;
    }
    return rc;
}
