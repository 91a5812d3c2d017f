/*
 * bench_bus: the gateway's overhead measured against raw libzmq, in one run.
 *
 *  1. raw libzmq: PUB -> SUB on loopback TCP, two-frame messages the size
 *     of a gateway event: throughput, and latency at a paced rate.
 *  2. the gateway: bytes written to a pty -> skeleton plugin -> envelope ->
 *     PUB -> SUB: the same two figures, and the ratios.
 *  3. the gateway idle for 10 s: CPU time used, and its peak RSS.
 *  4. the journal's cost: run 2 again with [journal] max_mb = 0.
 *  5. CPU per event, which depends far less on how busy the machine is than
 *     throughput does: the gateway process's CPU time (all its threads) per
 *     event in the throughput run, beside the raw publisher's, which runs in
 *     a process of its own for that reason; and the machine's load and cores.
 *  6. context switches per event in the flood, by thread of accessgwd and its
 *     plugin hosts, beside the raw publisher's: how many hand-offs between
 *     threads an event costs, which does not depend on the machine's load.
 *
 * Usage: bench_bus BUILD_DIR   (prints a report; exits 0)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define N_THROUGHPUT 200000
#define N_LATENCY 5000
/* ACCESSGW_BENCH_SMOKE: a run of seconds that only shows every part still works
 * (CI runs it so the benchmark cannot rot); its figures mean nothing. */
static int n_throughput = N_THROUGHPUT, n_latency = N_LATENCY;
#define LATENCY_RATE_HZ 2000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Sleeps until the next slot of a paced run (no spinning: the machine has two cores). */
static void pace(double *next, double interval)
{
    double wait = *next - now_s();
    if (wait > 0) {
        struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
    }
    *next += interval;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static void percentiles(long long *v, int n, double *p50, double *p99)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_ll);
    *p50 = v[n / 2] / 1000.0;
    *p99 = v[(int)(n * 0.99)] / 1000.0;
}

/* The sent timestamp travels inside the message as "t=<ns>;" */
static long long stamp_in(const char *body, size_t len)
{
    const char *p = memmem(body, len, "t=", 2);
    return p ? atoll(p + 2) : 0;
}

static double cpu_seconds(pid_t pid);

/* ---- 1. raw libzmq ---- */

struct raw_args {
    void *ctx;
    const char *endpoint;
    int count, paced;
    size_t body_len;
};

static void *raw_publisher(void *arg)
{
    struct raw_args *a = arg;
    void *pub = zmq_socket(a->ctx, ZMQ_PUB);
    int hwm = 0;
    zmq_setsockopt(pub, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_bind(pub, a->endpoint);
    usleep(300000); /* slow joiner */
    char body[1024];
    memset(body, 'x', sizeof(body));
    double interval = 1.0 / LATENCY_RATE_HZ, next = now_s();
    for (int i = 0; i < a->count; i++) {
        if (a->paced)
            pace(&next, interval);
        int n = snprintf(body, sizeof(body), "{\"t=%lld;\"", now_ns());
        body[n] = 'x';
        zmq_send(pub, "skeleton/bench-1/line", 21, ZMQ_SNDMORE);
        zmq_send(pub, body, a->body_len, 0);
    }
    zmq_send(pub, "end", 3, ZMQ_SNDMORE);
    zmq_send(pub, "", 0, 0);
    sleep(1);
    zmq_close(pub);
    return NULL;
}

/* Receives until `count` messages or an "end" topic; latencies into lat if given. */
static int receive(void *sub, int count, long long *lat, double *elapsed)
{
    char topic[256], body[4096];
    int got = 0;
    double start = 0;
    while (got < count) {
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 5000) <= 0)
            break;
        int tn = zmq_recv(sub, topic, sizeof(topic), 0);
        int bn = zmq_recv(sub, body, sizeof(body) - 1, 0);
        if (tn == 3 && memcmp(topic, "end", 3) == 0)
            break;
        if (bn < 0)
            continue;
        if (tn >= 9 && memcmp(topic, "skeleton/", 9) != 0)
            continue;
        if (got == 0)
            start = now_s();
        if (lat)
            lat[got] = now_ns() - stamp_in(body, (size_t)(bn < (int)sizeof(body) ? bn : (int)sizeof(body)));
        got++;
    }
    *elapsed = now_s() - start;
    return got;
}

static void *sub_socket(void *ctx, const char *endpoint)
{
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    int hwm = 0;
    zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    zmq_connect(sub, endpoint);
    return sub;
}

/* The throughput run's publisher in a process of its own (its own context and
 * I/O thread, as the gateway has): its CPU time per message is what the
 * gateway's CPU per event is held against. */
