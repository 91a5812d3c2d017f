/* accessgwctl: talk to a running accessgwd (docs/CONTRACT.md "Programs"). */
#include <errno.h>
#include <grp.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <zmq.h>

#include "../curve.h"
#include "profiles.h"
#include "udev_rules.h"

struct options {
    const char *events, *control;
    int timeout_ms;
    bool json;
    /* watch */
    bool private_events;
    const char *key, *server_key;
    long long since;
    long long count;
    const char *profile_dir;
};

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int usage(FILE *out)
{
    fprintf(out,
            "usage: accessgwctl [--events EP] [--control EP] [--timeout MS] COMMAND ...\n"
            "  watch [PREFIX...]          print events as JSON lines (fills gaps with replay)\n"
            "        [--since SEQ] [--count N] [--private --key NAME [--server-key FILE]]\n"
            "  devices [--json]           list devices and their state\n"
            "  ping                       check that the gateway answers\n"
            "  send DEVICE VERB [JSON]    run a device verb, e.g. send pad-3 evaluation.invite "
            "'{\"session\":\"Q-1\"}'\n"
            "  request JSON               send a raw control request\n"
            "  keygen NAME [--group G]    write NAME.key (secret, 0600, or 0640 to group G)\n"
            "                             and NAME.pub\n"
            "  udev-rules [--plugin-dir DIR] [--generic]   print udev rules from the plugins\n"
            "  profiles [--profile-dir DIR[:DIR...]]        device profiles, their errors, and\n"
            "                             which device uses which (when the gateway answers)\n");
    return out == stderr ? 2 : 0;
}

/* ---- control requests ---- */

