/* Loading plugins: dlopen, then a strict check of the exported descriptor.
 * A refused plugin gets one log line saying why; the others still load. */
#ifndef AGW_LOADER_H
#define AGW_LOADER_H
#include <stdbool.h>
#include <stddef.h>

#include "accessgw/plugin.h"

struct loaded_plugin {
    const struct agw_plugin *desc;
    void *handle; /* dlopen handle */
    char *path;
    unsigned dir; /* its directory's place in the search path */
};

struct plugin_set {
    struct loaded_plugin *items;
    size_t n;
};

/* Loads every *.so in dir.  Returns the number loaded, -1 if dir is unreadable. */
int plugin_set_load_dir(struct plugin_set *set, const char *dir);
/* Loads every directory of a search path ("DIR:DIR...") in order: an id found
 * again in a later directory is shadowed (said at notice), never loaded twice.
 * A directory that is missing is skipped when optional, else an error (-1,
 * with the directory in *failed). */
int plugin_set_load_path(struct plugin_set *set, const char *path_list, bool optional,
                         char *failed, size_t failedlen);
/* Loads one file; 0, or -1 after logging the reason. */
int plugin_set_load_file(struct plugin_set *set, const char *path);
void plugin_set_free(struct plugin_set *set);
const struct agw_plugin *plugin_set_find(const struct plugin_set *set, const char *id);

/* Checks the descriptor a plugin exports and gives the one the host reads:
 * the plugin's own (ABI 2.x) or its 1.x one in the 2.0 form (common/abi1.h).
 * NULL when refused, with the reason in buf.  `avail` is the symbol's size as
 * the ELF symbol table says, 0 when unknown.  Free with plugin_descriptor_free. */
const struct agw_plugin *plugin_descriptor(const void *symbol, size_t avail, char *buf,
                                           size_t buflen);
void plugin_descriptor_free(const struct agw_plugin *p);
/* Whether a [device] key belongs to the plugin; "button.*" in config_keys
 * accepts every key starting with "button.". */
bool plugin_accepts_key(const struct agw_plugin *p, const char *key);
/* A field of a plugin's descriptor that its ABI minor has, and set: later
 * fields are read only when the plugin's struct_size covers them. */
#define AGW_PLUGIN_HAS(p, field) \
    ((p)->struct_size >= offsetof(struct agw_plugin, field) + sizeof((p)->field) && (p)->field)
#endif
