#include "signals.h"

#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"

int signals_fd(int extra)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (extra)
        sigaddset(&set, extra);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

bool signals_say_stop(int fd, const char *program)
{
    struct signalfd_siginfo si;
    bool stop = false;
    while (read(fd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            log_notice("%s: SIGHUP: the configuration is read at start only; restart me", program);
        } else {
            log_notice("%s: stopping", strsignal((int)si.ssi_signo));
            stop = true;
        }
    }
    return stop;
}
