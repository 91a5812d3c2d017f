/* The programs' signals, read from a signalfd in their poll loops (never in a
 * handler): blocked before any thread starts, so only the signalfd sees them. */
#ifndef AGW_SIGNALS_H
#define AGW_SIGNALS_H
#include <stdbool.h>

/* Blocks SIGTERM, SIGINT, SIGHUP and `extra` (0: none), ignores SIGPIPE, and
 * returns a non-blocking signalfd for them (-1 on error). */
int signals_fd(int extra);

/* For the helper programs, which read their configuration at start only:
 * drains fd, logs a SIGHUP as such, and says whether SIGTERM or SIGINT came. */
bool signals_say_stop(int fd, const char *program);
#endif
