/* The gateway's public events, in order and without a gap, for the programs
 * that are clients of the bus (accessgw-uplink, accessgw-web):
 * live from the SUB socket while each event follows the last, and from the
 * journal (`replay` with `since`) whenever one does not, after a restart of
 * either side, or while the broker was away.  Nothing is buffered here
 * beyond one replay page: the journal is the buffer. */
#ifndef AGW_BUSCLIENT_FEED_H
#define AGW_BUSCLIENT_FEED_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "control_client.h"
#include "event_key.h"

struct feed_event {
    struct journal_key key;
    char topic[256];
    char *json; /* the CloudEvents envelope, malloc'd; the caller frees it */
    size_t json_len;
};

struct feed {
    void *sub;
    struct control_client *control; /* the caller's: replay requests go through it */
    struct journal_key next;  /* the last event handed out */
    bool live;                /* false: catching up from the journal */
    bool waiting;             /* a replay request is out */
    unsigned long request_no;
    struct timespec retry_at;
    json_t *page;             /* the current replay page's events */
    size_t page_i;
    bool page_more;
    struct journal_key page_next;
    unsigned long truncations; /* replies that said events are gone from the journal */
    bool anywhere;            /* no position yet: the first live event starts the stream */
    bool paused;              /* unsubscribed: the caller cannot take events now */
};

/* from: the cursor, (0, 0) for the journal's beginning; feed_open_live()
 * starts at whatever the gateway publishes next instead. */
int feed_open(struct feed *f, void *zctx, const char *events, struct control_client *control,
              struct journal_key from, char *err, size_t errlen);
int feed_open_live(struct feed *f, void *zctx, const char *events, struct control_client *control,
                   char *err, size_t errlen);
void feed_close(struct feed *f);

/* The next event if one is ready now; false otherwise (a replay request may have
 * gone to the gateway through the control client meanwhile). */
bool feed_pull(struct feed *f, struct feed_event *out);
/* A feed opened live learns where the bus is (a `ping` reply) before any event came. */
void feed_start_at(struct feed *f, struct journal_key at);
/* The caller cannot take events for a while (its broker does not acknowledge what it
 * sent): the live stream is dropped rather than queued (thousands of events, a buffer
 * each), and the next feed_pull() goes on from the journal where it left off. */
void feed_pause(struct feed *f);
/* Starts over from `from` (the broker lost what was in flight). */
void feed_rewind(struct feed *f, struct journal_key from);
/* ms until the feed wants to be asked again (a retry; a reply's deadline is the control
 * client's); -1: none. */
long feed_due_ms(const struct feed *f);
#endif
