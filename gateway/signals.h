/* The programs' signals, read from a signalfd in their poll loops (never in a
 * handler): blocked before any thread starts, so only the signalfd sees them. */
#ifndef AGW_SIGNALS_H
#define AGW_SIGNALS_H

/* Blocks SIGTERM, SIGINT, SIGHUP and `extra` (0: none), ignores SIGPIPE, and
 * returns a non-blocking signalfd for them (-1 on error). */
int signals_fd(int extra);
#endif
