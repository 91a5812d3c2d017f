#include "profiles.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "hid_profile.h"

static void print_profile(FILE *out, const struct profile *p, json_t *devices)
{
    char match[256] = "";
    if (p->match_any)
        snprintf(match, sizeof(match), "*");
    for (size_t i = 0; i < p->n_match; i++) {
        size_t n = strlen(match);
        snprintf(match + n, sizeof(match) - n, "%s%04x:%04x", n ? " " : "", p->match[i].vid,
                 p->match[i].pid);
    }
    fprintf(out, "%-24s %-11s %-24s %s\n", p->name, p->device_class, match, p->file);
    size_t i;
    json_t *d;
    json_array_foreach(devices, i, d)
    {
        const char *used = json_string_value(json_object_get(json_object_get(d, "info"), "profile"));
        if (used && strcmp(used, p->name) == 0)
            fprintf(out, "    used by device %s (%s)\n", json_string_value(json_object_get(d, "id")),
                    json_string_value(json_object_get(d, "state")));
    }
}

static int print_dir(FILE *out, const char *dir, json_t *devices)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort), errors = 0;
    if (n < 0) {
        fprintf(out, "# %s: not readable\n", dir);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        size_t bl = strlen(names[i]->d_name);
        if (bl > 4 && strcmp(names[i]->d_name + bl - 4, ".ini") == 0) {
            char path[4096], err[512];
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
            FILE *f = fopen(path, "r");
            static char text[65536];
            size_t len = f ? fread(text, 1, sizeof(text), f) : 0;
            if (f)
                fclose(f);
            static struct profile p;
            if (profile_parse(text, len, path, NULL, &p, err, sizeof(err)) < 0) {
                fprintf(out, "ERROR %s\n", err);
                errors++;
            } else {
                print_profile(out, &p, devices);
            }
        }
        free(names[i]);
    }
    free(names);
    return errors;
}

int profiles_print(FILE *out, const char *dirs, json_t *devices)
{
    char copy[4096];
    snprintf(copy, sizeof(copy), "%s", dirs);
    fprintf(out, "%-24s %-11s %-24s %s\n", "PROFILE", "CLASS", "MATCH", "FILE");
    int errors = 0;
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
        errors += print_dir(out, d, devices);
    return errors ? 1 : 0;
}
