#include "log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *program_name = "accessgw";
static int max_level = 6;
static int journal_prefixes;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[8] = {"emerg", "alert", "crit", "error",
                                           "warning", "notice", "info", "debug"};

void log_init(const char *program)
{
    program_name = program;
    /* systemd sets JOURNAL_STREAM when stderr is connected to the journal. */
    journal_prefixes = getenv("JOURNAL_STREAM") != NULL;
}

void log_set_level(int level) { max_level = level; }
int log_enabled(int level) { return level <= max_level; }

int log_level_parse(const char *name)
{
    for (int i = 0; i < 8; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

/* Repeats are rate-limited per call site (its format string): a device that
 * sends garbage must not fill the disk with one warning per frame.  A site may
 * say BURST lines per WINDOW_S; then it is counted, and the count is said when
 * the window ends. */
#define BURST 20
#define WINDOW_S 10
#define SITES 64

struct site {
    const void *key;
    time_t window;
    unsigned lines, suppressed;
};
static struct site sites[SITES];

static void emit_line(int level, const char *line)
{
    if (journal_prefixes)
        fprintf(stderr, "<%d>%s\n", level, line);
    else
        fprintf(stderr, "%s: %s: %s\n", program_name, level_names[level & 7], line);
}

/* Called with log_lock held: whether this line may be written now. */
static bool admit(const void *key, int level)
{
    time_t now = time(NULL);
    struct site *s = &sites[((uintptr_t)key >> 4) % SITES];
    if (s->key != key || now - s->window >= WINDOW_S) {
        if (s->suppressed) {
            char note[160];
            snprintf(note, sizeof(note), "(%u more like the line above were suppressed in %d s)",
                     s->suppressed, WINDOW_S);
            emit_line(level, note);
        }
        *s = (struct site){key, now, 0, 0};
    }
    if (s->lines < BURST) {
        s->lines++;
        return true;
    }
    s->suppressed++;
    return false;
}

void log_keyed(int level, const void *key, const char *fmt, ...)
{
    if (level > max_level)
        return;
    if (level < 0)
        level = 0;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_lock);
    if (admit(key, level))
        emit_line(level, line);
    pthread_mutex_unlock(&log_lock);
}

void log_vmsg(int level, const char *fmt, va_list ap)
{
    if (level > max_level)
        return;
    if (level < 0)
        level = 0;
    char line[2048];
    vsnprintf(line, sizeof(line), fmt, ap);
    pthread_mutex_lock(&log_lock);
    if (admit(fmt, level))
        emit_line(level, line);
    pthread_mutex_unlock(&log_lock);
}

void log_msg(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}