static void raw_run(size_t body_len, double *rate, double *p50, double *p99, double *cpu_us,
                    double *switches_per_msg)
{
    const char *ep = "tcp://127.0.0.1:47811", *ep2 = "tcp://127.0.0.1:47812";
    static long long lat[N_LATENCY];
    double elapsed;
    pid_t child = fork();
    if (child == 0) {
        void *own = zmq_ctx_new();
        struct raw_args a = {own, ep, n_throughput, 0, body_len};
        raw_publisher(&a);
        zmq_ctx_term(own);
        _exit(0);
    }
    void *ctx = zmq_ctx_new();
    void *sub = sub_socket(ctx, ep);
    int got = receive(sub, n_throughput, NULL, &elapsed);
    struct rusage ru;
    wait4(child, NULL, 0, &ru);
    *cpu_us = 1e6 * (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
                     (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6) / n_throughput;
    *switches_per_msg = (double)(ru.ru_nvcsw + ru.ru_nivcsw) / n_throughput;
    *rate = got / elapsed;
    zmq_close(sub);
    struct raw_args a = {ctx, ep, n_throughput, 0, body_len};
    pthread_t t;
    sub = sub_socket(ctx, ep2); /* fresh sockets: nothing left over from the flood */
    a.endpoint = ep2;
    a.count = n_latency;
    a.paced = 1;
    pthread_create(&t, NULL, raw_publisher, &a);
    got = receive(sub, n_latency, lat, &elapsed);
    pthread_join(t, NULL);
    percentiles(lat, got, p50, p99);
    zmq_close(sub);
    zmq_ctx_term(ctx);
}

/* ---- 2. through the gateway ---- */

struct gw {
    pid_t pid;
    int master;
    char dir[64];
    char events[64];
};

static int start_gateway(struct gw *g, const char *build, const char *gateway_extra,
                         const char *extra)
{
    snprintf(g->dir, sizeof(g->dir), "/tmp/agw-bench-XXXXXX");
    if (!mkdtemp(g->dir))
        return -1;
    int slave;
    if (openpty(&g->master, &slave, NULL, NULL, NULL) < 0)
        return -1;
    struct termios tio;
    tcgetattr(g->master, &tio);
    cfmakeraw(&tio);
    tcsetattr(g->master, TCSANOW, &tio);
    char cfg[256], text[2048];
    snprintf(cfg, sizeof(cfg), "%s/gw.ini", g->dir);
    snprintf(g->events, sizeof(g->events), "tcp://127.0.0.1:47821");
    snprintf(text, sizeof(text),
             "[gateway]\nid = bench\nplugin_dir = %s/plugins\nstate_dir = %s/state\n"
             "log_level = warning\nhotplug = no\n"
             "plugin_events_per_s = 0\n" /* a flood is what this measures */
             "%s[bus]\nevents = %s\ncontrol = tcp://127.0.0.1:47822\n"
             "history = 10000\nsndhwm = 100000\n[device bench-1]\nplugin = skeleton\ntransport = serial\npath = %s\n"
             "baud = 115200\n%s",
             build, g->dir, gateway_extra, g->events, ttyname(slave), extra);
    FILE *f = fopen(cfg, "w");
    fputs(text, f);
    fclose(f);
    char bin[512];
    snprintf(bin, sizeof(bin), "%s/gateway/accessgwd", build);
    g->pid = fork();
    if (g->pid == 0) {
        execl(bin, bin, "--config", cfg, (char *)NULL);
        _exit(127);
    }
    close(slave);
    usleep(500000);
    return 0;
}

void write_lines(int fd, int count, int paced);
void write_lines(int fd, int count, int paced)
{
    char line[256];
    double interval = 1.0 / LATENCY_RATE_HZ, next = now_s();
    /* a 60-character text line: the event it becomes is the size raw_run sends */
    for (int i = 0; i < count; i++) {
        if (paced)
            pace(&next, interval);
        int n = snprintf(line, sizeof(line), "t=%lld;%040d\n", now_ns(), i);
        for (int off = 0; off < n;) {
            ssize_t w = write(fd, line + off, (size_t)(n - off));
            if (w > 0)
                off += (int)w;
            else if (errno == EAGAIN || errno == EINTR)
                usleep(50);
            else
                return;
        }
    }
}

struct writer_args {
    int fd, count, paced;
};

void *writer(void *arg);
void *writer(void *arg)
{
    struct writer_args *a = arg;
    usleep(300000);
    write_lines(a->fd, a->count, a->paced);
    return NULL;
}

/* ---- 1b. the device hop alone: pty -> a reader thread -> raw PUB -> SUB ---- */

struct pty_relay {
    void *ctx;
    int fd;
    size_t body_len;
    volatile int stop;
};

static void *relay_main(void *arg)
{
    struct pty_relay *r = arg;
    void *pub = zmq_socket(r->ctx, ZMQ_PUB);
    int hwm = 0;
    zmq_setsockopt(pub, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_bind(pub, "tcp://127.0.0.1:47813");
    char buf[4096], line[1024];
    size_t len = 0;
    memset(line, 'x', sizeof(line));
    while (!r->stop) {
        struct pollfd p = {r->fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(r->fd, buf, sizeof(buf));
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n') {
                if (len < sizeof(line))
                    line[len++] = buf[i];
                continue;
            }
            zmq_send(pub, "skeleton/bench-1/line", 21, ZMQ_SNDMORE);
            zmq_send(pub, line, r->body_len, 0);
            memset(line, 'x', len);
            len = 0;
        }
    }
    zmq_close(pub);
    return NULL;
}

static void pty_baseline(size_t body_len, double *p50, double *p99)
{
    int master, slave;
    openpty(&master, &slave, NULL, NULL, NULL);
    struct termios tio;
    tcgetattr(slave, &tio);
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
    void *ctx = zmq_ctx_new();
    struct pty_relay r = {ctx, slave, body_len, 0};
    pthread_t t;
    pthread_create(&t, NULL, relay_main, &r);
    void *sub = sub_socket(ctx, "tcp://127.0.0.1:47813");
    static long long lat[N_LATENCY];
    double elapsed;
    struct writer_args w = {master, n_latency, 1};
    pthread_t wt;
    pthread_create(&wt, NULL, writer, &w);
    int got = receive(sub, n_latency, lat, &elapsed);
    pthread_join(wt, NULL);
    r.stop = 1;
    pthread_join(t, NULL);
    percentiles(lat, got, p50, p99);
    zmq_close(sub);
    zmq_ctx_term(ctx);
    close(master);
    close(slave);
}


/* Context switches of every thread of one process, by thread name: each is a
 * thread going to sleep or being put off the CPU, so per event they count the
 * hand-offs an event costs, whatever the machine's load. */
#define MAX_THREAD_NAMES 16
struct switches {
    size_t n;
    char name[MAX_THREAD_NAMES][20];
    long count[MAX_THREAD_NAMES];
};

static void add_switches(struct switches *s, const char *name, long count)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->name[i], name) == 0) {
            s->count[i] += count;
            return;
        }
    if (s->n == MAX_THREAD_NAMES)
        return;
    snprintf(s->name[s->n], sizeof(s->name[0]), "%s", name);
    s->count[s->n++] = count;
}

