/* Test plugins for the loader: one source, one descriptor flaw per build
 * (VARIANT_*), so every refusal the loader makes is exercised for real. */
#define _GNU_SOURCE /* F_SETSIG, prlimit */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <termios.h>
#include <sys/wait.h>
#include <pthread.h>
#include <accessgw/plugin.h>

#ifndef PLUGIN_ID
#define PLUGIN_ID "testgood"
#endif

#if defined(VARIANT_HANG)
/* crash = segv | abort: how this plugin dies where crash_in says (open, timer,
 * command).  The handler is reset first so that the signal is the same under
 * ASan, which would otherwise turn a SIGSEGV into its report and an abort. */
static void die(const char *how)
{
    int sig = how && strcmp(how, "abort") == 0 ? SIGABRT : SIGSEGV;
    signal(sig, SIG_DFL);
    raise(sig);
}
#endif
#if AGW_ABI_MAJOR >= 2
__attribute__((unused)) static int t_open(struct agw_device *dev)
#else /* built with a released 1.x header (tests/abi/) */
__attribute__((unused)) static int t_open(struct agw_device *dev, const struct agw_host *host)
#endif
{
#if defined(VARIANT_HANG)
    /* A plugin that hangs for hang_ms, in open() or (hang_in = timer) in its
     * first on_timer(): the host must report it and keep every other device
     * working. */
    const char *ms = agw_config(dev, "hang_ms"), *in = agw_config(dev, "hang_in");
    const char *crash_in = agw_config(dev, "crash_in");
    if (crash_in && strcmp(crash_in, "open") == 0)
        die(agw_config(dev, "crash"));
    useconds_t us = (useconds_t)(ms ? atoi(ms) : 0) * 1000;
    if (crash_in && strcmp(crash_in, "timer") == 0) {
        in = "timer";
        us = 0;
    }
    if (in && in[0] == 't') {
        agw_set_userdata(dev, (void *)(uintptr_t)us);
        agw_set_timer(dev, 200);
    } else {
        usleep(us);
    }
#endif
#if AGW_ABI_MAJOR < 2
    (void)host;
#endif
    (void)dev;
    return 0;
}
#if defined(VARIANT_HANG)
static const char *const t_keys[] = {"hang_ms", "hang_in", "crash_in", "crash", "profile_dir",
                                     NULL};

/* The plugin link (fd 3) spoken directly, as a compromised plugin could:
 * OPEN for the device named id, n times (gateway/common/plink.h's layout), as
 * many to a record as fit in 64 KiB (a record may carry many messages): the
 * kernel queues only a few records on the link, so a flood of one message a
 * record would be taken about as fast as it is written. */
static int link_open(const char *id, int n)
{
    size_t len = strlen(id), one = len + 8;
    if (len > 100)
        return EINVAL;
    static uint8_t batch[65536];
    while (n > 0) {
        size_t k = 0;
        for (; n > 0 && k + one <= sizeof(batch); n--, k += one) {
            uint8_t head[7] = {(uint8_t)(len + 4), 0, 0, 0, 22, (uint8_t)len, 0};
            memcpy(batch + k, head, sizeof(head));
            memcpy(batch + k + 7, id, len + 1);
        }
        if (write(3, batch, k) < 0)
            return errno;
    }
    return 0;
}

/* SAVE {"n":1} for the device named id */
static int link_save(const char *id)
{
    static const char state[] = "{\"n\":1}";
    size_t len = strlen(id), body = 1 + 2 + len + 1 + 4 + sizeof(state);
    uint8_t msg[160] = {(uint8_t)body, 0, 0, 0, 23, (uint8_t)len, 0};
    if (len > 100)
        return EINVAL;
    memcpy(msg + 7, id, len + 1);
    uint8_t *p = msg + 7 + len + 1;
    p[0] = (uint8_t)(sizeof(state) - 1);
    p[1] = p[2] = p[3] = 0;
    memcpy(p + 4, state, sizeof(state));
    return write(3, msg, 4 + body) < 0 ? errno : 0;
}

/* A plugin turned hostile: what it tries (args what, path) and the errno it
 * got (0: it worked), for tests of the plugin host's sandbox. */
static void *sleeper(void *arg)
{
    for (;;)
        sleep(1000);
    return arg;
}

static void *spinner(void *arg)
{
    for (volatile unsigned long n = 0;; n++)
        ;
    return arg;
}

