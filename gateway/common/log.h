/* Logging to stderr, with syslog "<N>" prefixes when stderr is the journal. */
#ifndef AGW_LOG_H
#define AGW_LOG_H
#include <stdarg.h>

void log_init(const char *program);
void log_set_level(int level);          /* syslog priority; messages above it are dropped */
int log_level_parse(const char *name);  /* "debug" -> 7, -1 when unknown */
int log_enabled(int level);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap);
/* Lines are rate-limited per call site and subject (20 per 10 s, then counted and the
 * count said): by fmt, or by key for lines formatted elsewhere (a plugin's); the
 * subject is the line up to its first ": " ("device bell-1 (callbell-rf)"). */
void log_keyed(int level, const void *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A line another process wrote (a plugin host's stderr), said as "from: text" and
 * limited by key and by text's own subject. */
void log_relayed(int level, const void *key, const char *from, const char *text);
/* What a tester counts on seeing, never limited: a device attached or detached, a
 * state change, a device refused. */
void log_lifecycle(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Says the counts of suppressed lines whose window has ended: from a loop, once a
 * second, so the note does not wait for that site's next line. */
void log_flush_suppressed(void);

#define log_err(...) log_msg(3, __VA_ARGS__)
#define log_warn(...) log_msg(4, __VA_ARGS__)
#define log_notice(...) log_msg(5, __VA_ARGS__)
#define log_info(...) log_msg(6, __VA_ARGS__)
#define log_debug(...) log_msg(7, __VA_ARGS__)
#endif
