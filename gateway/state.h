/* Persistent gateway state in state_dir: the epoch counter. */
#ifndef AGW_STATE_H
#define AGW_STATE_H
#include <stddef.h>
#include <stdint.h>

/* Reads state_dir/epoch, adds one, writes it back durably; the new value in *epoch. */
int state_next_epoch(const char *state_dir, uint64_t *epoch, char *err, size_t errlen);
/* Writes a whole file atomically (temp file, fsync, rename, fsync dir). */
int state_write_file(const char *dir, const char *name, const void *data, size_t len);
#endif
