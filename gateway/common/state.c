#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Room kept in state_dir for what must survive a full disk (an open emergency call's
 * state): a file of zeros, its blocks really allocated, given back to the file system
 * when a save finds no room, and kept again when there is room to spare. */
#define RESERVE_NAME ".reserve"
#define RESERVE_BYTES (1u << 20)

static void reserve_path(const char *dir, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, RESERVE_NAME);
}

int state_reserve(const char *dir)
{
    char path[4096];
    reserve_path(dir, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = fstat(fd, &st) < 0 ? -errno : 0;
    static const char zeros[65536];
    for (off_t at = st.st_size; r == 0 && at < (off_t)RESERVE_BYTES; at += (off_t)sizeof(zeros))
        if (pwrite(fd, zeros, sizeof(zeros), at) != (ssize_t)sizeof(zeros))
            r = -errno;
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (r < 0 && ftruncate(fd, st.st_size) == 0) /* no half-kept reserve eating the room */
        fsync(fd);
    close(fd);
    return r;
}

static bool release_reserve(const char *dir)
{
    char path[4096];
    struct stat st;
    reserve_path(dir, path, sizeof(path));
    if (stat(path, &st) < 0 || st.st_size == 0)
        return false;
    return truncate(path, 0) == 0;
}

/* Once a save needed the reserve, it is kept again only when the disk has room for it
 * twice over: growing it back on a full disk would take what the next save needs. */
static void restore_reserve_if_room(const char *dir)
{
    char path[4096];
    struct stat st;
    struct statvfs fs;
    reserve_path(dir, path, sizeof(path));
    if (stat(path, &st) == 0 && st.st_size >= (off_t)RESERVE_BYTES)
        return;
    if (statvfs(dir, &fs) == 0 && (uint64_t)fs.f_bavail * fs.f_frsize > 2ull * RESERVE_BYTES)
        state_reserve(dir);
}

static int write_file_once(const char *dir, const char *name, const void *data, size_t len)
{
    char tmp[4096], final[4096];
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    snprintf(final, sizeof(final), "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        return -1;
    }
    close(fd);
    if (rename(tmp, final) < 0)
        return -1;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int state_write_file(const char *dir, const char *name, const void *data, size_t len)
{
    int r = write_file_once(dir, name, data, len);
    if (r < 0 && (errno == ENOSPC || errno == EDQUOT) && release_reserve(dir))
        r = write_file_once(dir, name, data, len); /* what the reserve was kept for */
    if (r == 0)
        restore_reserve_if_room(dir);
    return r;
}

/* The epoch only rises: subscribers order everything by (epoch, seq), so a reset or a
 * reuse would silently break each of them.  It is kept twice (epoch and
 * epoch.bak, each written atomically, each line carrying a checksum), the
 * highest valid copy wins, and when no copy is valid the wall clock in seconds
 * (larger than any count of restarts) takes over. */
#define EPOCH_MAX 9007199254740991ULL /* 2^53-1: exact in every JSON parser */

static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

enum epoch_copy { EPOCH_MISSING, EPOCH_VALID, EPOCH_DAMAGED };

/* "42 fnv=1a2b3c4d" (or "42", as versions before the checksum wrote it) */
static enum epoch_copy read_copy(const char *path, uint64_t *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? EPOCH_MISSING : EPOCH_DAMAGED;
    char buf[64] = "";
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    size_t digits = strspn(buf, "0123456789");
    if (digits == 0 || digits > 16)
        return EPOCH_DAMAGED;
    uint64_t v = strtoull(buf, NULL, 10);
    const char *rest = buf + digits;
    if (strncmp(rest, " fnv=", 5) == 0) {
        char *end;
        unsigned long sum = strtoul(rest + 5, &end, 16);
        if (end != rest + 13 || (*end != '\n' && *end != '\0') || sum != fnv1a(buf, digits))
            return EPOCH_DAMAGED;
    } else if (*rest != '\n' && *rest != '\0') {
        return EPOCH_DAMAGED;
    }
    if (v == 0 || v > EPOCH_MAX)
        return EPOCH_DAMAGED;
    *out = v;
    return EPOCH_VALID;
}

/* A state_dir that already holds plugins' state has seen epochs: its epoch
 * files were removed, not never written.  The journal does not count: its
 * newest epoch is passed in as `seen`, and an empty one says nothing. */
static bool holds_other_state(const char *state_dir)
{
    DIR *d = opendir(state_dir);
    if (!d)
        return false;
    bool other = false;
    struct dirent *e;
    while (!other && (e = readdir(d)))
        other = e->d_name[0] != '.' && strncmp(e->d_name, "epoch", 5) != 0 &&
                strcmp(e->d_name, "journal") != 0;
    closedir(d);
    return other;
}

static int write_copy(const char *state_dir, const char *name, uint64_t epoch)
{
    char number[24], text[48];
    int digits = snprintf(number, sizeof(number), "%" PRIu64, epoch);
    int n = snprintf(text, sizeof(text), "%s fnv=%08x\n", number, fnv1a(number, (size_t)digits));
    return state_write_file(state_dir, name, text, (size_t)n);
}

int state_next_epoch(const char *state_dir, uint64_t seen, uint64_t *epoch, char *note,
                     size_t notelen, char *err, size_t errlen)
{
    note[0] = '\0';
    if (mkdir(state_dir, 0750) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "state_dir %s: %s", state_dir, strerror(errno));
        return state_epoch_undurable(epoch);
    }
    static const char *const names[2] = {"epoch", "epoch.bak"};
    uint64_t best = 0, v = 0;
    int damaged = 0, present = 0;
    for (int i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", state_dir, names[i]);
        enum epoch_copy c = read_copy(path, &v);
        present += c != EPOCH_MISSING;
        damaged += c == EPOCH_DAMAGED;
        if (c == EPOCH_VALID && v > best)
            best = v;
    }
    if (best == 0 && (damaged || (!present && holds_other_state(state_dir)))) {
        uint64_t now = (uint64_t)time(NULL);
        best = now;
        snprintf(note, notelen, "%s/epoch is %s and has no valid copy: epochs continue from "
                 "the clock, at %" PRIu64, state_dir, damaged ? "damaged" : "gone", now + 1);
    } else if (damaged) {
        snprintf(note, notelen, "%s: one copy of the epoch was damaged; the other says %" PRIu64,
                 state_dir, best);
    }
    if (seen > best) {
        snprintf(note, notelen, "%s/epoch says %" PRIu64 " but the journal holds epoch %" PRIu64
                 "; epochs continue above the journal's", state_dir, best, seen);
        best = seen;
    }
    if (best >= EPOCH_MAX) {
        snprintf(err, errlen, "%s/epoch: %" PRIu64 " is the last epoch a JSON parser counts exactly",
                 state_dir, best);
        return -1;
    }
    *epoch = best + 1;
    if (write_copy(state_dir, names[0], *epoch) < 0 || write_copy(state_dir, names[1], *epoch) < 0) {
        snprintf(err, errlen, "%s/epoch: cannot write: %s", state_dir, strerror(errno));
        uint64_t floor = *epoch;
        state_epoch_undurable(epoch);
        if (*epoch < floor) /* a clock behind the counter: still never below what was read */
            *epoch = floor;
        return 1;
    }
    return 0;
}

/* No state_dir to count in: the clock in seconds, which rises between
 * restarts, so an epoch is not reused while the disk stays unwritable. */
int state_epoch_undurable(uint64_t *epoch)
{
    *epoch = (uint64_t)time(NULL);
    return 1;
}
