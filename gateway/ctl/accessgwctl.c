/* accessgwctl: talk to a running accessgwd (docs/CONTRACT.md "Programs").
 * Exit status, as gpspipe's and upsc's peers would expect: 0 done, 1 refused by
 * the gateway (or a local step failed), 2 usage, 3 no gateway to talk to. */
#include "ctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "ini.h"
#include "log.h"
#include "udev_rules.h"
#include "verbs_doc.h"

#define DEFAULT_CONFIG "/etc/accessgw/accessgw.ini"

static int cmd_udev_rules(const struct cli *a, void *zctx, int argc, char **argv)
{
    (void)zctx, (void)argv;
    return argc ? CTL_USAGE : udev_rules_print(stdout, a->plugin_dir, a->generic) < 0;
}

static int cmd_verbs(const struct cli *a, void *zctx, int argc, char **argv)
{
    (void)zctx, (void)argv;
    return argc ? CTL_USAGE : verbs_doc_print(stdout, a->plugin_dir) < 0;
}

struct command {
    const char *name, *synopsis, *help;
    const char *options; /* the short letters of its own options (parse_options' cases) */
    bool bus;            /* talks to the gateway: gets a ZeroMQ context and Ctrl-C */
    int (*run)(const struct cli *a, void *zctx, int argc, char **argv); /* CTL_USAGE: bad operands */
};

static const struct command commands[] = {
    {"watch", "watch [PREFIX...] [--since SEQ] [--count N] [--stale S] [--private --key NAME "
              "[--server-key FILE]]",
     "Print events as JSON lines, only topics starting with a PREFIX (callbell/, device/pad-3/).\n"
     "Gaps in seq are filled with replay. After S seconds (default 5) without an event or an\n"
     "answer to ping, says so on stderr and keeps waiting. --private with a key pair from keygen\n"
     "listed in authorized_keys shows full ID-card records.", "SnTpks", true, cmd_watch},
    {"devices", "devices [--json] [--verbs]",
     "List the devices, their class, plugin, state and location; --verbs: the verbs each\n"
     "device answers, their arguments and what they do.", "jv", true, cmd_devices},
    {"ping", "ping", "Ask the gateway whether it answers: its id, version, epoch and seq.", "", true, cmd_ping},
    {"send", "send DEVICE VERB [JSON-ARGS]",
     "Run a device verb: send pad-3 evaluation.invite '{\"session\":\"Q-1\",\"timeout_s\":60}'", "", true, cmd_send},
    {"request", "request JSON", "Send a raw control request; print the reply as it comes.", "", true, cmd_request},
    {"keygen", "keygen NAME [--group GROUP]",
     "Write a CURVE key pair as czmq/pyzmq certificates: NAME.key (secret, 0600; 0640 and\n"
     "group GROUP with --group) and NAME.pub.", "G", false, cmd_keygen},
    {"udev-rules", "udev-rules [--plugin-dir DIR] [--generic]",
     "Print the udev rules generated from the plugins' ID tables.", "dg", false, cmd_udev_rules},
    {"verbs", "verbs [--plugin-dir DIR]",
     "Print the device verbs every plugin declares, as Markdown (docs/VERBS.md).", "d", false, cmd_verbs},
    {"profiles", "profiles [--profile-dir DIR[:DIR...]]",
     "List device profiles on disk, their errors, and which device uses which.", "P", true, cmd_profiles},
    {"audit", "audit [--since YYYY-MM-DD] [--recipient NAME] [--device ID] | audit --verify [--head HASH]",
     "Print the disclosures of full records (state_dir/audit of the config; the gateway need\n"
     "not run), one JSON line each, filtered by day (the hall's local dates), recipient and\n"
     "device. --verify checks their hash chain: exit 0 when it holds (and ends at HASH with\n"
     "--head, from a heartbeat's audit_head), 1 naming the first line that breaks it.",
     "SRDyH", false, cmd_audit},
    {"top", "top [--once]",
     "A live table of the devices, their state and their last event, redrawn as events come\n"
     "(q or Ctrl-C quits); --once prints it once.", "o", true, cmd_top},
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
    {"group", required_argument, NULL, 'G'},   {"recipient", required_argument, NULL, 'R'},
    {"device", required_argument, NULL, 'D'},  {"verify", no_argument, NULL, 'y'},
    {"head", required_argument, NULL, 'H'},
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
        case 'S': /* a seq for watch, a date for audit: each command reads it its way */
            a->o.since_text = optarg;
            a->o.since = number(optarg, 0, INT64_MAX, &v) ? v : -2;
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
        case 'R': a->recipient = optarg; break;
        case 'D': a->device = optarg; break;
        case 'y': a->verify = true; break;
        case 'H': a->head = optarg; break;
        case 'h': return 1;
        default: return -1;
        }
    }
    return 0;
}

/* [bus] and [gateway] state_dir of the gateway's config: where its endpoints and its
 * files are.  An explicit --config that cannot be read is an error; the default one
 * may be absent. */
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
        const struct ini_entry *dir = strcmp(ini.sections[i].name, "gateway") == 0
                                          ? ini_find(&ini.sections[i], "state_dir")
                                          : NULL;
        if (dir)
            a->state_dir = dir->value;
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

static int run_command(const struct command *cmd, struct cli *a, int argc, char **argv)
{
    void *zctx = NULL;
    if (cmd->bus) {
        stop_on_signals();
        zctx = zmq_ctx_new();
    }
    int rc = cmd->run(a, zctx, argc, argv);
    if (zctx)
        zmq_ctx_term(zctx);
    return rc == CTL_USAGE ? usage(stderr) : rc;
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
                    .plugin_dir = ACCESSGW_PLUGIN_DIR, .state_dir = "/var/lib/accessgw"};
    const char *opts = "e:c:t:jpk:s:S:n:d:P:C:T:G:R:D:H:ygvoVh";
    log_init("accessgwctl"); /* what the shared feed says goes to stderr as ours */
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
    return run_command(known, &a, argc - optind, argv + optind);
}