static void process_switches(pid_t pid, struct switches *s)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[384], line[256], name[20] = "?";
        long total = 0, v;
        snprintf(path, sizeof(path), "%s/%s/status", dir, e->d_name);
        FILE *f = e->d_name[0] != '.' ? fopen(path, "r") : NULL;
        while (f && fgets(line, sizeof(line), f)) {
            if (sscanf(line, "Name: %19s", name) == 1)
                continue;
            if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
                sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
                total += v;
        }
        if (f) {
            fclose(f);
            add_switches(s, name, total);
        }
    }
    if (d)
        closedir(d);
}

static size_t children_of(pid_t parent, pid_t *out, size_t max);

static struct switches gateway_switches(pid_t pid)
{
    struct switches s = {0};
    pid_t kids[16];
    size_t n = children_of(pid, kids, 16);
    process_switches(pid, &s);
    for (size_t i = 0; i < n; i++)
        process_switches(kids[i], &s);
    return s;
}

static void print_switches(const char *what, const struct switches *before,
                           const struct switches *after, int events)
{
    printf("%s, context switches per event:", what);
    long total = 0;
    for (size_t i = 0; i < after->n; i++) {
        long was = 0;
        for (size_t j = 0; j < before->n; j++)
            if (strcmp(before->name[j], after->name[i]) == 0)
                was = before->count[j];
        long delta = after->count[i] - was;
        total += delta;
        if (delta * 100 >= events) /* threads that woke at least once per 100 events */
            printf(" %s %.2f,", after->name[i], (double)delta / events);
    }
    printf(" all %.2f\n", (double)total / events);
}