static int attempt(struct agw_device *dev, const char *what, const char *path)
{
    int r = -1;
    if (strcmp(what, "read") == 0 && path)
        r = open(path, O_RDONLY | O_CLOEXEC);
    else if (strcmp(what, "write") == 0 && path)
        r = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    else if (strcmp(what, "device") == 0 && path)
        r = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    else if (strcmp(what, "inet") == 0)
        r = socket(AF_INET, SOCK_STREAM, 0);
    else if (strcmp(what, "unix") == 0)
        r = socket(AF_UNIX, SOCK_STREAM, 0);
    else if (strcmp(what, "tiocsti") == 0 || strcmp(what, "tiocsti_high") == 0) {
        /* push a character into the input of a terminal it holds (its serial device);
         * _high: with bits above the 32 the kernel reads, to slip past a filter */
        unsigned long request = TIOCSTI;
        if (what[7] == '_' && sizeof(long) > 4)
            request |= (unsigned long)1 << (sizeof(long) * 8 - 1);
        for (int fd = 3; fd < 256; fd++)
            if (isatty(fd)) {
                char c = 'x';
                return ioctl(fd, request, &c) < 0 ? errno : 0;
            }
        return ENOTTY;
    }
    else if (strcmp(what, "sigio_parent") == 0) {
        /* a pipe whose owner is accessgwd and whose signal is SIGKILL: one byte kills it */
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
            return errno;
        int e = fcntl(fds[0], F_SETOWN, getppid()) < 0 ? errno
                : fcntl(fds[0], F_SETSIG, SIGKILL) < 0 ? errno
                : fcntl(fds[0], F_SETFL, O_ASYNC | O_NONBLOCK) < 0 ? errno
                : write(fds[1], "x", 1) < 0 ? errno : 0;
        close(fds[0]);
        close(fds[1]);
        return e;
    } else if (strcmp(what, "fiosetown_parent") == 0 || strcmp(what, "siocspgrp_parent") == 0) {
        /* the same owner set by ioctl: on a pipe, or on the link (a socket) */
        int fds[2] = {-1, -1}, owner = getppid();
        if (what[0] == 'f' && pipe2(fds, O_CLOEXEC) < 0)
            return errno;
        int e = what[0] == 'f' ? (ioctl(fds[0], FIOSETOWN, &owner) < 0 ? errno : 0)
                               : (ioctl(3, SIOCSPGRP, &owner) < 0 ? errno : 0);
        if (fds[0] >= 0) {
            close(fds[0]);
            close(fds[1]);
        }
        return e;
    } else if (strcmp(what, "setlease") == 0 && path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return errno;
        int e = fcntl(fd, F_SETLEASE, F_RDLCK) < 0 ? errno : 0;
        close(fd);
        return e;
    } else if (strcmp(what, "prlimit_parent") == 0 || strcmp(what, "prlimit_self") == 0) {
        /* read a limit and set it again as it was: harmless, but only for its own */
        pid_t pid = what[8] == 'p' ? getppid() : 0;
        struct rlimit old;
        if (prlimit(pid, RLIMIT_CORE, NULL, &old) < 0 || prlimit(pid, RLIMIT_CORE, &old, NULL) < 0)
            return errno;
        return 0;
    }
    else if (strcmp(what, "threads") == 0) {
        /* threads that only wait, as many as it can start (3,000 once) */
        static pthread_t spawned[3000];
        int n = 0, e = 0;
        while (n < 3000 && (e = pthread_create(&spawned[n], NULL, sleeper, NULL)) == 0)
            n++;
        return n == 3000 ? 0 : e;
    } else if (strcmp(what, "memory") == 0) {
        /* 1 GiB touched, kept (512 MiB once; more than a host under ASan may hold) */
        size_t size = (size_t)1 << 30;
        char *block = malloc(size);
        if (!block)
            return ENOMEM;
        memset(block, 1, size);
        __asm__ volatile("" : : "r"(block) : "memory"); /* as if read: the stores stay */
        return block[size - 1] == 1 ? 0 : EIO;
    } else if (strcmp(what, "spin") == 0) {
        /* cores spun from threads of its own, saying nothing (two: one alone may get less
         * than a core on a busy machine) */
        pthread_t t;
        int e = pthread_create(&t, NULL, spinner, NULL);
        return e ? e : pthread_create(&t, NULL, spinner, NULL);
    } else if (strcmp(what, "event_flood") == 0) {
        for (long i = 0; i < 200000; i++)
            if (agw_emit(dev, "flood", json_pack("{s:I}", "i", (json_int_t)i)) < 0)
                return 0; /* its host was stopped: what it sends no longer goes anywhere */
        return 0;
    }
    else if (strcmp(what, "stderr_flood") == 0) {
        /* lines shaped as accessgwd's own errors, straight to its stderr */
        for (int i = 0; i < 100000; i++)
            if (dprintf(2, "accessgwd: err: forged %d\x1b[2J\r\n", i) < 0)
                return errno;
        return 0;
    }
    else if (strcmp(what, "signal_parent") == 0)
        return kill(getppid(), SIGTERM) < 0 ? errno : 0;
    else if (strcmp(what, "exec") == 0)
        return execl("/bin/true", "true", (char *)NULL) < 0 ? errno : 0;
    else if (strcmp(what, "fork") == 0) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid > 0)
            waitpid(pid, NULL, 0);
        return pid < 0 ? errno : 0;
    } else if (strcmp(what, "link") == 0 && path) {
        return link_open(path, 1);
    } else if (strcmp(what, "open_each") == 0 && path) {
        /* one request for each device named (comma-separated), then no reading: what a
         * host attaching many devices at once has in flight, legitimately */
        char ids[512];
        snprintf(ids, sizeof(ids), "%s", path);
        for (char *save = NULL, *id = strtok_r(ids, ",", &save); id; id = strtok_r(NULL, ",", &save))
            if (link_open(id, 1) != 0)
                return errno;
        kill(getpid(), SIGSTOP);
        return 0;
    } else if (strcmp(what, "flood_open") == 0 && path) {
        /* asks for its own node again and again, then stops reading (the whole process) */
        int e = link_open(path, 2000);
        kill(getpid(), SIGSTOP);
        return e;
    } else if (strcmp(what, "flood_save") == 0 && path) {
        for (int i = 0; i < 1000; i++)
            if (link_save(path) != 0)
                return errno;
        return 0;
    } else
        return EINVAL;
    int e = r < 0 ? errno : 0;
    if (r >= 0)
        close(r);
    return e;
}

