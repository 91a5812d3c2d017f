/* Where ALSA's configuration lives and what its file PCMs write (sound_paths.h).
 * Read before the sandbox closes, with plain stdio: no ALSA in the plugin host. */
#define _GNU_SOURCE
#include "sound_paths.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add(char (*list)[PATH_MAX], size_t *n, const char *path)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], path) == 0)
            return;
    if (*n < SOUND_PATHS_MAX && strlen(path) < PATH_MAX)
        snprintf(list[(*n)++], PATH_MAX, "%s", path);
}

/* `file "/x/y.raw"` or `file /x/y.raw`: the directory /x. */
static void file_targets(struct sound_paths *out, const char *config)
{
    FILE *f = fopen(config, "re");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        for (char *at = strstr(line, "file"); at; at = strstr(at + 4, "file")) {
            bool word = (at == line || !isalnum((unsigned char)at[-1])) && isspace((unsigned char)at[4]);
            char *p = at + 4;
            while (*p == ' ' || *p == '\t')
                p++;
            if (!word || (*p == '"' ? p[1] : *p) != '/')
                continue;
            if (*p == '"')
                p++;
            char path[PATH_MAX];
            size_t n = strcspn(p, "\" \t\n;}");
            if (n == 0 || n >= sizeof(path))
                continue;
            memcpy(path, p, n);
            path[n] = '\0';
            char *slash = strrchr(path, '/');
            if (slash == path)
                continue; /* a file at the root: no directory is given away for it */
            *slash = '\0';
            add(out->write, &out->n_write, path);
        }
    }
    fclose(f);
}

void sound_paths_find(struct sound_paths *out)
{
    memset(out, 0, sizeof(*out));
    char path[PATH_MAX];
    add(out->read, &out->n_read, "/etc/asound.conf");
    add(out->read, &out->n_read, "/etc/alsa");
    const char *home = getenv("HOME");
    if (home && home[0] == '/') {
        snprintf(path, sizeof(path), "%s/.asoundrc", home);
        add(out->read, &out->n_read, path);
        snprintf(path, sizeof(path), "%s/.config/alsa", home);
        add(out->read, &out->n_read, path);
    }
    /* alsa-lib reads these instead of its alsa.conf when the variable is set */
    const char *alt = getenv("ALSA_CONFIG_PATH");
    for (const char *p = alt; p && *p;) {
        size_t n = strcspn(p, ":");
        if (n && n < sizeof(path) && p[0] == '/') {
            memcpy(path, p, n);
            path[n] = '\0';
            add(out->read, &out->n_read, path);
        }
        p += n + (p[n] == ':');
    }
    for (size_t i = 0; i < out->n_read; i++)
        file_targets(out, out->read[i]);
}
