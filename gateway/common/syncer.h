/* Files made durable off the main loop: fdatasync on a thread of its own.  A
 * sync waits for the disk (tens of milliseconds on a busy one, seconds on a
 * failing one); the loop that publishes events only hands over a descriptor
 * and goes on.  Used for what is synced on a timer (the journal every sync_ms,
 * the audit trail every heartbeat); the loop still writes, the thread only
 * flushes what was written to the disk. */
#ifndef AGW_SYNCER_H
#define AGW_SYNCER_H
#include <pthread.h>
#include <stdbool.h>

enum syncer_slot { SYNC_JOURNAL, SYNC_AUDIT, SYNCER_SLOTS };

struct syncer {
    pthread_t thread;
    bool started, stopping;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int pending[SYNCER_SLOTS];      /* a dup of the file to sync, -1: none waiting */
    char what[SYNCER_SLOTS][200];   /* named in an error */
    long long busy_since_ms;        /* the sync in progress began (monotonic), 0: none */
    char busy_what[200];
    bool slow_said;
};

int syncer_start(struct syncer *s); /* 0, or -errno: then syncs stay on the caller */
/* fd's file is fdatasync'd soon on the thread (a dup of it: the caller may close
 * fd at once).  One waits per slot: a sync not begun yet covers every write made
 * before it runs, so a second request only renames it.  Without a started syncer
 * (s NULL or not started) the sync is done here and now. */
void syncer_request(struct syncer *s, enum syncer_slot slot, int fd, const char *what);
/* From the heartbeat: says once if a sync has not come back for SYNC_SLOW_MS. */
void syncer_check(struct syncer *s);
/* What is waiting is synced, then the thread ends. */
void syncer_stop(struct syncer *s);
#endif
