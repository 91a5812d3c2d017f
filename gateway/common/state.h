/* Persistent gateway state in state_dir: the epoch counter. */
#ifndef AGW_STATE_H
#define AGW_STATE_H
#include <stddef.h>
#include <stdint.h>

/* The next epoch, written back durably before it is used: one more than the
 * highest valid copy in state_dir (epoch, epoch.bak) and than `seen` (the
 * newest epoch in the journal), never reset or reused.
 * *note says what was recovered when a copy was damaged ("" otherwise).
 * Returns 0, or 1 when state_dir cannot be written: *epoch is then taken from
 * the clock (never below a value read) and err says why durability is lost;
 * the gateway runs on, degraded, rather than leave the call bells dead. */
int state_next_epoch(const char *state_dir, uint64_t seen, uint64_t *epoch, char *note,
                     size_t notelen, char *err, size_t errlen);
int state_epoch_undurable(uint64_t *epoch);
/* Writes a whole file atomically (temp file, fsync, rename, fsync dir).  On a full
 * disk it gives back the room state_reserve() kept and tries once more: an open
 * emergency call's state is saved even then. */
int state_write_file(const char *dir, const char *name, const void *data, size_t len);
/* Keeps room in dir (1 MiB, really allocated) for saves on a full disk: at start. */
int state_reserve(const char *dir);
#endif