/* sw, if given, receives the gateway's context switches before and after the flood. */
static size_t gateway_run(struct gw *g, double *rate, double *p50, double *p99, double *cpu_us,
                          struct switches *sw)
{
    void *ctx = zmq_ctx_new();
    void *sub = sub_socket(ctx, g->events);
    static long long lat[N_LATENCY];
    double elapsed;
    /* measure one event's size first */
    struct writer_args a = {g->master, 1, 0};
    pthread_t t;
    pthread_create(&t, NULL, writer, &a);
    char topic[256], body[4096];
    size_t event_size = 0;
    for (int tries = 0; tries < 50 && !event_size; tries++) {
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 2000) <= 0)
            break;
        int tn = zmq_recv(sub, topic, sizeof(topic), 0);
        int bn = zmq_recv(sub, body, sizeof(body), 0);
        if (tn > 9 && memcmp(topic, "skeleton/", 9) == 0)
            event_size = (size_t)bn;
    }
    pthread_join(t, NULL);
    a.count = n_throughput;
    if (sw)
        sw[0] = gateway_switches(g->pid);
    double cpu_before = cpu_seconds(g->pid);
    pthread_create(&t, NULL, writer, &a);
    int got = receive(sub, n_throughput, NULL, &elapsed);
    pthread_join(t, NULL);
    *cpu_us = 1e6 * (cpu_seconds(g->pid) - cpu_before) / (got ? got : 1);
    if (sw)
        sw[1] = gateway_switches(g->pid);
    *rate = got / elapsed;
    if (got < n_throughput)
        fprintf(stderr, "bench: only %d of %d gateway events arrived\n", got, n_throughput);
    a.count = n_latency;
    a.paced = 1;
    pthread_create(&t, NULL, writer, &a);
    got = receive(sub, n_latency, lat, &elapsed);
    pthread_join(t, NULL);
    percentiles(lat, got, p50, p99);
    zmq_close(sub);
    zmq_ctx_term(ctx);
    return event_size;
}

static double process_cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, sizeof(buf), f)) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    char *p = strrchr(buf, ')');
    unsigned long utime = 0, stime = 0;
    /* fields after the comm: state(3) ... utime(14) stime(15) */
    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime);
    return (double)(utime + stime) / sysconf(_SC_CLK_TCK);
}

/* The plugin hosts accessgwd started (isolation = process), by their parent pid. */
static size_t children_of(pid_t parent, pid_t *out, size_t max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    size_t n = 0;
    while (d && (e = readdir(d)) && n < max) {
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = e->d_name[0] >= '1' && e->d_name[0] <= '9' ? fopen(path, "r") : NULL;
        if (!f)
            continue;
        int ppid = 0;
        char *p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
        if (p && sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == parent)
            out[n++] = (pid_t)atoi(e->d_name);
        fclose(f);
    }
    if (d)
        closedir(d);
    return n;
}

/* accessgwd and its plugin hosts: the gateway's cost is what all of them spend. */
static double cpu_seconds(pid_t pid)
{
    pid_t kids[16];
    size_t n = children_of(pid, kids, 16);
    double total = process_cpu_seconds(pid);
    for (size_t i = 0; i < n; i++)
        total += process_cpu_seconds(kids[i]);
    return total;
}

/* The "Key:   N kB" line of a /proc/<pid>/ file, in KiB; -1 when there is none. */
static long proc_kib(pid_t pid, const char *file, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, key, strlen(key)) == 0) {
            kib = strtol(line + strlen(key), NULL, 10);
            break;
        }
    if (f)
        fclose(f);
    return kib;
}

static long process_peak_rss_kib(pid_t pid) { return proc_kib(pid, "status", "VmHWM:"); }
static long process_pss_kib(pid_t pid) { return proc_kib(pid, "smaps_rollup", "Pss:"); }

/* Memory of accessgwd and its plugin hosts: RSS counts the libraries they share once per
 * process, PSS divides each shared page among them (the machine's real cost). */
struct memory {
    long gateway_rss, hosts_rss, total_pss;
};

static struct memory memory_of(pid_t pid)
{
    pid_t kids[16];
    size_t n = children_of(pid, kids, 16);
    struct memory m = {process_peak_rss_kib(pid), 0, process_pss_kib(pid)};
    for (size_t i = 0; i < n; i++) {
        m.hosts_rss += process_peak_rss_kib(kids[i]);
        m.total_pss += process_pss_kib(kids[i]);
    }
    return m;
}

