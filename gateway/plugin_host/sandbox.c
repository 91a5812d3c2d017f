/*
 * The plugin host's sandbox, entered after the plugin is loaded and before it
 * runs (docs/PROCESSES.md, "What a child may do").
 *
 * Three layers, each for what the others cannot say:
 * - PR_SET_NO_NEW_PRIVS: nothing it runs gains privileges (and seccomp and
 *   Landlock require it of an unprivileged process);
 * - Landlock: which files.  Seccomp sees a path only as a pointer, so where a
 *   plugin may read (its libraries, sysfs, udev's database, its profiles) and
 *   that it may write nowhere is said here.  accessgwd opens the device nodes
 *   and writes the state files; USB is the exception (libusb opens the node
 *   under /dev/bus/usb itself);
 * - seccomp: which system calls, as an allow-list.  A call outside it fails
 *   with EPERM and the log names its number once, so a library that changed
 *   its calls after an update shows up in the log instead of breaking a device
 *   in silence.  No exec, no fork, no network (sockets: AF_UNIX only, and only
 *   for BlueZ's plugins, for sd-bus, and smart-card plugins, for pcscd), no
 *   signals to other processes, no input pushed into a terminal.
 */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/netlink.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <ucontext.h>
#include <unistd.h>

#include "log.h"
#include "sound_paths.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1 /* LeakSanitizer stops the world with clone() and ptrace() at exit */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* ---- Landlock ---- */

#define LL_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#ifdef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LL_IOCTL_DEV LANDLOCK_ACCESS_FS_IOCTL_DEV
#else
#define LL_IOCTL_DEV (1ULL << 15) /* ABI 5; Debian 12's headers predate it */
#endif
#define LL_DEVICE (LL_READ | LANDLOCK_ACCESS_FS_WRITE_FILE | LL_IOCTL_DEV)

/* Landlock's ruleset as of ABI 6 (Linux 6.12): Debian 12's headers know only its first
 * field.  The kernel takes the size given and reads what it knows of it. */
struct landlock_ruleset_v6 {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
};
#define LL_SCOPE_SIGNAL (1ULL << 1)

/* Everything Landlock can refuse, as far as this kernel knows it. */
static uint64_t landlock_handled(int abi)
{
    uint64_t a = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
                 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
                 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
                 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
                 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
                 LANDLOCK_ACCESS_FS_MAKE_SYM;
    if (abi >= 2)
        a |= 1ULL << 13; /* REFER */
    if (abi >= 3)
        a |= 1ULL << 14; /* TRUNCATE */
    if (abi >= 5)
        a |= LL_IOCTL_DEV;
    return a;
}

/* A path that does not exist is no error: /lib64 is not on every system.
 * Opened by the system call itself: a preloaded library's view of the file
 * system (umockdev's, in tests) is not what the kernel will enforce. */
static int landlock_allow(int ruleset, const char *path, uint64_t access, uint64_t handled)
{
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
        access &= ~(uint64_t)LANDLOCK_ACCESS_FS_READ_DIR; /* a file's rights only */
    struct landlock_path_beneath_attr rule = {.allowed_access = access & handled,
                                              .parent_fd = fd};
    int r = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
    int e = errno;
    close(fd);
    return r < 0 ? -e : 0;
}

static const char *const system_reads[] = {
    "/usr", "/lib", "/lib64", "/etc/ld.so.cache", /* libraries the C library loads late */
    "/sys", "/run/udev", /* libudev: a HID device's ids, descriptor and names */
};

/* LSAN_OPTIONS=...:suppressions=FILE:...: read when leaks are reported */
static bool leak_suppressions(char *path, size_t len)
{
    const char *opts = getenv("LSAN_OPTIONS"), *at = opts ? strstr(opts, "suppressions=") : NULL;
    if (!at)
        return false;
    at += strlen("suppressions=");
    size_t n = strcspn(at, ": ");
    if (n == 0 || n >= len)
        return false;
    memcpy(path, at, n);
    path[n] = '\0';
    return true;
}

/* AGW_RESOURCE_SOUND: the sound devices, ALSA's configuration, and the directories
 * a file PCM of that configuration writes into (sound_paths.h) — nothing more. */