static void t_timer(struct agw_device *dev)
{
    const char *crash_in = agw_config(dev, "crash_in");
    if (crash_in && strcmp(crash_in, "timer") == 0)
        die(agw_config(dev, "crash"));
    useconds_t us = (useconds_t)(uintptr_t)agw_userdata(dev);
    agw_set_userdata(dev, NULL); /* once */
    usleep(us);
}

static int t_command(struct agw_device *dev, const char *target, const char *verb, json_t *args,
                     json_t **result)
{
    (void)target, (void)args, (void)result;
    if (strcmp(verb, "crash") == 0)
        die(agw_config(dev, "crash"));
    if (strcmp(verb, "echo") == 0)
        return AGW_CMD_OK;
    const char *key = json_string_value(json_object_get(args, "key"));
    if (strcmp(verb, "config") == 0 && key) { /* what agw_config() answers, the n-th key, */
        const char *value, *nth = agw_config_nth(dev, (size_t)json_integer_value(json_object_get(args, "n")), &value);
        unsigned number; /* and what a typed call reads under the key (default 4242) */
        int rc = agw_config_uint(dev, key, 4242, 0, 1000000, &number);
        *result = json_pack("{s:s?, s:s?, s:i, s:i}", "value", agw_config(dev, key), "nth", nth,
                            "uint", (int)number, "uint_rc", rc);
        return AGW_CMD_OK;
    }
    const char *child = json_string_value(json_object_get(args, "id"));
    if (strcmp(verb, "add_child") == 0 && child) /* a child of any name, even another's */
        return agw_add_child(dev, child, "Zone A") == 0 ? AGW_CMD_OK : AGW_CMD_BAD_ARGS;
    const char *what = json_string_value(json_object_get(args, "what"));
    if (strcmp(verb, "try") == 0 && what) {
        *result = json_pack("{s:i}", "errno", attempt(dev, what, json_string_value(json_object_get(args, "path"))));
        return AGW_CMD_OK;
    }
    return AGW_CMD_UNKNOWN_VERB;
}
#endif
__attribute__((unused)) static void t_close(struct agw_device *dev) { (void)dev; }

#if defined(VARIANT_SHORT_STRUCT)
/* An "old" plugin whose descriptor stops before the callbacks. */
struct short_plugin {
    uint32_t magic, abi_major, abi_minor, struct_size;
    const char *id, *device_class;
};
__attribute__((visibility("default"))) const struct short_plugin agw_plugin = {
    AGW_PLUGIN_MAGIC, AGW_ABI_MAJOR, AGW_ABI_MINOR, sizeof(struct short_plugin), PLUGIN_ID, "test"};
#elif defined(VARIANT_NO_SYMBOL)
__attribute__((visibility("default"))) int not_a_plugin = 1;
#else
__attribute__((visibility("default"))) const struct agw_plugin agw_plugin = {
#if defined(VARIANT_BAD_MAGIC)
    .magic = 0xdeadbeef,
#else
    .magic = AGW_PLUGIN_MAGIC,
#endif
#if defined(VARIANT_BAD_MAJOR)
    .abi_major = AGW_ABI_MAJOR + 1,
#else
    .abi_major = AGW_ABI_MAJOR,
#endif
    .abi_minor = AGW_ABI_MINOR,
    .struct_size = sizeof(struct agw_plugin),
    .id = PLUGIN_ID,
    .device_class = "test",
    .version = "0",
#if defined(VARIANT_HANG)
    .transports = AGW_TRANSPORT_BIT(AGW_TRANSPORT_NONE) | AGW_TRANSPORT_BIT(AGW_TRANSPORT_SERIAL),
#else
    .transports = AGW_TRANSPORT_BIT(AGW_TRANSPORT_NONE),
#endif
#if !defined(VARIANT_NO_OPEN)
    .open = t_open,
#endif
#if !defined(VARIANT_NO_CLOSE)
    .close = t_close,
#endif
#if defined(VARIANT_HANG)
    .config_keys = t_keys,
    .on_timer = t_timer,
    .command = t_command,
#endif
};
#endif
