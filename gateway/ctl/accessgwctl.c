/* accessgwctl: talk to a running accessgwd (docs/CONTRACT.md "Programs").
 * Exit status, as gpspipe's and upsc's peers would expect: 0 done, 1 refused by
 * the gateway (or a local step failed), 2 usage, 3 no gateway to talk to. */
#include <errno.h>
#include <grp.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <zmq.h>

#include "curve.h"
#include "ini.h"
#include "profiles.h"
#include "udev_rules.h"
#include "verbs_doc.h"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

#define DEFAULT_CONFIG "/etc/accessgw/accessgw.ini"
#define CONNECT_MS 1000 /* how long to wait for the gateway's socket before saying there is none */

struct options {
    const char *events, *control, *private_endpoint;
    int timeout_ms;
    int stale_s;   /* watch: how long without a word before saying so */
    bool verbs;    /* devices --verbs */
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

struct command {
    const char *name, *synopsis, *help;
    const char *options; /* the short letters of its own options (parse_options' cases) */
};

static const struct command commands[] = {
    {"watch", "watch [PREFIX...] [--since SEQ] [--count N] [--stale S] [--private --key NAME "
              "[--server-key FILE]]",
     "Print events as JSON lines, only topics starting with a PREFIX (callbell/, device/pad-3/).\n"
     "Gaps in seq are filled with replay. After S seconds (default 5) without an event or an\n"
     "answer to ping, says so on stderr and keeps waiting. --private with a key pair from keygen\n"
     "listed in authorized_keys shows full ID-card records.", "SnTpks"},
    {"devices", "devices [--json] [--verbs]",
     "List the devices, their class, plugin, state and location; --verbs: the verbs each\n"
     "device answers, their arguments and what they do.", "jv"},
    {"ping", "ping", "Ask the gateway whether it answers: its id, version, epoch and seq.", ""},
    {"send", "send DEVICE VERB [JSON-ARGS]",
     "Run a device verb: send pad-3 evaluation.invite '{\"session\":\"Q-1\",\"timeout_s\":60}'", ""},
    {"request", "request JSON", "Send a raw control request; print the reply as it comes.", ""},
    {"keygen", "keygen NAME [--group GROUP]",
     "Write a CURVE key pair as czmq/pyzmq certificates: NAME.key (secret, 0600; 0640 and\n"
     "group GROUP with --group) and NAME.pub.", "G"},
    {"udev-rules", "udev-rules [--plugin-dir DIR] [--generic]",
     "Print the udev rules generated from the plugins' ID tables.", "dg"},
    {"verbs", "verbs [--plugin-dir DIR]",
     "Print the device verbs every plugin declares, as Markdown (docs/VERBS.md).", "d"},
    {"profiles", "profiles [--profile-dir DIR[:DIR...]]",
     "List device profiles on disk, their errors, and which device uses which.", "P"},
    {"top", "top [--once]",
     "A live table of the devices, their state and their last event, redrawn as events come\n"
     "(q or Ctrl-C quits); --once prints it once.", "o"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int usage(FILE *out)
{
    fprintf(out, "usage: accessgwctl [--config FILE] [--events EP] [--control EP] [--timeout MS] "
                 "COMMAND ...\n       accessgwctl --version | COMMAND --help\n\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %s\n", commands[i].synopsis);
    fprintf(out, "\nEndpoints: --events/--control, else ACCESSGW_EVENTS/ACCESSGW_CONTROL, else [bus] of\n"
                 "--config FILE (default " DEFAULT_CONFIG " when readable), else the defaults.\n"
                 "Exit status: 0 done, 1 refused by the gateway, 2 usage, 3 no gateway answering.\n");
    return out == stderr ? EXIT_USAGE : EXIT_OK;
}

static int command_help(const struct command *c)
{
    printf("usage: accessgwctl %s\n\n%s\n", c->synopsis, c->help);
    return EXIT_OK;
}

/* ---- control requests ---- */

/* A connected DEALER, or NULL (said why) when nothing listens at the control
 * endpoint within CONNECT_MS: ZMQ_IMMEDIATE makes the socket writable only
 * once a connection is made, so "no gateway" is known in a second, not at the
 * end of the reply timeout. */
static void *control_socket(void *zctx, const struct options *o, bool say)
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

static bool unreachable; /* the last request found no gateway: exit 3 */

static json_t *request(void *zctx, const struct options *o, json_t *req)
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

static int no_reply_status(void) { return unreachable ? EXIT_UNREACHABLE : EXIT_REFUSED; }

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

static int cmd_simple(void *zctx, const struct options *o, const char *verb)
{
    json_t *req = json_pack("{s:s, s:s}", "id", "ctl", "verb", verb);
    json_t *reply = request(zctx, o, req);
    json_decref(req);
    return print_reply(reply);
}

static json_t *devices_request(void *zctx, const struct options *o)
{
    json_t *req = json_pack("{s:s, s:s, s:{s:b}}", "id", "ctl", "verb", "devices", "args", "verbs",
                            o->verbs);
    json_t *reply = request(zctx, o, req);
    json_decref(req);
    return reply;
}

static const char *str(json_t *o, const char *key)
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

static int cmd_devices(void *zctx, const struct options *o)
{
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
        return EXIT_USAGE;
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

/* Prints the replayed events of one page in (checked, upto); returns the
 * seq to ask from for the next page, or -1 when this was the last. */
static long long print_replay_page(struct watch *w, json_t *result, long long from, long long upto)
{
    if (json_is_true(json_object_get(result, "truncated")))
        fprintf(stderr, "accessgwctl: events after seq %lld are no longer all held; some are lost\n",
                from);
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
    long long next = json_integer_value(json_object_get(result, "next_since_seq"));
    bool more = json_is_true(json_object_get(result, "more"));
    return more && next > from && next < upto - 1 && !interrupted ? next : -1;
}

/* Asks the gateway, page by page, for the matching events after `checked`
 * that we missed. */
static void fill_gap(struct watch *w, long long upto)
{
    for (long long from = w->checked; from >= 0;) {
        json_t *prefixes = json_array();
        for (int i = 0; i < w->n_prefixes; i++)
            json_array_append_new(prefixes, json_string(w->prefixes[i]));
        json_t *req = json_pack("{s:s, s:s, s:{s:I, s:o}}", "id", "watch", "verb", "replay",
                                "args", "since_seq", (json_int_t)from, "prefixes", prefixes);
        json_t *reply = request(w->zctx, w->o, req);
        json_decref(req);
        from = print_replay_page(w, json_object_get(reply, "result"), from, upto);
        json_decref(reply);
    }
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

static long long ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t->tv_sec) * 1000LL + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* No event, not even a heartbeat, for stale_s: a gateway that still answers
 * ping is only quiet (a long heartbeat_ms, a filtered private stream); one that
 * does not is said to be gone.  True when it was said. */
static bool report_silence(void *zctx, const struct options *o, struct timespec *last_word)
{
    void *c = control_socket(zctx, o, false);
    bool answers = false;
    if (c) {
        const char *ping = "{\"id\":\"watch\",\"verb\":\"ping\"}";
        zmq_send(c, ping, strlen(ping), 0);
        zmq_pollitem_t item = {c, 0, ZMQ_POLLIN, 0};
        answers = zmq_poll(&item, 1, CONNECT_MS) == 1;
        zmq_close(c);
    }
    if (answers) {
        clock_gettime(CLOCK_MONOTONIC, last_word);
        return false;
    }
    fprintf(stderr, "accessgwctl: no heartbeat from %s for %d s, and no answer at %s "
                    "(still waiting)\n", o->events, o->stale_s,
            o->control);
    return true;
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
    struct timespec last_word;
    clock_gettime(CLOCK_MONOTONIC, &last_word);
    bool silent = false;
    while (!interrupted) {
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 200) <= 0) {
            if (!silent && ms_since(&last_word) >= o->stale_s * 1000LL)
                silent = report_silence(zctx, o, &last_word);
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &last_word);
        if (silent) {
            fprintf(stderr, "accessgwctl: events from %s again\n", endpoint);
            silent = false;
        }
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
static int cmd_keygen(int argc, char **argv, const char *group_name)
{
    if (argc != 1)
        return usage(stderr);
    const char *name = argv[0];
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
    const char *plugin_dir, *profile_dir, *config, *group;
    char seen[32]; /* the short letters of the options given, each once */
    bool generic, once, version;
    bool events_given, control_given;
};

static const struct option long_opts[] = {
    {"events", required_argument, NULL, 'e'},   {"control", required_argument, NULL, 'c'},
    {"timeout", required_argument, NULL, 't'},  {"json", no_argument, NULL, 'j'},
    {"private", no_argument, NULL, 'p'},        {"key", required_argument, NULL, 'k'},
    {"server-key", required_argument, NULL, 's'}, {"since", required_argument, NULL, 'S'},
    {"count", required_argument, NULL, 'n'},    {"plugin-dir", required_argument, NULL, 'd'},
    {"generic", no_argument, NULL, 'g'},        {"help", no_argument, NULL, 'h'},
    {"profile-dir", required_argument, NULL, 'P'}, {"config", required_argument, NULL, 'C'},
    {"version", no_argument, NULL, 'V'},        {"verbs", no_argument, NULL, 'v'},
    {"stale", required_argument, NULL, 'T'},    {"once", no_argument, NULL, 'o'},
    {"group", required_argument, NULL, 'G'},
    {NULL, 0, NULL, 0},
};

static bool number(const char *text, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Options may stand before and after the command: optstring starts with
 * '+' for the first pass so parsing stops at the command. */
static int parse_options(int argc, char **argv, const char *optstring, struct cli *a)
{
    int c;
    long long v;
    while ((c = getopt_long(argc, argv, optstring, long_opts, NULL)) != -1) {
        size_t n = strlen(a->seen);
        if (c != '?' && !strchr(a->seen, c) && n + 1 < sizeof(a->seen))
            a->seen[n] = (char)c;
        switch (c) {
        case 'e': a->o.events = optarg; a->events_given = true; break;
        case 'c': a->o.control = optarg; a->control_given = true; break;
        case 't':
            if (!number(optarg, 1, 3600000, &v))
                return fprintf(stderr, "accessgwctl: --timeout takes milliseconds, not '%s'\n", optarg), -1;
            a->o.timeout_ms = (int)v;
            break;
        case 'T':
            if (!number(optarg, 1, 86400, &v))
                return fprintf(stderr, "accessgwctl: --stale takes seconds, not '%s'\n", optarg), -1;
            a->o.stale_s = (int)v;
            break;
        case 'S':
            if (!number(optarg, 0, INT64_MAX, &v))
                return fprintf(stderr, "accessgwctl: --since takes a seq, not '%s'\n", optarg), -1;
            a->o.since = v;
            break;
        case 'n':
            if (!number(optarg, 1, INT64_MAX, &v))
                return fprintf(stderr, "accessgwctl: --count takes a number, not '%s'\n", optarg), -1;
            a->o.count = v;
            break;
        case 'j': a->o.json = true; break;
        case 'p': a->o.private_events = true; break;
        case 'k': a->o.key = optarg; break;
        case 's': a->o.server_key = optarg; break;
        case 'd': a->plugin_dir = optarg; break;
        case 'g': a->generic = true; break;
        case 'P': a->profile_dir = optarg; break;
        case 'C': a->config = optarg; break;
        case 'v': a->o.verbs = true; break;
        case 'o': a->once = true; break;
        case 'V': a->version = true; break;
        case 'G': a->group = optarg; break;
        case 'h': return 1;
        default: return -1;
        }
    }
    return 0;
}

/* [bus] of the gateway's config: where its endpoints are.  An explicit
 * --config that cannot be read is an error; the default one may be absent. */
static int endpoints_from_config(struct cli *a)
{
    const char *path = a->config ? a->config : DEFAULT_CONFIG;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (!a->config)
            return 0;
        fprintf(stderr, "accessgwctl: --config %s: %s\n", path, strerror(errno));
        return -1;
    }
    static char text[65536];
    size_t len = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[len] = '\0';
    static struct ini_file ini;
    char err[512];
    if (ini_parse_text(text, len, path, &ini, err, sizeof(err)) < 0) {
        fprintf(stderr, "accessgwctl: %s\n", err);
        return -1;
    }
    for (size_t i = 0; i < ini.n_sections; i++) {
        if (strcmp(ini.sections[i].name, "bus") != 0)
            continue;
        const struct ini_entry *e;
        if ((e = ini_find(&ini.sections[i], "events")) && !a->events_given)
            a->o.events = e->value;
        if ((e = ini_find(&ini.sections[i], "control")) && !a->control_given)
            a->o.control = e->value;
        if ((e = ini_find(&ini.sections[i], "private_events")))
            a->o.private_endpoint = e->value;
    }
    return 0; /* the parsed file lives as long as the program */
}

static void endpoints_from_environment(struct cli *a)
{
    const char *e = getenv("ACCESSGW_EVENTS"), *c = getenv("ACCESSGW_CONTROL");
    if (e && *e && !a->events_given) {
        a->o.events = e;
        a->events_given = true;
    }
    if (c && *c && !a->control_given) {
        a->o.control = c;
        a->control_given = true;
    }
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

static int cmd_top(void *zctx, const struct options *o, bool once);

static int run_command(const char *cmd, struct cli *a, int rest, char **args)
{
    struct options *o = &a->o;
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
    else if (strcmp(cmd, "top") == 0)
        rc = rest ? usage(stderr) : cmd_top(zctx, o, a->once);
    else
        rc = usage(stderr);
    zmq_ctx_term(zctx);
    return rc;
}

/* The connection's options go with every command; the rest only with the command
 * that reads them (keygen's --group given to watch is a mistake said, not ignored). */
#define CONNECTION_OPTIONS "ectCh"

static const char *long_name(int c)
{
    for (const struct option *o = long_opts; o->name; o++)
        if (o->val == c)
            return o->name;
    return "?";
}

static bool options_fit(const struct command *cmd, const struct cli *a)
{
    for (const char *c = a->seen; *c; c++)
        if (!strchr(CONNECTION_OPTIONS, *c) && !strchr(cmd->options, *c)) {
            fprintf(stderr, "accessgwctl: %s does not take --%s\n", cmd->name, long_name(*c));
            return false;
        }
    return true;
}

int main(int argc, char **argv)
{
    struct cli a = {.o = {.events = "tcp://127.0.0.1:5560", .control = "tcp://127.0.0.1:5561",
                          .timeout_ms = 5000, .stale_s = 5, .since = -1},
                    .plugin_dir = ACCESSGW_PLUGIN_DIR};
    const char *opts = "e:c:t:jpk:s:S:n:d:P:C:T:G:gvoVh";
    char first[64];
    snprintf(first, sizeof(first), "+%s", opts);
    int r = parse_options(argc, argv, first, &a);
    if (a.version) {
        printf("accessgwctl %s\n", ACCESSGW_VERSION);
        return EXIT_OK;
    }
    if (r != 0 || optind >= argc)
        return usage(r > 0 ? stdout : stderr);
    const char *cmd = argv[optind++];
    const struct command *known = find_command(cmd);
    if (!known) {
        fprintf(stderr, "accessgwctl: no command '%s'\n", cmd);
        return usage(stderr);
    }
    /* The command's own arguments, parsed afresh (optind = 0 starts getopt over, in
     * its permuting mode): options and operands in either order, as in git or apt. */
    int sub_argc = argc - optind + 1;
    char **sub_argv = argv + optind - 1; /* [0] is the command, as argv[0] is the program */
    optind = 0;
    r = parse_options(sub_argc, sub_argv, opts, &a);
    if (r > 0)
        return command_help(known);
    if (r < 0 || !options_fit(known, &a))
        return EXIT_USAGE;
    argc = sub_argc;
    argv = sub_argv;
    endpoints_from_environment(&a);
    if (endpoints_from_config(&a) < 0)
        return EXIT_USAGE;
    if (!a.profile_dir) {
        const char *env = getenv("ACCESSGW_PROFILE_PATH");
        a.profile_dir = env && *env ? env : ACCESSGW_PROFILE_DIR ":/etc/accessgw/profiles";
    }
    a.o.profile_dir = a.profile_dir;
    if (a.o.private_events && !a.events_given)
        a.o.events = a.o.private_endpoint ? a.o.private_endpoint : "tcp://127.0.0.1:5562";
    int rest = argc - optind;
    char **args = argv + optind;
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(rest, args, a.group);
    if (strcmp(cmd, "udev-rules") == 0)
        return rest ? usage(stderr) : (udev_rules_print(stdout, a.plugin_dir, a.generic) < 0);
    if (strcmp(cmd, "verbs") == 0)
        return rest ? usage(stderr) : (verbs_doc_print(stdout, a.plugin_dir) < 0);
    return run_command(cmd, &a, rest, args);
}

/* ---- top: a live table, as cgps is for gpsd ---- */

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

static int cmd_top(void *zctx, const struct options *o, bool once)
{
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