static int allow_sound(int ruleset, const char *plugin_id, uint64_t handled)
{
    static struct sound_paths p;
    sound_paths_find(&p);
    uint64_t write = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG | (1ULL << 14);
    int r = landlock_allow(ruleset, "/dev/snd", LL_DEVICE, handled);
    if (r == 0) /* ALSA's null PCM (under a file PCM, or for a silent device) polls it */
        r = landlock_allow(ruleset, "/dev/null", LL_READ | LANDLOCK_ACCESS_FS_WRITE_FILE, handled);
    for (size_t i = 0; i < p.n_read && r == 0; i++)
        r = landlock_allow(ruleset, p.read[i], LL_READ, handled);
    for (size_t i = 0; i < p.n_write && r == 0; i++) {
        log_info("plugin %s: may write into %s (a file PCM of ALSA's configuration)", plugin_id,
                 p.write[i]);
        r = landlock_allow(ruleset, p.write[i], LL_READ | write, handled);
    }
    return r;
}

static int landlock_rules(int ruleset, const char *plugin_id, const struct sandbox_needs *needs,
                          uint64_t handled)
{
    int r = 0;
    for (size_t i = 0; i < sizeof(system_reads) / sizeof(system_reads[0]) && r == 0; i++)
        r = landlock_allow(ruleset, system_reads[i], LL_READ, handled);
    for (size_t i = 0; i < needs->n_read && r == 0; i++)
        if ((r = landlock_allow(ruleset, needs->read[i], LL_READ, handled)) < 0)
            log_err("plugin %s: cannot let it read %s: %s", plugin_id, needs->read[i],
                    strerror(-r));
    if (r == 0 && needs->usb)
        r = landlock_allow(ruleset, "/dev/bus/usb", LL_DEVICE, handled);
    if (r == 0 && needs->sound)
        r = allow_sound(ruleset, plugin_id, handled);
    if (r == 0 && SANITIZED) /* the sanitizers read /proc/self/maps when they report */
        r = landlock_allow(ruleset, "/proc", LL_READ, handled);
    char suppressions[4096];
    if (r == 0 && SANITIZED && leak_suppressions(suppressions, sizeof(suppressions)))
        r = landlock_allow(ruleset, suppressions, LL_READ, handled);
    /* umockdev (the tests' device emulator) moves /dev and /sys into its testbed,
     * and its uevents and ioctls come through sockets it makes there */
    const char *testbed = getenv("UMOCKDEV_DIR");
    if (r == 0 && testbed && testbed[0] == '/')
        r = landlock_allow(ruleset, testbed, handled & ~(uint64_t)LANDLOCK_ACCESS_FS_EXECUTE,
                           handled);
    return r;
}

static int enter_landlock(const char *plugin_id, const struct sandbox_needs *needs)
{
    int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 0) {
        log_warn("plugin %s: this kernel has no Landlock (%s): the files it may open are "
                 "limited only by their permissions", plugin_id, strerror(errno));
        return 0;
    }
    uint64_t handled = landlock_handled(abi);
    /* Signals only within the sandbox, where the kernel can say so: the seccomp filter
     * refuses kill() to others and the fcntl()s that aim SIGIO at them, and this
     * covers what it cannot see (a signal the kernel sends for the plugin). */
    struct landlock_ruleset_v6 attr = {.handled_access_fs = handled,
                                       .scoped = abi >= 6 ? LL_SCOPE_SIGNAL : 0};
    size_t size = abi >= 6 ? sizeof(attr) : sizeof(attr.handled_access_fs);
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (ruleset < 0) {
        log_err("plugin %s: landlock_create_ruleset: %s", plugin_id, strerror(errno));
        return -1;
    }
    int r = landlock_rules(ruleset, plugin_id, needs, handled);
    if (r == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
        r = -errno;
    close(ruleset);
    if (r < 0)
        log_err("plugin %s: cannot limit the files it may open: %s", plugin_id, strerror(-r));
    return r < 0 ? -1 : 0;
}

/* ---- seccomp ---- */

