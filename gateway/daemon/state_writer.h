/* The device states plugin hosts ask accessgwd to keep (PLINK_SAVE), written on
 * a thread of their own: a save is a write, an fsync and a rename, which on a
 * slow disk takes seconds, and the main loop that publishes events must not wait
 * for it.  The loop posts a save to `asked` and goes on; the thread writes saves
 * in the order they came and posts each, with its result, to `written`, whose
 * descriptor the loop polls, so the host that waits for the answer gets it then.
 * Both are mailboxes (device/mailbox.h), the hand-off the workers use. */
#ifndef AGW_STATE_WRITER_H
#define AGW_STATE_WRITER_H
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "device.h"
#include "mailbox.h"

struct state_save {
    struct mail link;  /* first: a save travels as mail */
    size_t proc;       /* which plugin host asked (its index in plugin_procs) */
    pid_t host;        /* and which process of it: a restarted host is not answered */
    char plugin[64];
    char device[DEVICE_ID_MAX + 1];
    char *json;        /* NULL: no save, the thread's signal to end */
    int result;        /* set by the writer: 0, or -errno with why */
    char why[512];
};

struct state_writer {
    pthread_t thread;
    bool started;
    struct mailbox asked, written;
    char *state_dir;
};

/* 0, or -1 (no mailbox); without a thread, saves are written when posted. */
int state_writer_start(struct state_writer *w, const char *state_dir);
/* A save, or NULL when memory ran out; state_writer_post takes it. */
struct state_save *state_save_new(size_t proc, pid_t host, const char *plugin, const char *device,
                                  const char *json);
void state_writer_post(struct state_writer *w, struct state_save *s);
/* The saves written since the last call, oldest first (state_save_free each). */
struct state_save *state_writer_take_written(struct state_writer *w);
void state_save_free(struct state_save *s);
/* Writes what was posted, then ends the thread; what was written waits to be taken. */
void state_writer_stop(struct state_writer *w);
/* Stops it, and drops what was written but not taken. */
void state_writer_free(struct state_writer *w);
#endif
