/* The durable event journal in state_dir/journal: every public (masked) event,
 * written before it is published, so `replay` reaches across restarts and a
 * kill -9 loses nothing a subscriber saw.  Main loop only.
 *
 * Why an append-only segment format and not SQLite or LMDB: the journal is
 * written strictly in (epoch, seq) order and read forward from a point; one
 * write() per event into the page cache is what makes it survive a kill -9,
 * and one fdatasync() per sync_ms bounds what a power cut loses.  SQLite
 * would spend a B-tree insert and a WAL commit per event on the hot path to
 * give the same two guarantees; LMDB a copy-on-write page per commit.  The
 * format (docs/RELIABILITY.md) is a 40-byte header with a CRC-32 per record,
 * so a torn tail is found and cut at the next start. */
#ifndef AGW_JOURNAL_H
#define AGW_JOURNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "event_key.h"

struct journal_segment {
    struct journal_key first; /* from the file name: no record in it is older */
    uint64_t bytes;
    time_t mtime;
};

struct journal {
    char *dir;
    int fd;                 /* the segment being written, -1 until the first event */
    struct journal_segment *segs;
    size_t n_segs, cap_segs;
    uint64_t total_bytes, max_bytes, segment_bytes;
    uint64_t max_age_s;
    unsigned sync_ms;
    struct timespec next_sync, next_age_check;
    bool dirty;             /* written since the last fdatasync */
    bool pending_sync;      /* the batch holds a record that is to be synced */
    bool gap_pending;       /* the next record follows events that were not written */
    bool ever_pruned;
    bool have_last;
    struct journal_key last; /* the newest record written or found */
    char failure[512];      /* the last write failure, "" while writes succeed */
    struct syncer *syncer;  /* set after journal_open: where its timed syncs are done */
    /* Records appended since the last journal_flush(): one write() per batch. */
    char *pending;
    size_t pending_len, pending_cap;
    struct journal_key pending_last;
    /* Where the last replay page ended: the next page starts there directly. */
    struct {
        bool valid;
        struct journal_key key, segment;
        uint64_t offset;
    } resume;
};

struct journal_options {
    uint64_t max_bytes; /* [journal] max_mb */
    uint64_t max_age_s; /* [journal] max_days */
    unsigned sync_ms;   /* [journal] sync_ms */
};

/* Opens (creating) state_dir/journal, cuts a torn tail and drops what is over
 * the bounds.  *note says what was recovered ("" when nothing was).  Returns 0,
 * or -1 with err (the gateway then runs without a journal, degraded). */
int journal_open(struct journal *j, const char *state_dir, const struct journal_options *o,
                 char *note, size_t notelen, char *err, size_t errlen);
void journal_close(struct journal *j);
bool journal_is_open(const struct journal *j);

/* Appends one event to the batch; journal_flush() writes the batch, and must
 * come before any of its events is sent (the bus does so).  Returns 0, or -1
 * when it cannot be taken: the event is then missing from the journal, a
 * replay across it says `truncated`, and j->failure says why. */
int journal_append(struct journal *j, uint64_t epoch, uint64_t seq, int64_t time_ms,
                   const char *topic, size_t topic_len, const char *envelope, size_t envelope_len);
/* The same for a record that needs no sync of its own (a heartbeat: it says nothing
 * that must survive a power cut): written with the batch, on disk with the next
 * synced one or the kernel's writeback, so an idle gateway does not wake to sync. */
int journal_append_unsynced(struct journal *j, uint64_t epoch, uint64_t seq, int64_t time_ms,
                            const char *topic, size_t topic_len, const char *envelope,
                            size_t envelope_len);
/* Writes the batch with one write() into the page cache (what a kill -9 cannot
 * take away).  0, or -1 as journal_append() says. */
int journal_flush(struct journal *j);

/* Flushes to disk what was written since the last flush when it is due, and
 * drops segments past max_days.  Returns the ms until it is due next (-1: none). */
int journal_tick(struct journal *j);
void journal_sync(struct journal *j);

/* The events after `since` in the journal as the replay reply's JSON text
 * (docs/EVENTS.md): at most limit (0: no count limit) and about page_bytes.
 * `now` is the bus's newest (epoch, seq).  malloc'd; NULL when out of memory. */
char *journal_replay_json(struct journal *j, struct journal_key since, const char *const *prefixes,
                          size_t n_prefixes, size_t limit, size_t page_bytes,
                          struct journal_key now);
#endif