static const int allowed_calls[] = {
    /* I/O on what it has, and the files Landlock lets it open */
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
    SCMP_SYS(pwrite64), SCMP_SYS(close), SCMP_SYS(close_range), SCMP_SYS(lseek), SCMP_SYS(open),
    SCMP_SYS(openat), SCMP_SYS(fcntl), SCMP_SYS(ioctl), /* but some: argument_guard */
    SCMP_SYS(dup), SCMP_SYS(dup2),
    SCMP_SYS(dup3), SCMP_SYS(pipe2), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(stat),
    SCMP_SYS(lstat), SCMP_SYS(statx), SCMP_SYS(fstatfs), SCMP_SYS(statfs), SCMP_SYS(access),
    SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
    SCMP_SYS(getdents64), SCMP_SYS(getcwd), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
    SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(bind), /* where Landlock lets it: nowhere */
    /* waiting */
    SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
    SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
    SCMP_SYS(eventfd2), SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),
    SCMP_SYS(timerfd_gettime), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
    SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(time),
    SCMP_SYS(restart_syscall),
    /* memory and threads */
    SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap),
    SCMP_SYS(madvise), SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list),
    SCMP_SYS(rseq), SCMP_SYS(set_tid_address), SCMP_SYS(sched_yield),
    SCMP_SYS(sched_getaffinity), SCMP_SYS(membarrier), SCMP_SYS(exit), SCMP_SYS(exit_group),
    SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigtimedwait), SCMP_SYS(sigaltstack), SCMP_SYS(prctl),
    /* who am I (sd-bus authenticates with them) */
    SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
    SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(getgroups), SCMP_SYS(getresuid),
    SCMP_SYS(getresgid), SCMP_SYS(getrandom), SCMP_SYS(uname), SCMP_SYS(sysinfo),
    SCMP_SYS(getrlimit), SCMP_SYS(getrusage), /* prlimit64: its own, below */
    /* talking over sockets it has or makes (AF_UNIX only, below) */
    SCMP_SYS(connect), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto),
    SCMP_SYS(recvfrom), SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg), SCMP_SYS(shutdown),
    SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
};

/* What LeakSanitizer needs at exit to stop the world: test builds only. */
static const int sanitizer_calls[] = {
    SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(waitid), SCMP_SYS(sched_getparam), SCMP_SYS(mincore), SCMP_SYS(personality),
    SCMP_SYS(getdents), /* the sanitizers' own getdents, the old call */
};

static atomic_int refusals_said;

/* SIGSYS from a call outside the list: say which, once per call number (up to
 * 32 of them), and let it fail with EPERM as a refused call would. */
static void on_refused(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    int saved = errno;
    if (atomic_fetch_add(&refusals_said, 1) < 32) {
        char line[128];
        int n = snprintf(line, sizeof(line),
                         "accessgw-plugin-host: warning: system call %d refused by the sandbox "
                         "(scmp_sys_resolver %d names it)\n",
                         info->si_syscall, info->si_syscall);
        if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0)
            (void)0;
    }
    ucontext_t *uc = context;
#if defined(__x86_64__)
    uc->uc_mcontext.gregs[REG_RAX] = -EPERM;
#elif defined(__aarch64__)
    uc->uc_mcontext.regs[0] = (unsigned long long)-EPERM;
#else
    (void)uc;
#endif
    errno = saved;
}

static int allow(scmp_filter_ctx ctx, int call, unsigned n_args, const struct scmp_arg_cmp *arg)
{
    if (call < 0) /* not a call on this architecture (open, stat on arm64) */
        return 0;
    return n_args ? seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, call, n_args, arg)
                  : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, call, 0);
}

static int seccomp_rules(scmp_filter_ctx ctx, const struct sandbox_needs *needs)
{
    int r = 0;
    for (size_t i = 0; i < sizeof(allowed_calls) / sizeof(allowed_calls[0]) && r == 0; i++)
        r = allow(ctx, allowed_calls[i], 0, NULL);
    struct scmp_arg_cmp unix_only = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
    struct scmp_arg_cmp self = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid());
    struct scmp_arg_cmp thread_only = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
    /* LeakSanitizer's tracer is a task that shares memory but is not a thread */
    struct scmp_arg_cmp shares_memory = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_VM, CLONE_VM);
    /* Local sockets only for BlueZ's plugins (sd-bus) and smart-card readers'
     * (pcscd's socket; Landlock before ABI 6 does not govern connecting to a
     * named socket, so the path needs no rule); umockdev, the tests' device
     * emulator, makes its own in every process it is preloaded into */
    bool unix_sockets = needs->bluez || needs->pcsc || getenv("UMOCKDEV_DIR");
    if (r == 0 && unix_sockets)
        r = allow(ctx, SCMP_SYS(socket), 1, &unix_only);
    if (r == 0 && unix_sockets)
        r = allow(ctx, SCMP_SYS(socketpair), 1, &unix_only);
    /* libusb learns of plugged devices from the kernel's uevents: that netlink
     * family only (no socket it can make reaches the network) */
    struct scmp_arg_cmp uevents[] = {SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
                                     SCMP_A2(SCMP_CMP_EQ, NETLINK_KOBJECT_UEVENT)};
    if (r == 0)
        r = allow(ctx, SCMP_SYS(socket), 2, uevents);

    /* abort() and raise() signal this process; nothing else may be signalled */
    if (r == 0)
        r = allow(ctx, SCMP_SYS(tgkill), 1, &self);
    if (r == 0)
        r = allow(ctx, SCMP_SYS(kill), 1, &self);
    /* its own limits (pid 0 or its own), never another process's: a plugin once set
     * accessgwd's RLIMIT_CPU to 2 s and its RLIMIT_NOFILE to 12 */
    struct scmp_arg_cmp own_limits = SCMP_A0(SCMP_CMP_EQ, 0);
    if (r == 0)
        r = allow(ctx, SCMP_SYS(prlimit64), 1, &own_limits);
    if (r == 0)
        r = allow(ctx, SCMP_SYS(prlimit64), 1, &self);
    /* threads yes, processes no; clone3's flags cannot be inspected, so it is
     * "missing" and the C library falls back to clone() */
    if (r == 0)
        r = allow(ctx, SCMP_SYS(clone), 1, SANITIZED ? &shares_memory : &thread_only);
    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    for (size_t i = 0; SANITIZED && r == 0 && i < sizeof(sanitizer_calls) / sizeof(sanitizer_calls[0]); i++)
        r = allow(ctx, sanitizer_calls[i], 0, NULL);
    return r;
}

