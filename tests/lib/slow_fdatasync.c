/* LD_PRELOAD for tests: a disk that is slow to flush.  fdatasync() waits
 * SLOW_FDATASYNC_MS and fsync() SLOW_FSYNC_MS (as a busy or failing disk makes
 * them wait), then each does its work; whichever thread calls it is the one held
 * up.  With SLOW_SYNC_WHEN set, only while the file it names exists (so that a
 * test can start the gateway at full speed first). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void wait_as_told(const char *variable)
{
    const char *when = getenv("SLOW_SYNC_WHEN"), *ms = getenv(variable);
    if (!ms || (when && access(when, F_OK) != 0))
        return;
    long wait_ms = atol(ms);
    struct timespec t = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0)
        ;
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    wait_as_told("SLOW_FDATASYNC_MS");
    return real ? real(fd) : 0;
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    wait_as_told("SLOW_FSYNC_MS");
    return real ? real(fd) : 0;
}