static json_t *request(void *zctx, const struct options *o, json_t *req)
{
    void *s = zmq_socket(zctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_connect(s, o->control) < 0) {
        fprintf(stderr, "accessgwctl: cannot connect to %s: %s\n", o->control,
                zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
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
        fprintf(stderr, "accessgwctl: no answer from %s within %d ms (is accessgwd running?)\n",
                o->control, o->timeout_ms);
    }
    zmq_close(s);
    return reply;
}

static int print_reply(json_t *reply)
{
    if (!reply)
        return 1;
    bool ok = json_is_true(json_object_get(reply, "ok"));
    char *text = json_dumps(ok ? json_object_get(reply, "result") : json_object_get(reply, "error"),
                            JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fprintf(ok ? stdout : stderr, "%s\n", text ? text : "{}");
    free(text);
    json_decref(reply);
    return ok ? 0 : 1;
}

static int cmd_simple(void *zctx, const struct options *o, const char *verb)
{
    json_t *req = json_pack("{s:s, s:s}", "id", "ctl", "verb", verb);
    json_t *reply = request(zctx, o, req);
    json_decref(req);
    return print_reply(reply);
}

static int cmd_devices(void *zctx, const struct options *o)
{
    if (o->json)
        return cmd_simple(zctx, o, "devices");
    json_t *req = json_pack("{s:s, s:s}", "id", "ctl", "verb", "devices");
    json_t *reply = request(zctx, o, req);
    json_decref(req);
    if (!reply || !json_is_true(json_object_get(reply, "ok")))
        return print_reply(reply);
    json_t *list = json_object_get(json_object_get(reply, "result"), "devices");
    printf("%-24s %-12s %-14s %-7s %s\n", "DEVICE", "CLASS", "PLUGIN", "STATE", "LOCATION / REASON");
    size_t i;
    json_t *d;
    json_array_foreach(list, i, d)
    {
        const char *loc = json_string_value(json_object_get(d, "location"));
        const char *reason = json_string_value(json_object_get(d, "reason"));
        printf("%-24s %-12s %-14s %-7s %s%s%s\n", json_string_value(json_object_get(d, "id")),
               json_string_value(json_object_get(d, "class")),
               json_string_value(json_object_get(d, "plugin")),
               json_string_value(json_object_get(d, "state")), loc ? loc : "",
               reason && *reason ? (loc ? " / " : "") : "", reason ? reason : "");
    }
    json_decref(reply);
    return 0;
}

static int cmd_send(void *zctx, const struct options *o, int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        return usage(stderr);
    json_error_t jerr;
    json_t *args = argc == 3 ? json_loads(argv[2], 0, &jerr) : json_object();
    if (!args || !json_is_object(args)) {
        fprintf(stderr, "accessgwctl: JSON-ARGS must be a JSON object%s%s\n", args ? "" : ": ",
                args ? "" : jerr.text);
        json_decref(args);
        return 2;
    }
    json_t *req = json_pack("{s:s, s:s, s:s, s:o}", "id", "ctl", "verb", argv[1], "device", argv[0],
                            "args", args);
    json_t *reply = request(zctx, o, req);
    json_decref(req);
    return print_reply(reply);
}

static int cmd_request(void *zctx, const struct options *o, int argc, char **argv)
{
    if (argc != 1)
        return usage(stderr);
    json_t *req = json_loads(argv[0], 0, NULL);
    if (!req) {
        fprintf(stderr, "accessgwctl: not JSON\n");
        return 2;
    }
    json_t *reply = request(zctx, o, req);
    json_decref(req);
    char *text = reply ? json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text)
        printf("%s\n", text);
    free(text);
    int ok = reply && json_is_true(json_object_get(reply, "ok"));
    json_decref(reply);
    return ok ? 0 : 1;
}

/* ---- watch ---- */

struct watch {
    void *zctx;
    const struct options *o;
    char **prefixes;
    int n_prefixes;
    long long epoch;
    long long checked; /* every matching event up to this seq has been printed */
    long long printed;
};

static bool wanted(const struct watch *w, const char *topic, size_t len)
{
    if (w->n_prefixes == 0)
        return true;
    for (int i = 0; i < w->n_prefixes; i++) {
        size_t n = strlen(w->prefixes[i]);
        if (len >= n && memcmp(topic, w->prefixes[i], n) == 0)
            return true;
    }
    return false;
}

static void print_event(struct watch *w, const char *body, size_t len)
{
    fwrite(body, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    w->printed++;
    if (w->o->count > 0 && w->printed >= w->o->count)
        interrupted = 1;
}

/* Asks the gateway for the matching events after `checked` that we missed. */
static void fill_gap(struct watch *w, long long upto)
{
    json_t *prefixes = json_array();
    for (int i = 0; i < w->n_prefixes; i++)
        json_array_append_new(prefixes, json_string(w->prefixes[i]));
    json_t *req = json_pack("{s:s, s:s, s:{s:I, s:o}}", "id", "watch", "verb", "replay", "args",
                            "since_seq", (json_int_t)w->checked, "prefixes", prefixes);
    json_t *reply = request(w->zctx, w->o, req);
    json_decref(req);
    json_t *result = json_object_get(reply, "result");
    if (json_is_true(json_object_get(result, "truncated")))
        fprintf(stderr, "accessgwctl: events after seq %lld are no longer all held; some are lost\n",
                w->checked);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(result, "events"), i, e)
    {
        json_t *ev = json_object_get(e, "event");
        long long seq = json_integer_value(json_object_get(ev, "seq"));
        if (seq <= w->checked || seq >= upto || interrupted)
            continue;
        char *text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text)
            print_event(w, text, strlen(text));
        free(text);
    }
    json_decref(reply);
}

static void on_event(struct watch *w, const char *topic, size_t topic_len, const char *body,
                     size_t len)
{
    json_t *ev = json_loadb(body, len, 0, NULL);
    long long epoch = json_integer_value(json_object_get(ev, "epoch"));
    long long seq = json_integer_value(json_object_get(ev, "seq"));
    json_decref(ev);
    if (w->epoch != epoch) {
        /* First event, or the gateway restarted: start from here (or from --since). */
        bool first = w->epoch < 0;
        w->epoch = epoch;
        w->checked = first && w->o->since < 0 ? seq - 1 : (first ? w->o->since : 0);
    }
    if (!w->o->private_events && seq > w->checked + 1)
        fill_gap(w, seq);
    if (wanted(w, topic, topic_len) && !interrupted)
        print_event(w, body, len);
    if (seq > w->checked)
        w->checked = seq;
}