/* Calls the allow-list lets through in general but never with these arguments.
 * A second filter, because libseccomp lets an unconditional allow of a call win over
 * its conditional refusals; the kernel applies the stricter of the two.  The kernel
 * reads fcntl's command and ioctl's request as 32 bits, so only those are compared.
 * - ioctl: input pushed into a terminal (TIOCSTI: a sandbox's classic way out
 *   through a tty it was given) or a console (TIOCLINUX); a terminal made
 *   controlling or its foreground group set (job-control signals to others);
 * - fcntl and ioctl: a descriptor's owner (F_SETOWN, F_SETOWN_EX, FIOSETOWN,
 *   SIOCSPGRP) and its signal (F_SETSIG): with O_ASYNC, the kernel then sends that
 *   signal, SIGKILL even, to the owner on the next byte, checking only that the uids
 *   match, and every process of the service shares one.  Leases (F_SETLEASE) and
 *   directory notices (F_NOTIFY) signal in the same way.  No device needs them. */
struct refused_arg {
    int call;
    unsigned long value;
};

static const struct refused_arg refused_args[] = {
    {SCMP_SYS(ioctl), TIOCSTI},    {SCMP_SYS(ioctl), TIOCLINUX},  {SCMP_SYS(ioctl), TIOCSCTTY},
    {SCMP_SYS(ioctl), TIOCSPGRP},  {SCMP_SYS(ioctl), FIOSETOWN},  {SCMP_SYS(ioctl), SIOCSPGRP},
    {SCMP_SYS(fcntl), F_SETOWN},   {SCMP_SYS(fcntl), F_SETOWN_EX}, {SCMP_SYS(fcntl), F_SETSIG},
    {SCMP_SYS(fcntl), F_SETLEASE}, {SCMP_SYS(fcntl), F_NOTIFY},
};

static int argument_guard(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return -ENOMEM;
    int r = 0;
    for (size_t i = 0; i < sizeof(refused_args) / sizeof(refused_args[0]) && r == 0; i++)
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), refused_args[i].call, 1,
                             SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, refused_args[i].value));
    if (r == 0)
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (r == 0)
        r = seccomp_load(ctx);
    seccomp_release(ctx);
    return r;
}

static int enter_seccomp(const char *plugin_id, const struct sandbox_needs *needs)
{
#if defined(__x86_64__) || defined(__aarch64__)
    struct sigaction sa = {.sa_sigaction = on_refused, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSYS, &sa, NULL);
    uint32_t refuse = SCMP_ACT_TRAP;
#else
    uint32_t refuse = SCMP_ACT_ERRNO(EPERM);
#endif
    scmp_filter_ctx ctx = seccomp_init(refuse);
    int r = ctx ? seccomp_rules(ctx, needs) : -ENOMEM;
    if (r == 0) /* every thread, should a library have started one already */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (r == 0) /* first: the allow-list has no seccomp() in it */
        r = argument_guard();
    if (r == 0)
        r = seccomp_load(ctx);
    seccomp_release(ctx);
    if (r < 0) {
        log_err("plugin %s: cannot install its seccomp filter: %s", plugin_id, strerror(-r));
        return -1;
    }
    return 0;
}

int sandbox_enter(const char *plugin_id, const struct sandbox_needs *needs)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        log_err("plugin %s: cannot drop new privileges: %s", plugin_id, strerror(errno));
        return -1;
    }
    if (enter_landlock(plugin_id, needs) < 0 || enter_seccomp(plugin_id, needs) < 0)
        return -1;
    return 0;
}
