/* The configuration: loading it with its plugins and keys, --check-config,
 * and SIGHUP.  Main loop only. */
#define _GNU_SOURCE
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "trust.h"

int load_keys(const struct gateway_conf *conf, struct key_list *keys, char *secret, char *err,
              size_t errlen)
{
    memset(keys, 0, sizeof(*keys));
    if (!conf->private_events)
        return 0;
    bool legacy;
    char why[1024], where[512];
    if (trust_check(conf->curve_secret_key, TRUST_SECRET, why, sizeof(why)) < 0 ||
        curve_read_key_file(conf->curve_secret_key, CURVE_SECRET, secret, &legacy, why,
                            sizeof(why)) < 0) {
        snprintf(err, errlen, "%.300s: %.700s",
                 config_where(conf, "bus", "curve_secret_key", where, sizeof(where)), why);
        return -1;
    }
    if (trust_check(conf->authorized_keys, TRUST_GRANTS, why, sizeof(why)) < 0 ||
        curve_load_authorized(conf->authorized_keys, keys, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%.300s: %.700s",
                 config_where(conf, "bus", "authorized_keys", where, sizeof(where)), why);
        return -1;
    }
    if (legacy)
        log_notice("%s: a one-line key file of an earlier version; it still works, but "
                   "`accessgwctl keygen` now writes certificates czmq and pyzmq read too",
                   conf->curve_secret_key);
    return 0;
}

/* plugin_path, else plugin_dir, else the local directory (if there) and the packaged one. */
static int load_plugins(const struct gateway_conf *conf, struct plugin_set *plugins, char *err,
                        size_t errlen)
{
    bool defaults = !conf->plugin_path && !conf->plugin_dir_set;
    const char *key = conf->plugin_path ? "plugin_path" : "plugin_dir";
    char list[8192], failed[4096] = "", why[512], where[512];
    if (defaults)
        snprintf(list, sizeof(list), "%s:%s", AGW_LOCAL_PLUGIN_DIR, AGW_DEFAULT_PLUGIN_DIR);
    else
        snprintf(list, sizeof(list), "%s", conf->plugin_path ? conf->plugin_path : conf->plugin_dir);
    if (plugin_set_load_path(plugins, list, defaults, failed, sizeof(failed)) >= 0)
        return 0;
    if (trust_check(failed, TRUST_CODE_DIR, why, sizeof(why)) < 0)
        snprintf(err, errlen, "%s refused: %s", config_where(conf, "gateway", key, where,
                                                            sizeof(where)), why);
    else
        snprintf(err, errlen, "%s: %s cannot be read (see the line above)",
                 config_where(conf, "gateway", key, where, sizeof(where)), failed);
    return -1;
}

int load_config_and_plugins(struct gateway_conf *conf, struct plugin_set *plugins,
                                   const char *path, char *err, size_t errlen)
{
    if (config_load(path, conf, err, errlen) < 0)
        return -1;
    trust_relax(conf->insecure_files);
    if (conf->insecure_files)
        log_warn("%s: insecure_files = yes: files that grant access are not checked (development "
                 "only)", path);
    if (plugins->n == 0 && load_plugins(conf, plugins, err, errlen) < 0)
        return -1;
    return config_check_plugins(conf, plugins, err, errlen);
}

static bool key_listed(const struct key_list *keys, const char *z85)
{
    for (size_t i = 0; i < keys->n; i++)
        if (strcmp(keys->keys[i].z85, z85) == 0)
            return true;
    return false;
}

/* Access granted is also taken back: when a key left authorized_keys (or the
 * gateway's own key changed), live private subscribers are dropped and must
 * pass ZAP again with the keys of now. */
static void cut_off_revoked(struct gateway *g, const struct key_list *fresh, const char *secret,
                            int sndhwm)
{
    if (!g->bus.priv || !g->private_endpoint || !secret[0])
        return;
    size_t revoked = 0;
    for (size_t i = 0; i < g->keys.n; i++)
        if (!key_listed(fresh, g->keys.keys[i].z85)) {
            log_notice("private events: key %s revoked; its live connections are dropped",
                       g->keys.keys[i].name);
            revoked++;
        }
    char public_key[Z85_KEY_LEN + 1] = "";
    bool own_key_changed = zmq_curve_public(public_key, secret) == 0 &&
                           strcmp(public_key, g->curve_public) != 0;
    if (!revoked && !own_key_changed)
        return;
    struct bus_options o = {.private_events = g->private_endpoint, .curve_secret_key = secret,
                            .sndhwm = sndhwm};
    char err[512];
    if (bus_reopen_private(&g->bus, g->zctx, &o, err, sizeof(err)) < 0) {
        log_err("private events: %s; the endpoint is closed until a restart", err);
        return;
    }
    if (own_key_changed)
        memcpy(g->curve_public, public_key, sizeof(public_key));
    log_notice("private events: endpoint %s reopened; subscribers are checked again",
               g->private_endpoint);
}

