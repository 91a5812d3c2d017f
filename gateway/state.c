#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int state_write_file(const char *dir, const char *name, const void *data, size_t len)
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

static int read_epoch(const char *path, uint64_t *epoch, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) {
            *epoch = 0;
            return 0;
        }
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char buf[32] = "";
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (errno || end == buf || (*end != '\n' && *end != '\0')) {
        snprintf(err, errlen, "%s:1: not a number; remove the file to restart epochs at 1", path);
        return -1;
    }
    *epoch = v;
    return 0;
}

int state_next_epoch(const char *state_dir, uint64_t *epoch, char *err, size_t errlen)
{
    if (mkdir(state_dir, 0750) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "state_dir %s: %s", state_dir, strerror(errno));
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/epoch", state_dir);
    uint64_t previous;
    if (read_epoch(path, &previous, err, errlen) < 0)
        return -1;
    *epoch = previous + 1;
    char text[32];
    int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", *epoch);
    if (state_write_file(state_dir, "epoch", text, (size_t)n) < 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
