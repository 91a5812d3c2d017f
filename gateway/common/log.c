#include "log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *program_name = "accessgw";
static int max_level = 6;
static int journal_prefixes;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[8] = {"emerg", "alert", "crit", "error",
                                           "warning", "notice", "info", "debug"};

/* systemd sets JOURNAL_STREAM to the device and inode of the journal's stream; a
 * child whose stderr is a pipe to its parent inherits the variable, not the
 * stream (sd_journal_stream_fd(3)). */
static bool stderr_is_journal(void)
{
    const char *e = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    return e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
           (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *program)
{
    program_name = program;
    journal_prefixes = stderr_is_journal();
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

/* Repeats are rate-limited per call site (its format string) and subject (what the
 * line is about: its text up to the first ": ", "device bell-1 (callbell-rf)"): a
 * device that sends garbage must not fill the disk with one warning per frame, and
 * must not silence the same line about another device.  A site may say BURST lines
 * per WINDOW_S for one subject; then it is counted, and the count is said when the
 * window ends (log_flush_suppressed, from the loop) or when the slot is reused. */
#define BURST 20
#define WINDOW_S 10
#define SITES 512
#define PROBES 8
#define SUBJECT_MAX 96

struct site {
    const void *key;
    uint32_t subject;
    time_t window;
    unsigned lines, suppressed;
    int level;
    char sample[80]; /* the start of the last line written, for the note */
};
static struct site sites[SITES];

static void emit_line(int level, const char *line)
{
    if (journal_prefixes)
        fprintf(stderr, "<%d>%s\n", level, line);
    else
        fprintf(stderr, "%s: %s: %s\n", program_name, level_names[level & 7], line);
}

static uint32_t subject_of(const char *line)
{
    const char *end = strstr(line, ": ");
    if (!end || end - line > SUBJECT_MAX)
        return 0;
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *c = line; c < end; c++)
        h = (h ^ (uint8_t)*c) * 16777619u;
    return h;
}

/* Called with log_lock held. */
static void say_suppressed(struct site *s)
{
    if (!s->suppressed)
        return;
    char note[200];
    snprintf(note, sizeof(note), "(%u more lines like \"%s\" were suppressed in %d s)",
             s->suppressed, s->sample, WINDOW_S);
    emit_line(s->level, note);
    s->suppressed = 0;
}

/* The slot of this site and subject: its own, a free or ended one, else the one
 * whose window began first (its count said before it is reused). */
static struct site *site_for(const void *key, uint32_t subject, time_t now)
{
    uint32_t h = (uint32_t)((uintptr_t)key >> 4) * 2654435761u ^ subject;
    struct site *oldest = NULL;
    for (unsigned i = 0; i < PROBES; i++) {
        struct site *s = &sites[(h + i) % SITES];
        if (s->key == key && s->subject == subject)
            return s;
        if (!oldest || s->window < oldest->window)
            oldest = s;
    }
    say_suppressed(oldest);
    *oldest = (struct site){.key = key, .subject = subject, .window = now};
    return oldest;
}

/* Called with log_lock held: whether this line may be written now. */
static bool admit_about(const void *key, uint32_t subject, int level, const char *line)
{
    time_t now = time(NULL);
    struct site *s = site_for(key, subject, now);
    if (now - s->window >= WINDOW_S) {
        say_suppressed(s);
        s->window = now;
        s->lines = 0;
    }
    if (s->lines < BURST) {
        s->lines++;
        s->level = level;
        snprintf(s->sample, sizeof(s->sample), "%s", line);
        return true;
    }
    s->suppressed++;
    return false;
}

void log_flush_suppressed(void)
{
    time_t now = time(NULL);
    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; i < SITES; i++)
        if (sites[i].suppressed && now - sites[i].window >= WINDOW_S) {
            say_suppressed(&sites[i]);
            sites[i].window = now;
            sites[i].lines = 0;
        }
    pthread_mutex_unlock(&log_lock);
}

/* One line, said now: counted against its site and subject when limited. */
static void say_line(int level, const void *key, uint32_t subject, bool limited,
                     const char *line)
{
    pthread_mutex_lock(&log_lock);
    if (!limited || admit_about(key, subject, level, line))
        emit_line(level, line);
    pthread_mutex_unlock(&log_lock);
}

static void vsay(int level, const void *key, bool limited, const char *fmt, va_list ap)
{
    if (level > max_level)
        return;
    char line[2048];
    vsnprintf(line, sizeof(line), fmt, ap);
    say_line(level < 0 ? 0 : level, key, subject_of(line), limited, line);
}

void log_relayed(int level, const void *key, const char *from, const char *text)
{
    if (level > max_level)
        return;
    char line[2048];
    snprintf(line, sizeof(line), "%s: %s", from, text);
    say_line(level < 0 ? 0 : level, key, subject_of(text), true, line);
}

void log_lifecycle(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(level, NULL, false, fmt, ap);
    va_end(ap);
}

void log_keyed(int level, const void *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(level, key, true, fmt, ap);
    va_end(ap);
}

void log_vmsg(int level, const char *fmt, va_list ap) { vsay(level, fmt, true, fmt, ap); }

void log_msg(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}
