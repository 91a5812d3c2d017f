#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "loader.h"
#include "log.h"

static const char *const gateway_keys[] = {"id", "plugin_dir", "plugin_path", "state_dir",
                                           "log_level",
                                           "hotplug", "heartbeat_ms", "insecure_files",
                                           "command_timeout_ms", "isolation",
                                           "plugin_events_per_s", NULL};
static const char *const bus_keys[] = {"events", "control", "private_events", "curve_secret_key",
                                       "authorized_keys", "history", "sndhwm", NULL};
static const char *const journal_keys[] = {"max_mb", "max_days", "sync_ms", NULL};
static const char *const audit_keys[] = {"max_days", NULL};
static const char *const uplink_keys[] = {"broker", "client_id", "forward", "commands",
                                          "username", "password_file", "ca_file", "cert_file",
                                          "key_file", "keepalive_s", "max_inflight", "resend_s",
                                          NULL};
static const char *const web_keys[] = {"listen", "token_file", "allow_origins", "allow_hosts",
                                       NULL};
/* Keys every [device] section may have; plugin keys come from the plugin. */
static const char *const device_common_keys[] = {"plugin", "transport", "path", "baud",
                                                 "location", "address", "reader", NULL};

static const char *const transport_names[] = {
    [AGW_TRANSPORT_NONE] = "none",     [AGW_TRANSPORT_SERIAL] = "serial",
    [AGW_TRANSPORT_USB] = "usb",       [AGW_TRANSPORT_HIDRAW] = "hidraw",
    [AGW_TRANSPORT_BLUEZ] = "bluez",   [AGW_TRANSPORT_PCSC] = "pcsc",
    [AGW_TRANSPORT_EVDEV] = "evdev",
};

const char *transport_name(enum agw_transport t)
{
    return (unsigned)t < sizeof(transport_names) / sizeof(transport_names[0]) ? transport_names[t]
                                                                             : "?";
}

int transport_parse(const char *name, enum agw_transport *out)
{
    for (size_t i = 0; i < sizeof(transport_names) / sizeof(transport_names[0]); i++)
        if (strcmp(name, transport_names[i]) == 0) {
            *out = (enum agw_transport)i;
            return 0;
        }
    return -1;
}


static bool in_list(const char *const *list, const char *key)
{
    for (; list && *list; list++)
        if (strcmp(*list, key) == 0)
            return true;
    return false;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

int config_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1", NULL};
    static const char *const no[] = {"no", "false", "off", "0", NULL};
    for (size_t i = 0; yes[i]; i++)
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return 0;
        }
    return -1;
}

struct ctx {
    const char *path;
    char *err;
    size_t errlen;
};

static int fail(struct ctx *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s:%d: %s", c->path, line, msg);
    return -1;
}

static int check_keys(struct ctx *c, const struct ini_section *s, const char *const *allowed,
                      const char *const *extra)
{
    for (size_t i = 0; i < s->n_entries; i++) {
        const struct ini_entry *e = &s->entries[i];
        if (!in_list(allowed, e->key) && !in_list(extra, e->key))
            return fail(c, e->line, "unknown key '%s' in [%s]", e->key, s->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->entries[j].key, e->key) == 0)
                return fail(c, e->line, "duplicate key '%s' in [%s] (first at line %d)", e->key,
                            s->name, s->entries[j].line);
    }
    return 0;
}

static int get_uint(struct ctx *c, const struct ini_section *s, const char *key, unsigned long min,
                    unsigned long max, unsigned *out)
{
    const struct ini_entry *e = ini_find(s, key);
    if (!e)
        return 0;
    unsigned long v;
    if (parse_uint(e->value, max, &v) < 0 || v < min)
        return fail(c, e->line, "key '%s' in [%s] must be a whole number from %lu to %lu, not '%s'",
                    key, s->name, min, max, e->value);
    *out = (unsigned)v;
    return 0;
}

static int get_bool(struct ctx *c, const struct ini_section *s, const char *key, bool *out)
{
    const struct ini_entry *e = ini_find(s, key);
    if (e && config_parse_bool(e->value, out) < 0)
        return fail(c, e->line, "key '%s' in [%s] must be yes or no, not '%s'", key, s->name,
                    e->value);
    return 0;
}

static void get_str(const struct ini_section *s, const char *key, const char **out)
{
    const struct ini_entry *e = ini_find(s, key);
    if (e)
        *out = e->value;
}

