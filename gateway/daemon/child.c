#define _GNU_SOURCE /* close_range */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "monotonic.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
/* A child that ran this long before it exited was healthy: its backoff starts over. */
#define HEALTHY_MS 60000

void child_program_path(const char *name, char *out, size_t len)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, len, "%s/%s", slash ? self : ".", name);
}

void child_init(struct child *c, const char *name, const char *config_path)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    snprintf(c->config, sizeof(c->config), "%s", config_path);
    child_program_path(name, c->path, sizeof(c->path));
    c->keep_fd = -1;
    restart_init(&c->restart);
}

void restart_init(struct restart *r)
{
    memset(r, 0, sizeof(*r));
    r->backoff_ms = BACKOFF_MIN_MS;
}

void restart_started(struct restart *r) { monotonic_now(&r->started); }

unsigned restart_schedule(struct restart *r)
{
    if (r->started.tv_sec && elapsed_ms(&r->started) > HEALTHY_MS)
        r->backoff_ms = BACKOFF_MIN_MS;
    unsigned delay = r->backoff_ms;
    monotonic_now(&r->start_at);
    add_ms(&r->start_at, delay);
    r->backoff_ms = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    return delay;
}

long restart_ms_until(const struct restart *r) { return ms_until(&r->start_at); }

int child_wait(pid_t pid, int grace_ms, bool *killed)
{
    int status = 0;
    if (killed)
        *killed = false;
    for (int waited = 0; waited < grace_ms; waited += 5) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        usleep(5000);
    }
    if (killed)
        *killed = true;
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return status;
}

pid_t child_spawn(char *const argv[], int keep_fd, int err_fd, int death_signal)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    sigset_t all;
    sigemptyset(&all);
    pthread_sigmask(SIG_SETMASK, &all, NULL); /* the gateway's signalfd mask is not the child's */
    signal(SIGPIPE, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, death_signal); /* a gateway killed with -9 takes its helpers along */
    if (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0)
        _exit(127);
    if (keep_fd == 3 ? fcntl(3, F_SETFD, 0) < 0 : keep_fd >= 0 && dup2(keep_fd, 3) < 0)
        _exit(127);
    close_range(keep_fd >= 0 ? 4 : 3, ~0U, 0); /* devices, sockets and keys stay with the gateway */
    execv(argv[0], argv);
    fprintf(stderr, "accessgwd: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

void child_start_if_due(struct child *c)
{
    if (!c->wanted || c->pid > 0 || restart_ms_until(&c->restart) > 0)
        return;
    char *argv[] = {c->path, "--config", c->config, NULL};
    pid_t pid = child_spawn(argv, c->keep_fd, -1, SIGTERM);
    if (pid < 0) {
        log_err("%s: fork: %s", c->name, strerror(errno));
        restart_schedule(&c->restart);
        return;
    }
    c->pid = pid;
    restart_started(&c->restart);
    log_notice("%s started (pid %d)", c->name, (int)pid);
}

void child_want(struct child *c, bool wanted)
{
    c->wanted = wanted;
    if (!wanted && c->pid > 0)
        child_stop(c, 3000);
    child_start_if_due(c);
}

bool child_reaped(struct child *c, pid_t pid, int status)
{
    if (pid != c->pid)
        return false;
    c->pid = 0;
    if (!c->wanted)
        return true;
    unsigned delay = restart_schedule(&c->restart);
    if (WIFSIGNALED(status))
        log_err("%s was killed by %s; starting it again in %u ms", c->name,
                strsignal(WTERMSIG(status)), delay);
    else
        log_err("%s exited with status %d; starting it again in %u ms", c->name,
                WEXITSTATUS(status), delay);
    return true;
}

void child_stop(struct child *c, int grace_ms)
{
    c->wanted = false;
    if (c->pid <= 0)
        return;
    kill(c->pid, SIGTERM);
    bool killed;
    child_wait(c->pid, grace_ms, &killed);
    if (killed)
        log_warn("%s did not stop within %d ms; killed", c->name, grace_ms);
    c->pid = 0;
}

long child_ms_until_start(const struct child *c)
{
    return c->wanted && c->pid <= 0 ? restart_ms_until(&c->restart) : -1;
}