static int curve_client(void *s, const struct options *o, void *zctx)
{
    char path[4096], pub[Z85_KEY_LEN + 1], sec[Z85_KEY_LEN + 1], server[Z85_KEY_LEN + 1];
    char err[512];
    if (!o->key) {
        fprintf(stderr, "accessgwctl: --private needs --key NAME (from accessgwctl keygen NAME)\n");
        return -1;
    }
    bool legacy;
    snprintf(path, sizeof(path), "%s.key", o->key);
    if (curve_read_key_file(path, CURVE_SECRET, sec, &legacy, err, sizeof(err)) < 0)
        goto fail;
    snprintf(path, sizeof(path), "%s.pub", o->key);
    if (curve_read_key_file(path, CURVE_PUBLIC, pub, &legacy, err, sizeof(err)) < 0)
        goto fail;
    if (o->server_key) {
        if (curve_read_key_file(o->server_key, CURVE_PUBLIC, server, &legacy, err, sizeof(err)) < 0)
            goto fail;
    } else {
        /* The gateway's public key is not secret: ask it. */
        json_t *req = json_pack("{s:s, s:s}", "id", "ctl", "verb", "ping");
        json_t *reply = request(zctx, o, req);
        json_decref(req);
        const char *k = json_string_value(
            json_object_get(json_object_get(reply, "result"), "private_events_key"));
        if (!k || strlen(k) != Z85_KEY_LEN) {
            json_decref(reply);
            snprintf(err, sizeof(err), "the gateway has no private_events endpoint (or give "
                     "--server-key FILE)");
            goto fail;
        }
        memcpy(server, k, sizeof(server));
        json_decref(reply);
    }
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, Z85_KEY_LEN);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, Z85_KEY_LEN);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, Z85_KEY_LEN);
    return 0;
fail:
    fprintf(stderr, "accessgwctl: %s\n", err);
    return -1;
}

static int cmd_watch(void *zctx, const struct options *o, int argc, char **argv)
{
    struct watch w = {zctx, o, argv, argc, -1, 0, 0};
    void *s = zmq_socket(zctx, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    if (o->private_events && curve_client(s, o, zctx) < 0) {
        zmq_close(s);
        return 1;
    }
    const char *endpoint = o->events;
    if (zmq_connect(s, endpoint) < 0) {
        fprintf(stderr, "accessgwctl: cannot connect to %s: %s\n", endpoint,
                zmq_strerror(zmq_errno()));
        zmq_close(s);
        return 1;
    }
    if (argc == 0 || o->private_events) {
        for (int i = 0; i < argc; i++)
            zmq_setsockopt(s, ZMQ_SUBSCRIBE, argv[i], strlen(argv[i]));
        if (argc == 0)
            zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    } else {
        /* Heartbeats carry the current seq: they reveal a missed event within a second. */
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "gateway/", 8);
        for (int i = 0; i < argc; i++)
            zmq_setsockopt(s, ZMQ_SUBSCRIBE, argv[i], strlen(argv[i]));
    }
    while (!interrupted) {
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 200) <= 0)
            continue;
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&topic, s, 0) >= 0 && zmq_msg_more(&topic) && zmq_msg_recv(&body, s, 0) >= 0)
            on_event(&w, zmq_msg_data(&topic), zmq_msg_size(&topic), zmq_msg_data(&body),
                     zmq_msg_size(&body));
        zmq_msg_close(&topic);
        zmq_msg_close(&body);
    }
    zmq_close(s);
    return 0;
}

/* keygen NAME [--group GROUP]: with a group, the secret is 0640 to that group,
 * so a service running as the group's member can read it and nobody else. */
static int cmd_keygen(int argc, char **argv)
{
    const char *name = NULL, *group_name = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--group") == 0 && i + 1 < argc)
            group_name = argv[++i];
        else if (!name && argv[i][0] != '-')
            name = argv[i];
        else
            return usage(stderr);
    }
    if (!name)
        return usage(stderr);
    gid_t gid = (gid_t)-1;
    if (group_name) {
        struct group *gr = getgrnam(group_name);
        if (!gr) {
            fprintf(stderr, "accessgwctl: no group '%s' (the package creates accessgw)\n", group_name);
            return 1;
        }
        gid = gr->gr_gid;
    }
    char err[512];
    if (curve_keygen(name, gid, err, sizeof(err)) < 0) {
        fprintf(stderr, "accessgwctl: %s\n", err);
        return 1;
    }
    if (group_name)
        printf("wrote %s.key (secret, mode 0640, group %s) and %s.pub\n", name, group_name, name);
    else
        printf("wrote %s.key (secret, mode 0600) and %s.pub\n", name, name);
    return 0;
}

struct cli {
    struct options o;
    const char *plugin_dir, *profile_dir;
    bool generic, events_given;
};