static int require_endpoint(struct ctx *c, const struct ini_section *s, const char *key)
{
    const struct ini_entry *e = ini_find(s, key);
    if (e && !strstr(e->value, "://"))
        return fail(c, e->line, "key '%s' in [%s] must be a ZeroMQ endpoint such as "
                    "tcp://127.0.0.1:5560, not '%s'", key, s->name, e->value);
    return 0;
}

static int load_gateway(struct ctx *c, const struct ini_section *s, struct gateway_conf *conf)
{
    if (check_keys(c, s, gateway_keys, NULL) < 0)
        return -1;
    const struct ini_entry *id = ini_find(s, "id");
    if (!id)
        return fail(c, s->line, "missing key 'id' in [gateway]");
    if (!config_valid_name(id->value))
        return fail(c, id->line, "key 'id' in [gateway] must be 1-64 of A-Z a-z 0-9 _ . -, not '%s'",
                    id->value);
    conf->id = id->value;
    get_str(s, "plugin_dir", &conf->plugin_dir);
    get_str(s, "plugin_path", &conf->plugin_path);
    conf->plugin_dir_set = ini_find(s, "plugin_dir") != NULL;
    if (conf->plugin_dir_set && conf->plugin_path)
        return fail(c, ini_find(s, "plugin_path")->line, "plugin_dir and plugin_path in one "
                    "[gateway]: plugin_dir is one directory, plugin_path a list; keep one");
    get_str(s, "state_dir", &conf->state_dir);
    const struct ini_entry *lvl = ini_find(s, "log_level");
    if (lvl && (conf->log_level = log_level_parse(lvl->value)) < 0)
        return fail(c, lvl->line, "key 'log_level' in [gateway] must be one of error, warning, "
                    "notice, info, debug, not '%s'", lvl->value);
    if (get_bool(c, s, "insecure_files", &conf->insecure_files) < 0)
        return -1;
    if (get_bool(c, s, "hotplug", &conf->hotplug) < 0)
        return -1;
    if (get_uint(c, s, "command_timeout_ms", 100, 600000, &conf->command_timeout_ms) < 0)
        return -1;
    if (get_uint(c, s, "plugin_events_per_s", 0, 10000000, &conf->plugin_events_per_s) < 0)
        return -1;
    const struct ini_entry *iso = ini_find(s, "isolation");
    if (iso && strcmp(iso->value, "process") != 0 && strcmp(iso->value, "none") != 0)
        return fail(c, iso->line, "key 'isolation' in [gateway] must be process or none, not '%s'",
                    iso->value);
    conf->isolation = !iso || strcmp(iso->value, "process") == 0;
    return get_uint(c, s, "heartbeat_ms", 100, 3600000, &conf->heartbeat_ms);
}

static int load_bus(struct ctx *c, const struct ini_section *s, struct gateway_conf *conf)
{
    if (check_keys(c, s, bus_keys, NULL) < 0)
        return -1;
    static const char *const endpoints[] = {"events", "control", "private_events"};
    for (size_t i = 0; i < 3; i++)
        if (require_endpoint(c, s, endpoints[i]) < 0)
            return -1;
    get_str(s, "events", &conf->events);
    get_str(s, "control", &conf->control);
    get_str(s, "private_events", &conf->private_events);
    get_str(s, "curve_secret_key", &conf->curve_secret_key);
    get_str(s, "authorized_keys", &conf->authorized_keys);
    unsigned hwm = (unsigned)conf->sndhwm;
    if (get_uint(c, s, "history", 1, 10000000, &conf->history) < 0 ||
        get_uint(c, s, "sndhwm", 0, 10000000, &hwm) < 0)
        return -1;
    conf->sndhwm = (int)hwm;
    if (conf->private_events && (!conf->curve_secret_key || !conf->authorized_keys))
        return fail(c, s->line, "[bus] private_events carries personal data and needs both "
                    "curve_secret_key and authorized_keys");
    return 0;
}

static int load_journal(struct ctx *c, const struct ini_section *s, struct journal_conf *j)
{
    if (check_keys(c, s, journal_keys, NULL) < 0 ||
        get_uint(c, s, "max_mb", 0, 1048576, &j->max_mb) < 0 ||
        get_uint(c, s, "max_days", 1, 36500, &j->max_days) < 0)
        return -1;
    return get_uint(c, s, "sync_ms", 1, 60000, &j->sync_ms);
}