/* A gateway started with other settings, measured the same way, stopped. */
static int run_variant(const char *build, const char *gateway_extra, const char *extra,
                       double *rate, double *p50, double *p99, double *cpu)
{
    struct gw g;
    if (start_gateway(&g, build, gateway_extra, extra) < 0) {
        fprintf(stderr, "bench: gateway with %s%s: %s\n", gateway_extra, extra, strerror(errno));
        return -1;
    }
    gateway_run(&g, rate, p50, p99, cpu, NULL);
    kill(g.pid, SIGTERM);
    waitpid(g.pid, NULL, 0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_bus BUILD_DIR\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (getenv("ACCESSGW_BENCH_SMOKE")) {
        n_throughput = 5000;
        n_latency = 200;
        printf("SMOKE RUN (ACCESSGW_BENCH_SMOKE): the figures below mean nothing\n");
    }
    struct gw g;
    if (start_gateway(&g, argv[1], "", "") < 0) {
        perror("bench: gateway");
        return 1;
    }
    double idle_start = cpu_seconds(g.pid);
    sleep(10);
    double idle_cpu = cpu_seconds(g.pid) - idle_start;
    struct memory idle_mem = memory_of(g.pid);
    double g_rate, g_p50, g_p99, g_cpu;
    struct switches flood[2];
    size_t event_size = gateway_run(&g, &g_rate, &g_p50, &g_p99, &g_cpu, flood);
    struct memory peak_mem = memory_of(g.pid);
    kill(g.pid, SIGTERM);
    waitpid(g.pid, NULL, 0);
    double n_rate, n_p50, n_p99, n_cpu, t_rate, t_p50, t_p99, t_cpu;
    if (run_variant(argv[1], "", "[journal]\nmax_mb = 0\n", &n_rate, &n_p50, &n_p99, &n_cpu) < 0 ||
        run_variant(argv[1], "isolation = none\n", "", &t_rate, &t_p50, &t_p99, &t_cpu) < 0)
        return 1;
    double r_rate, r_p50, r_p99, p_p50, p_p99, r_cpu, r_switches;
    raw_run(event_size ? event_size : 330, &r_rate, &r_p50, &r_p99, &r_cpu, &r_switches);
    pty_baseline(event_size ? event_size : 330, &p_p50, &p_p99);

    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    printf("accessgw bench (%zu-byte events, %d for throughput, %d paced at %d/s for latency); "
           "load %.2f %.2f %.2f on %ld cores\n", event_size, n_throughput, n_latency,
           LATENCY_RATE_HZ, load[0], load[1], load[2], sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-34s %12s %10s %10s\n", "", "events/s", "p50 us", "p99 us");
    printf("%-34s %12.0f %10.1f %10.1f\n", "raw libzmq PUB->SUB", r_rate, r_p50, r_p99);
    printf("%-34s %12s %10.1f %10.1f\n", "pty -> thread -> raw PUB->SUB", "-", p_p50, p_p99);
    printf("%-34s %12.0f %10.1f %10.1f\n", "gateway pty->plugin->bus->SUB", g_rate, g_p50, g_p99);
    printf("%-34s %12.0f %10.1f %10.1f\n", "  the same without the journal", n_rate, n_p50, n_p99);
    printf("%-34s %12.0f %10.1f %10.1f\n", "  the same, plugin on a thread", t_rate, t_p50, t_p99);
    printf("plugin process cost: %.0f%% of the throughput in one process; CPU %.2f us vs %.2f us "
           "per event\n", 100.0 * (1.0 - g_rate / t_rate), g_cpu, t_cpu);
    printf("journal cost: %.0f%% of the throughput without it\n", 100.0 * (1.0 - g_rate / n_rate));
    printf("CPU per event: gateway %.2f us (all its threads and plugin hosts; %.2f us without the journal), raw "
           "libzmq publisher %.2f us per message: %.1fx (target <= 2x)\n",
           g_cpu, n_cpu, r_cpu, g_cpu / r_cpu);
    print_switches("gateway flood", &flood[0], &flood[1], n_throughput);
    printf("raw libzmq publisher, context switches per message: all %.2f\n", r_switches);
    printf("throughput ratio gateway/raw: %.0f%% (target >= 50%%)\n", 100.0 * g_rate / r_rate);
    printf("added p99 latency vs raw libzmq: %.1f us; vs pty + raw libzmq: %.1f us (target <= 100 us)\n",
           g_p99 - r_p99, g_p99 - p_p99);
    printf("idle CPU over 10 s: %.3f s = %.3f%% (target < 0.1%%)\n", idle_cpu, idle_cpu * 10.0);
    printf("memory after start: PSS %ld KiB in all (target < 10 MiB at idle); RSS accessgwd %ld "
           "KiB + plugin host %ld KiB\n", idle_mem.total_pss, idle_mem.gateway_rss,
           idle_mem.hosts_rss);
    printf("memory peak under load: RSS accessgwd %ld KiB + plugin host %ld KiB\n",
           peak_mem.gateway_rss, peak_mem.hosts_rss);
    return 0;
}