void reload(struct gateway *g)
{
    char err[1024];
    struct gateway_conf fresh;
    log_notice("SIGHUP: reloading %s", g->conf.path);
    if (config_load(g->conf.path, &fresh, err, sizeof(err)) < 0) {
        log_err("reload refused, keeping the running config: %s", err);
        return;
    }
    trust_relax(fresh.insecure_files);
    if (config_check_plugins(&fresh, &g->plugins, err, sizeof(err)) < 0) {
        log_err("reload refused, keeping the running config: %s", err);
        trust_relax(g->conf.insecure_files);
        config_free(&fresh);
        return;
    }
    struct key_list keys;
    char secret[Z85_KEY_LEN + 1];
    if (load_keys(&fresh, &keys, secret, err, sizeof(err)) < 0) {
        log_err("reload refused, keeping the running config: %s", err);
        trust_relax(g->conf.insecure_files);
        config_free(&fresh);
        return;
    }
    cut_off_revoked(g, &keys, secret, fresh.sndhwm);
    explicit_bzero(secret, sizeof(secret));
    if (strcmp(fresh.events, g->conf.events) || strcmp(fresh.control, g->conf.control) ||
        strcmp(fresh.id, g->conf.id) || strcmp(fresh.state_dir, g->conf.state_dir))
        log_warn("reload: [gateway] id and state_dir and [bus] endpoints change only at restart");
    curve_free_authorized(&g->keys);
    g->keys = keys;
    /* Running devices hold copies of their settings, so the old config can go. */
    struct gateway_conf old = g->conf;
    g->conf = fresh;
    config_free(&old);
    log_set_level(g->conf.log_level);
    runner_set_event_budget(&g->runner, g->conf.plugin_events_per_s);
    /* [web] may have come, gone or changed: its browsers reconnect with Last-Event-ID */
    child_stop(&g->web, 3000);
    child_want(&g->web, g->conf.web.line != 0);
    const char **named = readers_named(&g->conf); /* a reader a section now names is its own */
    if (named)
        pcsc_hotplug_configure(g->pcsc, named);
    free(named);
    reconcile(g);
    if (g->pcsc) /* and one no section names any more is hotplugged again */
        pcsc_hotplug_dispatch(g->pcsc);
}

const char **readers_named(const struct gateway_conf *conf)
{
    const char **named = calloc(conf->n_devices + 1, sizeof(*named));
    for (size_t i = 0, n = 0; named && i < conf->n_devices; i++)
        if (conf->devices[i].transport == AGW_TRANSPORT_PCSC && conf->devices[i].reader)
            named[n++] = conf->devices[i].reader;
    return named;
}

/* A token file as accessgw-web will read it; NULL with err naming FILE:LINE. */
static char *read_token(const char *what, const char *path, const char *where, char *err,
                        size_t errlen)
{
    char why[512];
    char *token = trust_read_secret(what, path, 16, why, sizeof(why));
    if (!token)
        snprintf(err, errlen, "%.400s: %s", where, why);
    return token;
}

static void forget_token(char *token)
{
    if (token) {
        explicit_bzero(token, strlen(token));
        free(token);
    }
}

/* Each app's token readable as a key file is, and its own: one shared with another app
 * or with the staff's [web] token would let one stand for the other.  A device no
 * [device] section declares may be hotplugged: said, not refused. */
static int check_apps(const struct gateway_conf *conf, const char *web_token, char *err,
                      size_t errlen)
{
    char *tokens[conf->n_apps + 1];
    int rc = 0;
    size_t n = 0;
    for (size_t i = 0; i < conf->n_apps && rc == 0; i++) {
        const struct app_conf *app = &conf->apps[i];
        char what[100], where[4200];
        snprintf(what, sizeof(what), "[app %s] token_file", app->name);
        snprintf(where, sizeof(where), "%s:%d: token_file", conf->path, app->token_line);
        if (!(tokens[n] = read_token(what, app->token_file, where, err, errlen))) {
            rc = -1;
            break;
        }
        for (size_t k = 0; k < n + 1 && rc == 0; k++) {
            const char *other = k < n ? tokens[k] : web_token;
            if (other && strcmp(other, tokens[n]) == 0) {
                snprintf(err, errlen, "%.400s: the same token as %s: each app needs its own", where,
                         k < n ? conf->apps[k].name : "[web] token_file (the staff's)");
                rc = -1;
            }
        }
        n++;
        char id[128];
        for (const char *p = app->devices; *next_word(&p, id, sizeof(id));)
            if (!config_find_device(conf, id))
                fprintf(stderr, "%s:%d: warning: [app %s] devices: no [device %s] section (a "
                        "hotplugged id?)\n", conf->path, app->line, app->name, id);
    }
    for (size_t i = 0; i < n; i++)
        forget_token(tokens[i]);
    return rc;
}

int gateway_check_config(const char *config_path)
{
    struct gateway_conf conf;
    struct plugin_set plugins = {0};
    char err[1024] = "", *web_token = NULL;
    log_init("accessgwd");
    log_set_level(4);
    int rc = load_config_and_plugins(&conf, &plugins, config_path, err, sizeof(err));
    if (rc == 0 && conf.web.token_file) { /* accessgw-web would serve with commands off */
        char where[600];
        web_token = read_token("[web] token_file", conf.web.token_file,
                               config_where(&conf, "web", "token_file", where, sizeof(where)),
                               err, sizeof(err));
        rc = web_token ? 0 : -1;
    }
    if (rc == 0)
        rc = check_apps(&conf, web_token, err, sizeof(err));
    forget_token(web_token);
    if (rc == 0 && conf.private_events) {
        struct key_list keys;
        char secret[Z85_KEY_LEN + 1];
        rc = load_keys(&conf, &keys, secret, err, sizeof(err));
        explicit_bzero(secret, sizeof(secret));
        curve_free_authorized(&keys);
    }
    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    else
        printf("%s: OK (%zu device(s), %zu plugin(s)%s)\n", config_path, conf.n_devices,
               plugins.n, conf.n_apps ? ", with [app] sections" : "");
    if (rc == 0 || conf.path)
        config_free(&conf);
    plugin_set_free(&plugins);
    return rc < 0 ? 1 : 0;
}