static int load_uplink(struct ctx *c, const struct ini_section *s, struct uplink_conf *u)
{
    if (check_keys(c, s, uplink_keys, NULL) < 0)
        return -1;
    u->line = s->line;
    const struct ini_entry *broker = ini_find(s, "broker");
    if (!broker)
        return fail(c, s->line, "missing key 'broker' in [uplink] (e.g. mqtt://127.0.0.1:1883)");
    if (strncmp(broker->value, "mqtt://", 7) != 0 && strncmp(broker->value, "mqtts://", 8) != 0)
        return fail(c, broker->line, "key 'broker' in [uplink] must be mqtt://HOST:PORT or "
                    "mqtts://HOST:PORT, not '%s'", broker->value);
    u->broker = broker->value;
    get_str(s, "client_id", &u->client_id);
    get_str(s, "forward", &u->forward);
    get_str(s, "commands", &u->commands);
    get_str(s, "username", &u->username);
    get_str(s, "password_file", &u->password_file);
    get_str(s, "ca_file", &u->ca_file);
    get_str(s, "cert_file", &u->cert_file);
    get_str(s, "key_file", &u->key_file);
    if (!u->cert_file != !u->key_file)
        return fail(c, s->line, "[uplink] cert_file and key_file go together");
    if (get_uint(c, s, "keepalive_s", 5, 3600, &u->keepalive_s) < 0)
        return -1;
    if (get_uint(c, s, "resend_s", 0, 900, &u->resend_s) < 0)
        return -1;
    return get_uint(c, s, "max_inflight", 1, 65535, &u->max_inflight);
}

static int load_web(struct ctx *c, const struct ini_section *s, struct web_conf *w)
{
    if (check_keys(c, s, web_keys, NULL) < 0)
        return -1;
    w->line = s->line;
    get_str(s, "listen", &w->listen);
    get_str(s, "token_file", &w->token_file);
    get_str(s, "allow_origins", &w->allow_origins);
    get_str(s, "allow_hosts", &w->allow_hosts);
    if (!w->listen)
        return fail(c, s->line, "missing key 'listen' in [web] (e.g. 127.0.0.1:8080)");
    return 0;
}

static int load_audit(struct ctx *c, const struct ini_section *s, struct audit_conf *a)
{
    if (check_keys(c, s, audit_keys, NULL) < 0)
        return -1;
    return get_uint(c, s, "max_days", 1, 36500, &a->max_days);
}

/* [journal], [uplink], [web], [audit]: at most one each. */
static int load_optional_section(struct ctx *c, const struct ini_section *s,
                                 struct gateway_conf *conf, unsigned *seen)
{
    static const char *const names[] = {"journal", "uplink", "web", "audit"};
    for (unsigned i = 0; i < 4; i++) {
        if (strcmp(s->name, names[i]) != 0)
            continue;
        if (*seen & (1u << i))
            return fail(c, s->line, "duplicate section [%s]", s->name);
        *seen |= 1u << i;
        return i == 0 ? load_journal(c, s, &conf->journal)
             : i == 1 ? load_uplink(c, s, &conf->uplink)
             : i == 2 ? load_web(c, s, &conf->web)
                      : load_audit(c, s, &conf->audit);
    }
    return 1;
}

static int load_device(struct ctx *c, const struct ini_section *s, const char *name,
                       struct device_conf *d)
{
    memset(d, 0, sizeof(*d));
    d->name = name;
    d->section = s;
    d->line = s->line;
    if (!config_valid_name(name))
        return fail(c, s->line, "device name '%s' must be 1-64 of A-Z a-z 0-9 _ . -", name);
    for (size_t i = 0; i < s->n_entries; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->entries[j].key, s->entries[i].key) == 0)
                return fail(c, s->entries[i].line, "duplicate key '%s' in [%s] (first at line %d)",
                            s->entries[i].key, s->name, s->entries[j].line);
    const struct ini_entry *plugin = ini_find(s, "plugin");
    if (!plugin)
        return fail(c, s->line, "missing key 'plugin' in [%s]", s->name);
    d->plugin = plugin->value;
    const struct ini_entry *tr = ini_find(s, "transport");
    if (!tr)
        return fail(c, s->line, "missing key 'transport' in [%s]", s->name);
    if (transport_parse(tr->value, &d->transport) < 0)
        return fail(c, tr->line, "key 'transport' in [%s] must be serial, usb, hidraw, evdev, "
                    "bluez, pcsc or none, not '%s'", s->name, tr->value);
    get_str(s, "path", &d->path);
    get_str(s, "location", &d->location);
    get_str(s, "address", &d->address);
    get_str(s, "reader", &d->reader);
    d->baud = 0;
    if (get_uint(c, s, "baud", 50, 4000000, &d->baud) < 0)
        return -1;
    if ((d->transport == AGW_TRANSPORT_SERIAL || d->transport == AGW_TRANSPORT_USB ||
         d->transport == AGW_TRANSPORT_HIDRAW || d->transport == AGW_TRANSPORT_EVDEV) && !d->path)
        return fail(c, s->line, "missing key 'path' in [%s] (transport %s)", s->name, tr->value);
    if (d->transport == AGW_TRANSPORT_BLUEZ && !d->address)
        return fail(c, s->line, "missing key 'address' in [%s] (transport bluez)", s->name);
    if (d->transport == AGW_TRANSPORT_PCSC && !d->reader)
        return fail(c, s->line, "missing key 'reader' in [%s] (transport pcsc: the PC/SC reader's "
                    "name or its start; readers no section names are taken by hotplug)", s->name);
    return 0;
}

