#include "profile_dirs.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ACCESSGW_PROFILE_DIR
#define ACCESSGW_PROFILE_DIR "/usr/local/share/accessgw/profiles"
#endif

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(65536);
    *len = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    return buf;
}

/* Index of a profile loaded from a file of this base name, or -1. */
static int same_file(const struct profile_set *set, const char *base)
{
    for (size_t i = 0; i < set->n; i++) {
        const char *b = strrchr(set->items[i].file, '/');
        if (strcmp(b ? b + 1 : set->items[i].file, base) == 0)
            return (int)i;
    }
    return -1;
}

/* optional: a directory that may be absent (/etc/accessgw/profiles before the hall
 * adds one).  Any other that cannot be read is said, path and reason: a directory
 * the sandbox does not let the plugin read looked empty once, and "no profile
 * matches (0 loaded)" was all an installer saw. */
static void load_dir(struct agw_device *dev, const char *dir, bool optional,
                     const char *device_class, const char *const *actions,
                     struct profile_set *set)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0 && !(optional && errno == ENOENT))
        agw_log(dev, AGW_LOG_ERR, "profile directory %s cannot be read: %s", dir, strerror(errno));
    for (int i = 0; i < n; i++) {
        const char *base = names[i]->d_name;
        size_t bl = strlen(base);
        char path[4096], err[512];
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", dir, base);
        char *text = bl > 4 && strcmp(base + bl - 4, ".ini") == 0 ? slurp(path, &len) : NULL;
        struct profile *grown = text ? realloc(set->items, (set->n + 1) * sizeof(*grown)) : NULL;
        if (grown) {
            set->items = grown;
            struct profile *p = &set->items[set->n];
            /* a shared directory holds other classes' profiles: check actions only for ours */
            int r = profile_parse(text, len, path, NULL, p, err, sizeof(err));
            if (r == 0 && strcmp(p->device_class, device_class) == 0)
                r = profile_parse(text, len, path, actions, p, err, sizeof(err));
            if (r < 0)
                agw_log(dev, AGW_LOG_ERR, "profile skipped: %s", err);
            else if (strcmp(p->device_class, device_class) == 0) {
                int old = same_file(set, base);
                if (old >= 0) /* a later directory overrides the file */
                    set->items[old] = *p;
                else
                    set->n++;
            }
        }
        free(text);
        free(names[i]);
    }
    if (n >= 0)
        free(names);
}

int profiles_load(struct agw_device *dev, const char *dir, const char *device_class,
                  const char *const *actions, struct profile_set *out)
{
    out->items = NULL;
    out->n = 0;
    const char *env = getenv("ACCESSGW_PROFILE_PATH"); /* dir:dir..., for tests and trials */
    if (dir) {
        load_dir(dev, dir, false, device_class, actions, out);
    } else if (env && *env) {
        char copy[4096];
        snprintf(copy, sizeof(copy), "%s", env);
        char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
        load_dir(dev, d, false, device_class, actions, out);
    } else {
        load_dir(dev, ACCESSGW_PROFILE_DIR, true, device_class, actions, out);
        load_dir(dev, "/etc/accessgw/profiles", true, device_class, actions, out);
    }
    return (int)out->n;
}

void profiles_free(struct profile_set *set)
{
    free(set->items);
    set->items = NULL;
    set->n = 0;
}

const struct profile *profiles_choose(struct agw_device *dev, const struct profile_set *set,
                                      uint16_t vid, uint16_t pid, uint16_t usage_page)
{
    const char *name = agw_config(dev, "profile");
    /* only profiles written for this device's transport (or for any) */
    enum agw_transport kind = agw_transport_of(dev);
    const char *transport = kind == AGW_TRANSPORT_SERIAL ? "serial"
                          : kind == AGW_TRANSPORT_EVDEV  ? "evdev"
                                                         : "hidraw";
    struct profile *fit = malloc((set->n + 1) * sizeof(*fit));
    size_t n = 0;
    for (size_t i = 0; fit && i < set->n; i++)
        if (!set->items[i].transport[0] || strcmp(set->items[i].transport, transport) == 0)
            fit[n++] = set->items[i];
    int interface = -1;
    char product[128] = "";
    const struct agw_hid_ext *hid = agw_hid(dev);
    if (hid)
        hid->names(dev, &interface, product, sizeof(product));
    struct profile_device d = {vid, pid, usage_page, interface, product};
    const struct profile *chosen = fit ? profile_select(fit, n, name, &d) : NULL;
    const struct profile *p = NULL;
    for (size_t i = 0; chosen && i < set->n; i++) /* point into the set, which outlives fit */
        if (strcmp(set->items[i].file, chosen->file) == 0)
            p = &set->items[i];
    free(fit);
    if (!p) {
        char why[160];
        if (name)
            snprintf(why, sizeof(why), "no profile named '%.60s' (%zu loaded)", name, set->n);
        else
            snprintf(why, sizeof(why), "no profile matches %04x:%04x (%zu loaded)", vid, pid, set->n);
        agw_set_state(dev, AGW_STATE_ERROR, why);
        return NULL;
    }
    agw_set_info(dev, "profile", p->name);
    agw_set_info(dev, "profile_file", p->file);
    agw_log(dev, AGW_LOG_INFO, "profile %s (%s) for %04x:%04x", p->name, p->file, vid, pid);
    return p;
}
