/* What a plugin host may hold (threads, memory, CPU, events) and how soon it must read. */
#define _GNU_SOURCE
#include "proc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>

#include "log.h"
#include "monotonic.h"

unsigned silence_limit_ms(const struct plugin_procs *ps)
{
    return ps->hang_ms > SILENCE_MIN_MS ? ps->hang_ms : SILENCE_MIN_MS;
}

/* Whether the host has read everything it was sent: the kernel counts the bytes of
 * records on a local socket until the reader takes them (SIOCOUTQ). */
bool reads_its_link(const struct plugin_proc *p)
{
    int unread = 0;
    return ioctl(p->sock, SIOCOUTQ, &unread) < 0 || unread == 0;
}

static bool read_proc_file(pid_t pid, const char *name, char *text, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(text, 1, size - 1, f);
    fclose(f);
    text[n] = '\0';
    return true;
}

/* Threads and memory, from status: stat would also add up the CPU time of every
 * thread, which for a host of a thousand devices costs half a millisecond. */
static bool read_size(pid_t pid, struct host_usage *u)
{
    char text[4096];
    if (!read_proc_file(pid, "status", text, sizeof(text)))
        return false;
    const char *threads = strstr(text, "\nThreads:"), *rss = strstr(text, "\nVmRSS:");
    return threads && rss && sscanf(threads + 9, "%ld", &u->threads) == 1 &&
           sscanf(rss + 7, "%lld", &u->rss_kib) == 1;
}

static bool read_cpu_ticks(pid_t pid, unsigned long long *ticks)
{
    char text[1024];
    if (!read_proc_file(pid, "stat", text, sizeof(text)))
        return false;
    const char *after = strrchr(text, ')'); /* the command may hold spaces and parentheses */
    unsigned long long utime, stime;
    /* fields 3-15 of proc(5): state ... utime(14) stime(15) */
    if (!after || sscanf(after + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                         &utime, &stime) != 2)
        return false;
    *ticks = utime + stime;
    return true;
}

/* What a host holds beyond its bounds, or NULL; why is filled in. */
const char *over_bounds(struct plugin_procs *ps, struct plugin_proc *p, char *why,
                               size_t len)
{
    struct host_usage u;
    if (!read_size(p->pid, &u))
        return NULL;
    size_t n_devices;
    free(devices_of(ps, p, &n_devices));
    long max_threads = HOST_THREADS_BASE + HOST_THREADS_PER_DEVICE * (long)n_devices;
    long long max_kib = HOST_RSS_BASE_MIB * 1024LL + HOST_RSS_PER_DEVICE_KIB * (long long)n_devices;
    long long now = monotonic_ms();
    if (u.threads > max_threads) {
        snprintf(why, len, "%ld threads (at most %ld for %zu device(s))", u.threads, max_threads,
                 n_devices);
        return why;
    }
    if (u.rss_kib > max_kib) {
        snprintf(why, len, "%lld MiB of memory (at most %lld for %zu device(s))", u.rss_kib / 1024,
                 max_kib / 1024, n_devices);
        return why;
    }
    if (now - p->cpu_since_ms >= HOST_CPU_WINDOW_MS && read_cpu_ticks(p->pid, &u.cpu_ticks)) {
        long long spent_ms = p->cpu_ticks_since
                                 ? (long long)(u.cpu_ticks - p->cpu_ticks_since) * 1000 /
                                       sysconf(_SC_CLK_TCK)
                                 : 0;
        long long window = now - p->cpu_since_ms;
        p->cpu_since_ms = now;
        p->cpu_ticks_since = u.cpu_ticks;
        if (spent_ms * 100 > window * HOST_CPU_MAX_PERCENT) {
            snprintf(why, len, "%lld%% of a core for %lld s", spent_ms * 100 / window,
                     window / 1000);
            return why;
        }
    }
    return NULL;
}

/* A bucket of EVENT_BURST_S seconds' worth, refilled at events_per_s: a plugin that
 * publishes faster is stopped before it fills every subscriber's queue and wipes the
 * journal's history (call bells rely on it). */
bool within_event_budget(const struct plugin_procs *ps, struct plugin_proc *p)
{
    if (!ps->events_per_s)
        return true;
    long long now = monotonic_ms();
    double cap = (double)ps->events_per_s * EVENT_BURST_S;
    p->event_tokens += (double)(now - p->tokens_at_ms) * ps->events_per_s / 1000.0;
    if (p->event_tokens > cap)
        p->event_tokens = cap;
    p->tokens_at_ms = now;
    if (p->event_tokens < 1)
        return false;
    p->event_tokens -= 1;
    return true;
}
