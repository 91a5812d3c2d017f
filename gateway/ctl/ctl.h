/* What the files of accessgwctl share: accessgwctl.c (options, the command
 * table, main), stop.c (Ctrl-C), control.c (requests to the gateway and the
 * commands that are one request), watch.c, top.c, keys.c, audit.c; and udev_rules.c, verbs_doc.c,
 * profiles.c, which read plugins and profiles from disk. */
#ifndef AGW_CTL_H
#define AGW_CTL_H
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };
/* A command's operands were wrong: main prints the usage and exits EXIT_USAGE. */
#define CTL_USAGE (-1)

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
    long long since;      /* watch --since SEQ; -2: not a number */
    const char *since_text; /* --since as given (audit: a date) */
    long long count;
    const char *profile_dir;
};

struct cli {
    struct options o;
    const char *plugin_dir, *profile_dir, *config, *group;
    const char *state_dir;            /* [gateway] state_dir of the config */
    const char *recipient, *device, *head; /* audit */
    bool verify;
    char seen[32]; /* the short letters of the options given, each once */
    bool generic, once, version;
    bool events_given, control_given;
};

/* stop.c */
extern volatile sig_atomic_t interrupted; /* SIGINT, SIGTERM, or watch --count reached */
void stop_on_signals(void);

/* control.c */
void *control_socket(void *zctx, const struct options *o, bool say);
json_t *request(void *zctx, const struct options *o, json_t *req);
int no_reply_status(void);
json_t *devices_request(void *zctx, const struct options *o);
const char *str(json_t *o, const char *key);
long long ms_since(const struct timespec *t);
int cmd_ping(const struct cli *a, void *zctx, int argc, char **argv);
int cmd_devices(const struct cli *a, void *zctx, int argc, char **argv);
int cmd_send(const struct cli *a, void *zctx, int argc, char **argv);
int cmd_request(const struct cli *a, void *zctx, int argc, char **argv);
int cmd_profiles(const struct cli *a, void *zctx, int argc, char **argv);

/* watch.c */
int cmd_watch(const struct cli *a, void *zctx, int argc, char **argv);

/* top.c */
int cmd_top(const struct cli *a, void *zctx, int argc, char **argv);

/* audit.c */
int cmd_audit(const struct cli *a, void *zctx, int argc, char **argv);

/* keys.c */
int cmd_keygen(const struct cli *a, void *zctx, int argc, char **argv);
#endif
