#define _GNU_SOURCE
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "abi1.h"
#include "config.h"
#include "log.h"
#include "trust.h"

bool plugin_accepts_key(const struct agw_plugin *p, const char *key)
{
    for (const char *const *k = p->config_keys; k && *k; k++) {
        size_t n = strlen(*k);
        if (n >= 2 && strcmp(*k + n - 2, ".*") == 0) {
            if (strncmp(key, *k, n - 1) == 0 && key[n - 1] != '\0')
                return true;
        } else if (strcmp(*k, key) == 0) {
            return true;
        }
    }
    return false;
}

static bool valid_plugin_id(const char *id)
{
    if (!id || !*id || strlen(id) > 64)
        return false;
    for (const char *c = id; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
            return false;
    return true;
}

/* What every major shares: the header words, read before anything else. */
static const char *check_header(const struct agw_plugin *p, size_t avail, char *buf,
                                size_t buflen)
{
    if (avail && avail < 4 * sizeof(uint32_t))
        return "descriptor symbol is too small to hold a header";
    if (p->magic != AGW_PLUGIN_MAGIC) {
        snprintf(buf, buflen, "wrong magic 0x%08x (expected 0x%08x): not an accessgw plugin",
                 p->magic, AGW_PLUGIN_MAGIC);
        return buf;
    }
    if (p->abi_major != AGW_ABI_MAJOR && p->abi_major != AGW1_ABI_MAJOR) {
        snprintf(buf, buflen,
                 "built for plugin ABI %u.%u, this gateway runs plugins of ABI 1.x and "
                 "2.0 to %u.%u",
                 p->abi_major, p->abi_minor, AGW_ABI_MAJOR, AGW_ABI_MINOR);
        return buf;
    }
    size_t least = p->abi_major == AGW1_ABI_MAJOR ? AGW1_PLUGIN_MIN_SIZE : AGW_PLUGIN_MIN_SIZE;
    if (p->struct_size < least || (avail && avail < least)) {
        snprintf(buf, buflen, "descriptor is %u bytes, ABI %u.0 needs at least %zu",
                 p->struct_size, p->abi_major, least);
        return buf;
    }
    return NULL;
}

static const char *check_contents(const struct agw_plugin *p)
{
    if (!valid_plugin_id(p->id))
        return "plugin id missing or not made of a-z 0-9 - _";
    if (!p->device_class || !valid_plugin_id(p->device_class))
        return "device_class missing or not made of a-z 0-9 - _";
    if (!p->open)
        return "mandatory callback 'open' is NULL";
    if (!p->close)
        return "mandatory callback 'close' is NULL";
    return NULL;
}

const struct agw_plugin *plugin_descriptor(const void *symbol, size_t avail, char *buf,
                                           size_t buflen)
{
    const struct agw_plugin *p = symbol;
    const char *reason = check_header(p, avail, buf, buflen);
    if (!reason && p->abi_major == AGW1_ABI_MAJOR && !(p = abi1_import(symbol, buf, buflen)))
        reason = buf;
    if (!reason && (reason = check_contents(p)) != NULL)
        plugin_descriptor_free(p);
    if (reason) {
        if (reason != buf)
            snprintf(buf, buflen, "%s", reason);
        return NULL;
    }
    return p;
}

void plugin_descriptor_free(const struct agw_plugin *p)
{
    abi1_free(p);
}

/* The size of the exported symbol, from the ELF symbol table, 0 if unknown. */
static size_t symbol_size(void *addr)
{
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) && sym)
        return sym->st_size;
    return 0;
}

static bool file_is_safe(const char *path)
{
    char err[512];
    if (trust_check(path, TRUST_CODE, err, sizeof(err)) < 0) {
        log_lifecycle(3, "plugin refused: %s", err);
        return false;
    }
    return true;
}

