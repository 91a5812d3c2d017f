/* Persistent gateway state in state_dir: the epoch counter. */
#ifndef AGW_STATE_H
#define AGW_STATE_H
#include <stddef.h>
#include <stdint.h>

/* The next epoch, written back durably before it is used: one more than the
 * highest valid copy in state_dir (epoch, epoch.bak), never reset or reused.
 * *note says what was recovered when a copy was damaged ("" otherwise). */
int state_next_epoch(const char *state_dir, uint64_t *epoch, char *note, size_t notelen, char *err,
                     size_t errlen);
/* Writes a whole file atomically (temp file, fsync, rename, fsync dir). */
int state_write_file(const char *dir, const char *name, const void *data, size_t len);
#endif
