/* accessgwctl top: a live table, as cgps is for gpsd. */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include <termios.h>

struct row {
    char id[64], last[96];
    struct timespec at;
};

struct top {
    json_t *devices; /* the devices verb's list */
    struct row *rows;
    size_t n_rows;
    char gateway[64];
    long long epoch, seq;
    struct timespec heartbeat;
};

static struct row *row_of(struct top *t, const char *id)
{
    for (size_t i = 0; i < t->n_rows; i++)
        if (strcmp(t->rows[i].id, id) == 0)
            return &t->rows[i];
    struct row *grown = realloc(t->rows, (t->n_rows + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    t->rows = grown;
    struct row *r = &t->rows[t->n_rows++];
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", id);
    return r;
}

static void ago(const struct timespec *t, char *out, size_t len)
{
    if (!t->tv_sec) {
        snprintf(out, len, "-");
        return;
    }
    long long s = ms_since(t) / 1000;
    if (s < 120)
        snprintf(out, len, "%llds ago", s);
    else if (s < 7200)
        snprintf(out, len, "%lldmin ago", s / 60);
    else
        snprintf(out, len, "%lldh ago", s / 3600);
}

static void draw(struct top *t, bool clear)
{
    char hb[32];
    ago(&t->heartbeat, hb, sizeof(hb));
    if (clear)
        fputs("\033[H\033[2J", stdout);
    printf("accessgw %s  epoch %lld  seq %lld  heartbeat %s%s\n\n", t->gateway, t->epoch, t->seq, hb,
           clear ? "  (q quits)" : "");
    printf("%-22s %-11s %-7s %-20s %-26s %s\n", "DEVICE", "CLASS", "STATE", "LOCATION",
           "LAST EVENT", "WHEN");
    size_t i;
    json_t *d;
    json_array_foreach(t->devices, i, d)
    {
        struct row *r = row_of(t, str(d, "id"));
        char when[32];
        ago(&r->at, when, sizeof(when));
        const char *reason = str(d, "reason");
        printf("%-22.22s %-11.11s %-7.7s %-20.20s %-26.26s %s%s%.40s\n", str(d, "id"), str(d, "class"),
               str(d, "state"), str(d, "location"), r->last[0] ? r->last : "-", when,
               *reason && strcmp(str(d, "state"), "up") ? "  " : "",
               *reason && strcmp(str(d, "state"), "up") ? reason : "");
    }
    if (json_array_size(t->devices) == 0)
        printf("(no devices)\n");
    fflush(stdout);
}

static bool refresh_devices(void *zctx, const struct options *o, struct top *t)
{
    json_t *reply = devices_request(zctx, o);
    json_t *list = json_object_get(json_object_get(reply, "result"), "devices");
    if (!list) {
        json_decref(reply);
        return false;
    }
    json_decref(t->devices);
    t->devices = json_incref(list);
    json_decref(reply);
    return true;
}

static void top_event(struct top *t, const char *topic, size_t tlen, const char *body, size_t blen)
{
    json_t *ev = json_loadb(body, blen, 0, NULL);
    t->epoch = json_integer_value(json_object_get(ev, "epoch"));
    t->seq = json_integer_value(json_object_get(ev, "seq"));
    char name[256];
    snprintf(name, sizeof(name), "%.*s", (int)tlen, topic);
    char *dev = strchr(name, '/'), *event = dev ? strchr(dev + 1, '/') : NULL;
    if (dev && event) {
        *dev++ = '\0';
        *event++ = '\0';
        if (strcmp(name, "gateway") == 0) {
            snprintf(t->gateway, sizeof(t->gateway), "%s", dev);
            clock_gettime(CLOCK_MONOTONIC, &t->heartbeat);
        } else {
            struct row *r = row_of(t, dev);
            if (r) { /* the class has its column: the event's name is enough */
                snprintf(r->last, sizeof(r->last), "%s", event);
                clock_gettime(CLOCK_MONOTONIC, &r->at);
            }
        }
    }
    json_decref(ev);
}

int cmd_top(const struct cli *a, void *zctx, int argc, char **argv)
{
    const struct options *o = &a->o;
    bool once = a->once;
    (void)argv;
    if (argc)
        return CTL_USAGE;
    struct top t = {0};
    json_t *req = json_pack("{s:s, s:s}", "id", "top", "verb", "ping");
    json_t *ping = request(zctx, o, req);
    json_decref(req);
    if (!ping)
        return no_reply_status();
    json_t *pr = json_object_get(ping, "result");
    snprintf(t.gateway, sizeof(t.gateway), "%s", str(pr, "gateway"));
    t.epoch = json_integer_value(json_object_get(pr, "epoch"));
    t.seq = json_integer_value(json_object_get(pr, "seq"));
    json_decref(ping);
    if (!refresh_devices(zctx, o, &t))
        return no_reply_status();
    if (once) {
        draw(&t, false);
        json_decref(t.devices);
        free(t.rows);
        return EXIT_OK;
    }
    void *s = zmq_socket(zctx, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    zmq_connect(s, o->events);
    struct termios saved;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) { /* keys without Enter, for q */
        struct termios raw = saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    struct timespec drawn = {0}, listed;
    clock_gettime(CLOCK_MONOTONIC, &listed);
    bool dirty = true;
    while (!interrupted) {
        zmq_pollitem_t items[2] = {{s, 0, ZMQ_POLLIN, 0}, {NULL, STDIN_FILENO, ZMQ_POLLIN, 0}};
        zmq_poll(items, tty ? 2 : 1, 250);
        if (items[0].revents & ZMQ_POLLIN) {
            zmq_msg_t topic, body;
            zmq_msg_init(&topic);
            zmq_msg_init(&body);
            if (zmq_msg_recv(&topic, s, 0) >= 0 && zmq_msg_more(&topic) &&
                zmq_msg_recv(&body, s, 0) >= 0) {
                top_event(&t, zmq_msg_data(&topic), zmq_msg_size(&topic), zmq_msg_data(&body),
                          zmq_msg_size(&body));
                dirty = true;
            }
            zmq_msg_close(&topic);
            zmq_msg_close(&body);
        }
        if (tty && (items[1].revents & ZMQ_POLLIN)) {
            char c = 0;
            if (read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q'))
                break;
        }
        if (ms_since(&listed) >= 2000) { /* states and new devices */
            refresh_devices(zctx, o, &t);
            clock_gettime(CLOCK_MONOTONIC, &listed);
            dirty = true;
        }
        if ((dirty && ms_since(&drawn) >= 200) || ms_since(&drawn) >= 1000) {
            draw(&t, true);
            clock_gettime(CLOCK_MONOTONIC, &drawn);
            dirty = false;
        }
    }
    if (tty)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    zmq_close(s);
    json_decref(t.devices);
    free(t.rows);
    return EXIT_OK;
}
