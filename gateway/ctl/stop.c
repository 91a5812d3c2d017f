/* Ctrl-C and SIGTERM: a command that waits (watch, top) checks `interrupted`
 * and ends cleanly, closing its sockets. */
#include "ctl.h"

volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

void stop_on_signals(void)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
}