/* dir: which directory of a search path the file is in (0: a single one). */
static int load_file(struct plugin_set *set, const char *path, unsigned dir)
{
    if (!file_is_safe(path))
        return -1;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        log_lifecycle(3, "plugin %s refused: %s", path, dlerror());
        return -1;
    }
    const struct agw_plugin *p = dlsym(h, AGW_PLUGIN_SYMBOL);
    if (!p) {
        log_lifecycle(3, "plugin %s refused: no '%s' descriptor symbol", path, AGW_PLUGIN_SYMBOL);
        dlclose(h);
        return -1;
    }
    char why[256];
    const char *reason = NULL;
    if (!(p = plugin_descriptor(p, symbol_size((void *)p), why, sizeof(why))))
        reason = why;
    for (size_t i = 0; !reason && i < set->n; i++) {
        if (strcmp(set->items[i].desc->id, p->id) != 0)
            continue;
        if (dir > set->items[i].dir) { /* earlier in the search path: that one serves */
            log_notice("plugin %s: id '%s' is shadowed by %s (earlier in plugin_path)", path,
                       p->id, set->items[i].path);
            plugin_descriptor_free(p);
            dlclose(h);
            return 1;
        }
        snprintf(why, sizeof(why), "duplicate plugin id '%s' (already loaded from %s)", p->id,
                 set->items[i].path);
        reason = why;
    }
    if (reason) {
        log_lifecycle(3, "plugin %s refused: %s", path, reason);
        if (p)
            plugin_descriptor_free(p);
        dlclose(h);
        return -1;
    }
    struct loaded_plugin *grown = realloc(set->items, (set->n + 1) * sizeof(*grown));
    if (!grown) {
        plugin_descriptor_free(p);
        dlclose(h);
        return -1;
    }
    set->items = grown;
    set->items[set->n++] = (struct loaded_plugin){p, h, strdup(path), dir};
    log_info("plugin %s %s loaded (class %s, ABI %u.%u) from %s", p->id,
             p->version ? p->version : "", p->device_class, p->abi_major, p->abi_minor, path);
    return 0;
}

int plugin_set_load_file(struct plugin_set *set, const char *path)
{
    return load_file(set, path, 0) == 0 ? 0 : -1;
}

static int compare_names(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_shared_object(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 3 && strcmp(d->d_name + n - 3, ".so") == 0;
}

static int load_dir(struct plugin_set *set, const char *dir, unsigned index)
{
    struct dirent **names;
    char err[512];
    if (trust_check(dir, TRUST_CODE_DIR, err, sizeof(err)) < 0) {
        log_err("plugin directory refused: %s", err);
        errno = EPERM;
        return -1;
    }
    /* Sorted, so that which of two duplicate ids wins never depends on the file system. */
    int n = scandir(dir, &names, is_shared_object, compare_names);
    if (n < 0) {
        log_err("plugin directory %s: %s", dir, strerror(errno));
        return -1;
    }
    int loaded = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (load_file(set, path, index) == 0)
            loaded++;
        free(names[i]);
    }
    free(names);
    return loaded;
}

int plugin_set_load_path(struct plugin_set *set, const char *path_list, bool optional,
                         char *failed, size_t failedlen)
{
    char *copy = strdup(path_list);
    int total = 0;
    unsigned dir_index = 0;
    if (!copy)
        return -1;
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        if (optional && access(dir, F_OK) < 0) {
            log_debug("plugin directory %s: none here", dir);
            continue;
        }
        int n = load_dir(set, dir, ++dir_index);
        if (n < 0) {
            snprintf(failed, failedlen, "%s", dir);
            free(copy);
            return -1;
        }
        total += n;
    }
    free(copy);
    return total;
}

int plugin_set_load_dir(struct plugin_set *set, const char *dir)
{
    return load_dir(set, dir, 0);
}

void plugin_set_free(struct plugin_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        plugin_descriptor_free(set->items[i].desc);
        dlclose(set->items[i].handle);
        free(set->items[i].path);
    }
    free(set->items);
    set->items = NULL;
    set->n = 0;
}

const struct agw_plugin *plugin_set_find(const struct plugin_set *set, const char *id)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->items[i].desc->id, id) == 0)
            return set->items[i].desc;
    return NULL;
}