static int add_device(struct ctx *c, struct gateway_conf *conf, const struct ini_section *s,
                      const char *name)
{
    for (size_t i = 0; i < conf->n_devices; i++)
        if (strcmp(conf->devices[i].name, name) == 0)
            return fail(c, s->line, "duplicate section [%s] (first at line %d)", s->name,
                        conf->devices[i].line);
    struct device_conf *grown = realloc(conf->devices, (conf->n_devices + 1) * sizeof(*grown));
    if (!grown)
        return fail(c, s->line, "out of memory");
    conf->devices = grown;
    if (load_device(c, s, name, &conf->devices[conf->n_devices]) < 0)
        return -1;
    conf->n_devices++;
    return 0;
}

static int add_app(struct ctx *c, struct gateway_conf *conf, const struct ini_section *s,
                   const char *name)
{
    for (size_t i = 0; i < conf->n_apps; i++)
        if (strcmp(conf->apps[i].name, name) == 0)
            return fail(c, s->line, "duplicate section [%s] (first at line %d)", s->name,
                        conf->apps[i].line);
    struct app_conf *grown = realloc(conf->apps, (conf->n_apps + 1) * sizeof(*grown));
    if (!grown)
        return fail(c, s->line, "out of memory");
    conf->apps = grown;
    int line;
    char why[400];
    if (app_conf_read(s, name, &conf->apps[conf->n_apps], &line, why, sizeof(why)) < 0)
        return fail(c, line, "%s", why);
    conf->n_apps++;
    return 0;
}

/* "[device NAME]" -> NAME (NULL when s is not a kind section) */
static const char *named(const struct ini_section *s, const char *kind)
{
    size_t n = strlen(kind);
    if (strncmp(s->name, kind, n) != 0 || (s->name[n] != ' ' && s->name[n] != '\t'))
        return NULL;
    return s->name + n + strspn(s->name + n, " \t");
}

static int load_section(struct ctx *c, const struct ini_section *s, struct gateway_conf *conf,
                        bool *seen_gateway, bool *seen_bus, unsigned *seen_optional)
{
    int optional = load_optional_section(c, s, conf, seen_optional);
    if (optional <= 0)
        return optional;
    if (strcmp(s->name, "gateway") == 0) {
        if (*seen_gateway)
            return fail(c, s->line, "duplicate section [gateway]");
        *seen_gateway = true;
        return load_gateway(c, s, conf);
    }
    if (strcmp(s->name, "bus") == 0) {
        if (*seen_bus)
            return fail(c, s->line, "duplicate section [bus]");
        *seen_bus = true;
        return load_bus(c, s, conf);
    }
    if (named(s, "device"))
        return add_device(c, conf, s, named(s, "device"));
    if (named(s, "app"))
        return add_app(c, conf, s, named(s, "app"));
    return fail(c, s->line, "unknown section [%s] (expected [gateway], [bus], [journal], "
                "[uplink], [web], [audit], [device NAME] or [app NAME])",
                s->name);
}

