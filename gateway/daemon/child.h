/* A helper program accessgwd starts and keeps running (accessgw-web): started
 * again with backoff when it exits, stopped with the gateway.  Also what every
 * helper it starts shares: the path, the spawn, the restart backoff, the wait.  Main loop only;
 * the exit is seen through SIGCHLD on the gateway's signalfd. */
#ifndef AGW_CHILD_H
#define AGW_CHILD_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* When a helper that ended is started again: after 0.5 s, doubling up to 30 s
 * while it keeps ending, from 0.5 s again once it has run a minute.  Shared by
 * accessgw-web and the plugin hosts (plugin_proc.c). */
struct restart {
    unsigned backoff_ms;
    struct timespec start_at, started;
};
void restart_init(struct restart *r);
void restart_started(struct restart *r);
/* It ended, or could not start: the next start is due after the returned ms. */
unsigned restart_schedule(struct restart *r);
/* ms until that start (0: due). */
long restart_ms_until(const struct restart *r);

/* pid's exit status, waited for up to grace_ms; after that it is killed with
 * SIGKILL and reaped (*killed says so when not NULL). */
int child_wait(pid_t pid, int grace_ms, bool *killed);

struct child {
    char name[32];        /* "accessgw-web" */
    char path[4200];      /* next to accessgwd's own binary */
    char config[4096];
    pid_t pid;            /* 0 while not running */
    bool wanted;
    int keep_fd;          /* given to it as fd 3 at every start; -1: none */
    struct restart restart;
};

/* Where the helper program `name` is: beside the running accessgwd. */
void child_program_path(const char *name, char *out, size_t len);
/* fork + exec argv[0] with a clean signal mask, only keep_fd (as fd 3; -1:
 * none) and stdin/out/err inherited (stderr replaced by err_fd unless it is -1),
 * and death_signal when accessgwd dies.  The child's pid, or -1. */
pid_t child_spawn(char *const argv[], int keep_fd, int err_fd, int death_signal);
/* The program `name` installed beside the running accessgwd, run with --config. */
void child_init(struct child *c, const char *name, const char *config_path);
/* Wanted: started now or after its backoff; not wanted: stopped. */
void child_want(struct child *c, bool wanted);
void child_start_if_due(struct child *c);
/* waitpid() said pid ended with status: true when it was this child. */
bool child_reaped(struct child *c, pid_t pid, int status);
/* SIGTERM, then SIGKILL after grace_ms. */
void child_stop(struct child *c, int grace_ms);
/* ms until a start is due, -1 when none is. */
long child_ms_until_start(const struct child *c);
#endif
