/*
 * stamp_sub: a subscriber that only notes when each event arrived, for
 * bench/scale.py.  A pyzmq subscriber spends about 7 µs of Python on each
 * message (measured: 6.8 ms to drain 1,000 queued events), so in a burst of a
 * thousand events the measuring instrument itself would be most of the p99;
 * a hall application in C takes a message in about a microsecond.
 *
 * Usage: stamp_sub ENDPOINT PREFIX SECONDS
 * Prints one line per event after the run (nothing is written while it
 * measures): the arrival time in seconds since the epoch, a tab, and the
 * event's "time" field as the gateway wrote it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define MAX_EVENTS 1000000
#define TIME_FIELD "\"time\":\""
#define TIME_LEN 30 /* 2026-12-08T01:36:44.123456789Z at most */

struct arrival {
    double at;
    char time[TIME_LEN + 1];
};

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void copy_time_field(const char *body, size_t len, char *out)
{
    const char *p = memmem(body, len, TIME_FIELD, strlen(TIME_FIELD));
    size_t n = 0;
    if (p) {
        p += strlen(TIME_FIELD);
        while (p + n < body + len && p[n] != '"' && n < TIME_LEN)
            n++;
        memcpy(out, p, n);
    }
    out[n] = '\0';
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: stamp_sub ENDPOINT PREFIX SECONDS\n");
        return 2;
    }
    struct arrival *got = calloc(MAX_EVENTS, sizeof(*got));
    void *ctx = zmq_ctx_new(), *sub = zmq_socket(ctx, ZMQ_SUB);
    int hwm = 0;
    zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, argv[2], strlen(argv[2]));
    if (!got || zmq_connect(sub, argv[1]) != 0) {
        fprintf(stderr, "stamp_sub: cannot connect to %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
        return 1;
    }
    double end = wall_s() + atof(argv[3]);
    size_t n = 0;
    zmq_msg_t topic, body;
    zmq_msg_init(&topic);
    zmq_msg_init(&body);
    while (n < MAX_EVENTS) {
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        long left_ms = (long)((end - wall_s()) * 1000);
        if (left_ms <= 0)
            break;
        if (zmq_poll(&item, 1, left_ms) <= 0)
            continue;
        while (n < MAX_EVENTS && zmq_msg_recv(&topic, sub, ZMQ_DONTWAIT) >= 0) {
            if (zmq_msg_recv(&body, sub, 0) < 0)
                break;
            got[n].at = wall_s();
            copy_time_field(zmq_msg_data(&body), zmq_msg_size(&body), got[n].time);
            n++;
        }
    }
    for (size_t i = 0; i < n; i++)
        printf("%.6f\t%s\n", got[i].at, got[i].time);
    zmq_msg_close(&topic);
    zmq_msg_close(&body);
    zmq_close(sub);
    zmq_ctx_term(ctx);
    free(got);
    return 0;
}