static void set_defaults(struct gateway_conf *conf)
{
    conf->plugin_dir = AGW_DEFAULT_PLUGIN_DIR;
    conf->state_dir = "/var/lib/accessgw";
    conf->log_level = 6;
    conf->hotplug = true;
    conf->isolation = true;
    conf->heartbeat_ms = 1000;
    conf->command_timeout_ms = 10000;
    conf->plugin_events_per_s = 5000;
    conf->events = "tcp://127.0.0.1:5560";
    conf->control = "tcp://127.0.0.1:5561";
    conf->history = 10000;
    conf->sndhwm = 5000;
    conf->journal = (struct journal_conf){.max_mb = 64, .max_days = 7, .sync_ms = 200};
    conf->audit.max_days = 180;
    conf->uplink.keepalive_s = 30;
    conf->uplink.max_inflight = 100;
    conf->uplink.resend_s = 60;
}

/* The whole file, NUL-terminated; a config is small. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *grown = n < 16 * 1024 * 1024 ? realloc(buf, cap *= 2) : NULL;
            if (!grown) {
                free(buf);
                buf = NULL;
                snprintf(err, errlen, "%s: larger than 16 MiB", path);
            }
            buf = grown;
        }
    }
    fclose(f);
    if (buf)
        *len = n;
    return buf;
}

int config_load(const char *path, struct gateway_conf *conf, char *err, size_t errlen)
{
    memset(conf, 0, sizeof(*conf));
    err[0] = '\0';
    size_t len;
    char *text = read_file(path, &len, err, errlen);
    if (!text)
        return -1;
    int r = ini_parse_text(text, len, path, &conf->ini, err, errlen);
    free(text);
    if (r < 0)
        return -1;
    conf->path = strdup(path);
    set_defaults(conf);
    struct ctx c = {path, err, errlen};
    bool seen_gateway = false, seen_bus = false;
    unsigned seen_optional = 0;
    for (size_t i = 0; i < conf->ini.n_sections; i++)
        if (load_section(&c, &conf->ini.sections[i], conf, &seen_gateway, &seen_bus,
                         &seen_optional) < 0) {
            config_free(conf);
            return -1;
        }
    if (!seen_gateway) {
        snprintf(err, errlen, "%s:1: missing section [gateway] (it names the gateway: id = ...)",
                 path);
        config_free(conf);
        return -1;
    }
    return 0;
}

int config_check_plugins(const struct gateway_conf *conf, const struct plugin_set *plugins,
                         char *err, size_t errlen)
{
    struct ctx c = {conf->path, err, errlen};
    for (size_t i = 0; i < conf->n_devices; i++) {
        const struct device_conf *d = &conf->devices[i];
        const struct ini_entry *pe = ini_find(d->section, "plugin");
        const struct agw_plugin *p = plugin_set_find(plugins, d->plugin);
        if (!p)
            return fail(&c, pe->line, "no plugin '%s' in %s (for [%s])", d->plugin,
                        conf->plugin_path ? conf->plugin_path : conf->plugin_dir, d->section->name);
        if (!(p->transports & AGW_TRANSPORT_BIT(d->transport)))
            return fail(&c, ini_find(d->section, "transport")->line,
                        "plugin '%s' cannot use transport '%s' (in [%s])", p->id,
                        transport_name(d->transport), d->section->name);
        for (size_t k = 0; k < d->section->n_entries; k++) {
            const struct ini_entry *e = &d->section->entries[k];
            if (!in_list(device_common_keys, e->key) && !plugin_accepts_key(p, e->key))
                return fail(&c, e->line, "unknown key '%s' in [%s]", e->key, d->section->name);
        }
    }
    return 0;
}

const char *config_where(const struct gateway_conf *conf, const char *section, const char *key,
                         char *buf, size_t len)
{
    for (size_t i = 0; i < conf->ini.n_sections; i++) {
        const struct ini_section *s = &conf->ini.sections[i];
        const struct ini_entry *e = strcmp(s->name, section) == 0 ? ini_find(s, key) : NULL;
        if (e) {
            snprintf(buf, len, "%s:%d: %s", conf->path, e->line, key);
            return buf;
        }
    }
    snprintf(buf, len, "%s: %s (the default)", conf->path, key);
    return buf;
}

void config_free(struct gateway_conf *conf)
{
    free(conf->devices);
    free(conf->apps);
    free(conf->path);
    ini_free(&conf->ini);
    memset(conf, 0, sizeof(*conf));
}

const struct device_conf *config_find_device(const struct gateway_conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->n_devices; i++)
        if (strcmp(conf->devices[i].name, name) == 0)
            return &conf->devices[i];
    return NULL;
}
