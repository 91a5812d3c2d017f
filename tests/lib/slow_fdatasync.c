/* LD_PRELOAD for tests: a disk that is slow to flush.  fdatasync() waits
 * SLOW_FDATASYNC_MS (as a busy or failing disk makes it wait), then does its
 * work; whichever thread calls it is the one held up. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    const char *ms = getenv("SLOW_FDATASYNC_MS");
    long wait_ms = ms ? atol(ms) : 0;
    struct timespec t = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0)
        ;
    return real ? real(fd) : 0;
}
