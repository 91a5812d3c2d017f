/* What a plugin may read in its sandbox (--read). */
#define _GNU_SOURCE
#include "proc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "monotonic.h"
#include <sys/stat.h>

/* Profiles where plugins/common looks for them (the shipped ones where this build
 * installs them, the hall's own in /etc), and every file or directory
 * a device's settings name with a key ending in _dir or _file (docs/PLUGINS.md):
 * nothing else outside the system's libraries, sysfs and udev's database. */
static bool names_a_path(const struct device_setting *s)
{
    size_t n = strlen(s->key);
    return s->value[0] == '/' && ((n > 4 && strcmp(s->key + n - 4, "_dir") == 0) ||
                                  (n > 5 && strcmp(s->key + n - 5, "_file") == 0));
}

static bool may_read(const struct plugin_proc *p, const char *path)
{
    for (size_t i = 0; i < p->n_reads; i++)
        if (strcmp(p->reads[i], path) == 0)
            return true;
    return false;
}

static void allow_read(struct plugin_proc *p, const char *path)
{
    if (may_read(p, path))
        return;
    if (p->n_reads == PROC_READS_MAX) {
        log_warn("plugin %s: more than %d directories to read; %s is not among them",
                 p->plugin->desc->id, PROC_READS_MAX, path);
        return;
    }
    p->reads[p->n_reads++] = strdup(path);
}

void forget_reads(struct plugin_proc *p)
{
    for (size_t i = 0; i < p->n_reads; i++)
        free(p->reads[i]);
    p->n_reads = 0;
}

/* The path a device reads that its running host may not, or NULL. */
const char *unreadable_setting(const struct plugin_proc *p, const struct device *dev)
{
    for (size_t i = 0; i < dev->n_settings; i++)
        if (names_a_path(&dev->settings[i]) && !may_read(p, dev->settings[i].value))
            return dev->settings[i].value;
    return NULL;
}

void collect_reads(struct plugin_procs *ps, struct plugin_proc *p)
{
    forget_reads(p);
    allow_read(p, ACCESSGW_PROFILE_DIR); /* under /usr, or a prefix of its own (/opt/accessgw) */
    allow_read(p, "/etc/accessgw/profiles");
    const char *env = getenv("ACCESSGW_PROFILE_PATH"); /* dir:dir..., for tests and trials */
    char copy[4096], *save = NULL;
    snprintf(copy, sizeof(copy), "%s", env ? env : "");
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
        if (d[0] == '/')
            allow_read(p, d);
    size_t n;
    struct device **mine = devices_of(ps, p, &n);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < mine[i]->n_settings; k++)
            if (names_a_path(&mine[i]->settings[k]))
                allow_read(p, mine[i]->settings[k].value);
    free(mine);
}
