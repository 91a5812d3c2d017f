#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void log_vmsg(int level, const char *fmt, va_list ap)
{
    if (level > max_level)
        return;
    if (level < 0)
        level = 0;
    char line[2048];
    vsnprintf(line, sizeof(line), fmt, ap);
    pthread_mutex_lock(&log_lock);
    if (journal_prefixes)
        fprintf(stderr, "<%d>%s\n", level, line);
    else
        fprintf(stderr, "%s: %s: %s\n", program_name, level_names[level & 7], line);
    pthread_mutex_unlock(&log_lock);
}

void log_msg(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}