static const struct option long_opts[] = {
    {"events", required_argument, NULL, 'e'},   {"control", required_argument, NULL, 'c'},
    {"timeout", required_argument, NULL, 't'},  {"json", no_argument, NULL, 'j'},
    {"private", no_argument, NULL, 'p'},        {"key", required_argument, NULL, 'k'},
    {"server-key", required_argument, NULL, 's'}, {"since", required_argument, NULL, 'S'},
    {"count", required_argument, NULL, 'n'},    {"plugin-dir", required_argument, NULL, 'd'},
    {"generic", no_argument, NULL, 'g'},        {"help", no_argument, NULL, 'h'},
    {"profile-dir", required_argument, NULL, 'P'}, {NULL, 0, NULL, 0},
};

/* Options may stand before and after the command: optstring starts with
 * '+' for the first pass so parsing stops at the command. */
static int parse_options(int argc, char **argv, const char *optstring, struct cli *a)
{
    int c;
    while ((c = getopt_long(argc, argv, optstring, long_opts, NULL)) != -1) {
        switch (c) {
        case 'e': a->o.events = optarg; a->events_given = true; break;
        case 'c': a->o.control = optarg; break;
        case 't': a->o.timeout_ms = atoi(optarg); break;
        case 'j': a->o.json = true; break;
        case 'p': a->o.private_events = true; break;
        case 'k': a->o.key = optarg; break;
        case 's': a->o.server_key = optarg; break;
        case 'S': a->o.since = atoll(optarg); break;
        case 'n': a->o.count = atoll(optarg); break;
        case 'd': a->plugin_dir = optarg; break;
        case 'g': a->generic = true; break;
        case 'P': a->profile_dir = optarg; break;
        case 'h': return 1;
        default: return -1;
        }
    }
    return 0;
}

static int cmd_profiles(void *zctx, const struct options *o, const char *dirs)
{
    struct options quick = *o;
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

static int run_command(const char *cmd, struct options *o, int rest, char **args)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    void *zctx = zmq_ctx_new();
    int rc;
    if (strcmp(cmd, "watch") == 0)
        rc = cmd_watch(zctx, o, rest, args);
    else if (strcmp(cmd, "profiles") == 0)
        rc = rest ? usage(stderr) : cmd_profiles(zctx, o, o->profile_dir);
    else if (strcmp(cmd, "devices") == 0)
        rc = rest ? usage(stderr) : cmd_devices(zctx, o);
    else if (strcmp(cmd, "ping") == 0)
        rc = rest ? usage(stderr) : cmd_simple(zctx, o, "ping");
    else if (strcmp(cmd, "send") == 0)
        rc = cmd_send(zctx, o, rest, args);
    else if (strcmp(cmd, "request") == 0)
        rc = cmd_request(zctx, o, rest, args);
    else
        rc = usage(stderr);
    zmq_ctx_term(zctx);
    return rc;
}

int main(int argc, char **argv)
{
    struct cli a = {{"tcp://127.0.0.1:5560", "tcp://127.0.0.1:5561", 5000, false, false, NULL,
                     NULL, -1, 0, NULL},
                    ACCESSGW_PLUGIN_DIR, NULL, false, false};
    int r = parse_options(argc, argv, "+e:c:t:jpk:s:S:n:d:P:gh", &a);
    if (r != 0 || optind >= argc)
        return usage(r > 0 ? stdout : stderr);
    const char *cmd = argv[optind];
    optind++;
    int cmd_index = optind;
    (void)cmd_index;
    if (parse_options(argc, argv, "e:c:t:jpk:s:S:n:d:P:gh", &a) != 0)
        return usage(stderr);
    if (!a.profile_dir) {
        const char *env = getenv("ACCESSGW_PROFILE_PATH");
        a.profile_dir = env && *env ? env : ACCESSGW_PROFILE_DIR ":/etc/accessgw/profiles";
    }
    a.o.profile_dir = a.profile_dir;
    if (a.o.private_events && !a.events_given)
        a.o.events = "tcp://127.0.0.1:5562";
    int rest = argc - optind;
    char **args = argv + optind;
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(rest, args);
    if (strcmp(cmd, "udev-rules") == 0)
        return rest ? usage(stderr) : (udev_rules_print(stdout, a.plugin_dir, a.generic) < 0);
    return run_command(cmd, &a.o, rest, args);
}
