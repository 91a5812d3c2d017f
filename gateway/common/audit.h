/*
 * The audit of disclosures (docs/CONTRACT.md, "Audit of disclosures"; docs/PRIVACY.md):
 * one JSON line per full record delivered and recipient, never the personal data,
 * in state_dir/audit/YYYY-MM-DD.jsonl (the hall's local date of the file's first
 * line), each line carrying the SHA-256 of the line before it ("prev"), so that a
 * line changed, removed or inserted breaks the chain from there on.
 *
 * Written by more than one process (accessgwd for CURVE subscribers, accessgw-web
 * for window applications): an append takes an flock on audit/.lock and reads the
 * chain's head again when another writer moved it.  A line is written (one write(2),
 * O_APPEND) before the record leaves; a crash loses nothing written (kill -9 does not
 * lose the page cache), and a line cut short by a power loss is recovered at the next
 * append (cut off, and said).  audit_sync() makes the lines durable: the caller does
 * it on a timer, never per line on a loop that serves others.
 */
#ifndef AGW_AUDIT_H
#define AGW_AUDIT_H
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#define AUDIT_HASH_HEX 64

struct audit_record {
    const char *recipient; /* the app's name, or the key's name in authorized_keys */
    const char *channel;   /* "web" or "curve" */
    const char *device;
    const char *type;      /* the CloudEvents type: accessgw.idcard.read */
    const char *event;     /* the CloudEvents id: hall-1:7:1042 */
};

struct audit {
    char *dir;
    unsigned max_days;
    char head[AUDIT_HASH_HEX + 1]; /* the newest line's SHA-256, or 64 zeros */
    char newest[64];               /* the newest file's name, as last seen */
    long long newest_size;         /* its size then: another writer moved the head if it differs */
    struct timespec dir_mtime;     /* the directory's then: a file was added or removed if it differs */
    int lock_fd;
    bool dirty;                    /* written since the last audit_sync */
    time_t pruned_on;              /* the local day files were last pruned */
    struct syncer *syncer;         /* set after audit_open: where audit_sync's syncs are done */
};

/* Opens (creating) state_dir/audit, prunes files older than max_days and finds the
 * head.  note: what was recovered, if anything ("" else).  -1 with err. */
int audit_open(struct audit *a, const char *state_dir, unsigned max_days, char *note,
               size_t notelen, char *err, size_t errlen);
void audit_close(struct audit *a);
/* One line; -1 with err when it could not be written (then the record must not leave). */
int audit_append(struct audit *a, const struct audit_record *r, char *err, size_t errlen);
/* The chain's head now (another writer may have moved it): 64 hex digits. */
const char *audit_head(struct audit *a);
/* fdatasync of the newest file when lines were written since the last call. */
void audit_sync(struct audit *a);

/* ---- reading (accessgwctl audit; the gateway need not run) ---- */

struct audit_filter {
    const char *since;     /* YYYY-MM-DD, local: files and lines of that day and later */
    const char *recipient; /* NULL: any */
    const char *device;    /* NULL: any */
};

/* Prints the lines that match, as they are; the number printed, -1 with err. */
long audit_list(const char *dir, const struct audit_filter *f, FILE *out, char *err, size_t errlen);
/* Checks the whole chain: 0 when it holds (and, with expect_head, ends there), 1 with
 * why naming the first line that breaks it (FILE:LINE), -1 when it cannot be read.
 * note: what a reader should know that is not a break (the chain starts after pruned
 * lines; a last line cut short by a crash). */
int audit_verify(const char *dir, const char *expect_head, char *head, char *why, size_t whylen,
                 char *note, size_t notelen);
#endif
