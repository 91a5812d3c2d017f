/* Requests to the gateway's control socket, and the commands that are one request. */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "profiles.h"

static bool unreachable; /* the last request found no gateway: exit 3 */

/* A connected DEALER, or NULL (said why) when nothing listens at the control
 * endpoint within CONNECT_MS: ZMQ_IMMEDIATE makes the socket writable only
 * once a connection is made, so "no gateway" is known in a second, not at the
 * end of the reply timeout. */
void *control_socket(void *zctx, const struct options *o, bool say)
{
    void *s = zmq_socket(zctx, ZMQ_DEALER);
    int linger = 0, immediate = 1;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(s, ZMQ_IMMEDIATE, &immediate, sizeof(immediate));
    if (zmq_connect(s, o->control) < 0) {
        fprintf(stderr, "accessgwctl: cannot connect to %s: %s\n", o->control,
                zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    zmq_pollitem_t item = {s, 0, ZMQ_POLLOUT, 0};
    if (zmq_poll(&item, 1, CONNECT_MS) != 1) {
        if (say)
            fprintf(stderr, "accessgwctl: no gateway at %s (nothing listening; is accessgwd "
                            "running? systemctl status accessgw)\n", o->control);
        zmq_close(s);
        return NULL;
    }
    return s;
}

json_t *request(void *zctx, const struct options *o, json_t *req)
{
    void *s = control_socket(zctx, o, true);
    unreachable = s == NULL;
    if (!s)
        return NULL;
    char *text = json_dumps(req, JSON_COMPACT);
    zmq_send(s, text, strlen(text), 0);
    free(text);
    zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
    json_t *reply = NULL;
    if (zmq_poll(&item, 1, o->timeout_ms) == 1) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, s, 0) >= 0)
            reply = json_loadb(zmq_msg_data(&msg), zmq_msg_size(&msg), 0, NULL);
        zmq_msg_close(&msg);
    } else {
        fprintf(stderr, "accessgwctl: no answer from %s within %d ms\n", o->control, o->timeout_ms);
        unreachable = true;
    }
    zmq_close(s);
    return reply;
}

int no_reply_status(void) { return unreachable ? EXIT_UNREACHABLE : EXIT_REFUSED; }

static int print_reply(json_t *reply)
{
    if (!reply)
        return no_reply_status();
    bool ok = json_is_true(json_object_get(reply, "ok"));
    char *text = json_dumps(ok ? json_object_get(reply, "result") : json_object_get(reply, "error"),
                            JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fprintf(ok ? stdout : stderr, "%s\n", text ? text : "{}");
    free(text);
    json_decref(reply);
    return ok ? EXIT_OK : EXIT_REFUSED;
}

int cmd_ping(const struct cli *a, void *zctx, int argc, char **argv)
{
    (void)argv;
    if (argc)
        return CTL_USAGE;
    json_t *req = json_pack("{s:s, s:s}", "id", "ctl", "verb", "ping");
    json_t *reply = request(zctx, &a->o, req);
    json_decref(req);
    return print_reply(reply);
}

json_t *devices_request(void *zctx, const struct options *o)
{
    json_t *req = json_pack("{s:s, s:s, s:{s:b}}", "id", "ctl", "verb", "devices", "args", "verbs",
                            o->verbs);
    json_t *reply = request(zctx, o, req);
    json_decref(req);
    return reply;
}

const char *str(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

static void print_verbs(json_t *device)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(device, "verbs"), i, v)
    {
        json_t *args = json_object_get(v, "args");
        char *schema = args ? json_dumps(args, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        printf("    %-26s %s%s%s\n", str(v, "verb"), str(v, "help"), schema ? "  args: " : "",
               schema ? schema : "");
        free(schema);
    }
}

int cmd_devices(const struct cli *a, void *zctx, int argc, char **argv)
{
    const struct options *o = &a->o;
    (void)argv;
    if (argc)
        return CTL_USAGE;
    json_t *reply = devices_request(zctx, o);
    if (o->json || !reply || !json_is_true(json_object_get(reply, "ok")))
        return print_reply(reply);
    json_t *list = json_object_get(json_object_get(reply, "result"), "devices");
    printf("%-24s %-12s %-14s %-7s %s\n", "DEVICE", "CLASS", "PLUGIN", "STATE", "LOCATION / REASON");
    size_t i;
    json_t *d;
    json_array_foreach(list, i, d)
    {
        const char *loc = str(d, "location"), *reason = str(d, "reason");
        printf("%-24s %-12s %-14s %-7s %s%s%s\n", str(d, "id"), str(d, "class"), str(d, "plugin"),
               str(d, "state"), loc, *reason && *loc ? " / " : "", reason);
        if (o->verbs)
            print_verbs(d);
    }
    json_decref(reply);
    return EXIT_OK;
}

int cmd_send(const struct cli *a, void *zctx, int argc, char **argv)
{
    const struct options *o = &a->o;
    if (argc < 2 || argc > 3)
        return CTL_USAGE;
    json_error_t jerr;
    json_t *args = argc == 3 ? json_loads(argv[2], 0, &jerr) : json_object();
    if (!args || !json_is_object(args)) {
        fprintf(stderr, "accessgwctl: JSON-ARGS must be a JSON object%s%s\n", args ? "" : ": ",
                args ? "" : jerr.text);
        json_decref(args);
        return EXIT_USAGE;
    }
    json_t *req = json_pack("{s:s, s:s, s:s, s:o}", "id", "ctl", "verb", argv[1], "device", argv[0],
                            "args", args);
    json_t *reply = request(zctx, o, req);
    json_decref(req);
    return print_reply(reply);
}

int cmd_request(const struct cli *a, void *zctx, int argc, char **argv)
{
    const struct options *o = &a->o;
    if (argc != 1)
        return CTL_USAGE;
    json_t *req = json_loads(argv[0], 0, NULL);
    if (!req) {
        fprintf(stderr, "accessgwctl: not JSON\n");
        return EXIT_USAGE;
    }
    json_t *reply = request(zctx, o, req);
    json_decref(req);
    char *text = reply ? json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text)
        printf("%s\n", text);
    free(text);
    int status = !reply ? no_reply_status()
                        : json_is_true(json_object_get(reply, "ok")) ? EXIT_OK : EXIT_REFUSED;
    json_decref(reply);
    return status;
}

int cmd_profiles(const struct cli *a, void *zctx, int argc, char **argv)
{
    (void)argv;
    if (argc)
        return CTL_USAGE;
    const char *dirs = a->o.profile_dir;
    struct options quick = a->o;
    quick.timeout_ms = 1000; /* the listing does not need a running gateway */
    json_t *req = json_pack("{s:s, s:s}", "id", "ctl", "verb", "devices");
    json_t *reply = request(zctx, &quick, req);
    json_decref(req);
    json_t *devices = json_object_get(json_object_get(reply, "result"), "devices");
    if (!devices)
        fprintf(stderr, "accessgwctl: (no gateway answered: device matches not shown)\n");
    int rc = profiles_print(stdout, dirs, devices);
    json_decref(reply);
    return rc;
}

long long ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t->tv_sec) * 1000LL + (now.tv_nsec - t->tv_nsec) / 1000000;
}
