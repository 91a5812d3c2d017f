/* The gateway's configuration: docs/CONTRACT.md's INI format, checked strictly.
 * Every error names the file, the line and the key. */
#ifndef AGW_CONFIG_H
#define AGW_CONFIG_H
#include <stdbool.h>
#include <stddef.h>

#include "accessgw/plugin.h"
#include "apps.h"
#include "names.h"
#include "ini.h"

struct plugin_set;

struct device_conf {
    const char *name;     /* section [device NAME]: the device id */
    const char *plugin;
    enum agw_transport transport;
    const char *path;     /* serial tty, /dev/bus/usb/BBB/DDD or /dev/hidrawN */
    unsigned baud;
    const char *location; /* free text copied into events */
    const char *address;  /* Bluetooth address */
    const char *reader;   /* PC/SC reader name or its start (transport pcsc) */
    const struct ini_section *section; /* every key, plugin keys included */
    int line;
};

/* [journal]: the durable event journal in state_dir (max_mb = 0: none). */
struct journal_conf {
    unsigned max_mb, max_days, sync_ms;
};

/* [uplink]: read by accessgw-uplink; the gateway checks its keys so a
 * misspelt one is reported by `accessgwd --check-config` too. */
struct uplink_conf {
    int line;                 /* of the section header; 0 when there is none */
    const char *broker;       /* mqtt://host:port or mqtts://host:port */
    const char *client_id;    /* default: the gateway id */
    const char *forward;      /* space-separated topic prefixes; NULL: all public events */
    const char *commands;     /* space-separated verbs the platform may send; NULL: none */
    const char *username, *password_file, *ca_file, *cert_file, *key_file;
    unsigned keepalive_s, max_inflight;
    unsigned resend_s;        /* sent again after a reconnect or restart (a broker may lose them) */
};

/* [web]: the browser endpoint (off without it). */
struct web_conf {
    int line;
    const char *listen;       /* host:port */
    const char *token_file;
    const char *allow_origins; /* other origins whose pages may read it (CORS), space-separated */
    const char *allow_hosts;   /* names it answers to beyond IP addresses, localhost, its hostname */
};

/* [audit]: the disclosures of full records (common/audit.h). */
struct audit_conf {
    unsigned max_days; /* lines older are removed (default 180) */
};

struct gateway_conf {
    char *path;
    struct ini_file ini; /* owns every string below */
    const char *id;
    const char *plugin_dir;  /* set: the only directory searched (the contract's key) */
    const char *plugin_path; /* DIR:DIR...: searched in order, the first of an id wins */
    bool plugin_dir_set;     /* plugin_dir was in the file, not the default */
    const char *state_dir;
    int log_level;
    bool hotplug;
    bool insecure_files; /* development only: trust_check findings are warnings */
    bool isolation;      /* plugins run in accessgw-plugin-host processes (isolation = process) */
    unsigned heartbeat_ms;
    unsigned command_timeout_ms; /* a device command unanswered this long gets "timeout" */
    unsigned plugin_events_per_s; /* a plugin host publishing faster is stopped (0: no bound) */
    const char *events, *control, *private_events;
    const char *curve_secret_key, *authorized_keys;
    unsigned history;
    int sndhwm;
    struct device_conf *devices;
    size_t n_devices;
    struct journal_conf journal;
    struct uplink_conf uplink;
    struct web_conf web;
    struct audit_conf audit;
    struct app_conf *apps;
    size_t n_apps;
};

/* "FILE:LINE: key" of a key in [section], or "FILE: key (the default)": for
 * errors found after parsing (a key file that is missing, a plugin_dir that
 * cannot be read). Returns buf. */
const char *config_where(const struct gateway_conf *conf, const char *section, const char *key,
                         char *buf, size_t len);

/* Parses and checks FILE; 0, or -1 with "FILE:LINE: message" in err. */
int config_load(const char *path, struct gateway_conf *conf, char *err, size_t errlen);
/* Checks each device's plugin exists, accepts the transport and knows every key. */
int config_check_plugins(const struct gateway_conf *conf, const struct plugin_set *plugins,
                         char *err, size_t errlen);
void config_free(struct gateway_conf *conf);

const struct device_conf *config_find_device(const struct gateway_conf *conf, const char *name);
const char *transport_name(enum agw_transport t);
int transport_parse(const char *name, enum agw_transport *out);
/* yes/no, true/false, on/off, 1/0 (any case): every boolean of the gateway's
 * config and of a device's section (config_bool); 0, or -1. */
int config_parse_bool(const char *s, bool *out);

#define AGW_DEFAULT_PLUGIN_DIR ACCESSGW_PLUGIN_DIR
/* Without plugin_dir or plugin_path: a technician's local plugins first, then the
 * packaged ones (a missing local directory is skipped). */
#define AGW_LOCAL_PLUGIN_DIR "/usr/local/lib/accessgw/plugins"
#endif
