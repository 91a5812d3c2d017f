#include "apps.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

static const char *const app_keys[] = {"token_file", "devices", "origins", NULL};

bool app_has_device(const struct app_conf *a, const char *id)
{
    return word_listed(a->devices, id, strlen(id), false);
}

/* An origin as a browser sends it: scheme://host[:port], nothing after. */
static bool is_origin(const char *o)
{
    const char *host = strncmp(o, "https://", 8) == 0 ? o + 8
                       : strncmp(o, "http://", 7) == 0 ? o + 7
                                                       : NULL;
    if (!host || !*host)
        return false;
    for (const char *p = host; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
              *p == ':' || *p == '[' || *p == ']'))
            return false; /* a path, a wildcard, upper case (browsers send lower) */
    return true;
}

static int refuse(int *line, int at, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int refuse(int *line, int at, char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    *line = at;
    return -1;
}

int app_conf_read(const struct ini_section *s, const char *name, struct app_conf *out, int *line,
                  char *why, size_t whylen)
{
    memset(out, 0, sizeof(*out));
    out->name = name;
    out->line = s->line;
    if (!config_valid_name(name))
        return refuse(line, s->line, why, whylen, "app name '%s' must be 1-64 of A-Z a-z 0-9 _ . -",
                      name);
    for (size_t i = 0; i < s->n_entries; i++) {
        const struct ini_entry *e = &s->entries[i];
        size_t k = 0;
        while (app_keys[k] && strcmp(app_keys[k], e->key) != 0)
            k++;
        if (!app_keys[k])
            return refuse(line, e->line, why, whylen,
                          "unknown key '%s' in [app] (token_file, devices, origins)", e->key);
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->entries[j].key, e->key) == 0)
                return refuse(line, e->line, why, whylen, "duplicate key '%s' in [app]", e->key);
    }
    const struct ini_entry *token = ini_find(s, "token_file"), *devices = ini_find(s, "devices"),
                           *origins = ini_find(s, "origins");
    if (!token || !*token->value)
        return refuse(line, s->line, why, whylen, "missing key 'token_file' in [app %s]", name);
    if (!devices || !devices->value[strspn(devices->value, " \t")])
        return refuse(line, s->line, why, whylen,
                      "missing key 'devices' in [app %s] (the devices of its window)", name);
    char word[256];
    for (const char *p = origins ? origins->value : ""; *next_word(&p, word, sizeof(word));)
        if (!is_origin(word))
            return refuse(line, origins->line, why, whylen,
                          "origin '%s' is not scheme://host[:port] (https://ywxt.example.gov.cn; "
                          "no path, no wildcard)", word);
    out->token_file = token->value;
    out->token_line = token->line;
    out->devices = devices->value;
    out->origins = origins ? origins->value : NULL;
    return 0;
}

size_t app_record_put(char **buf, const char *topic, size_t topic_len, const char *env,
                      size_t env_len, bool full)
{
    size_t len = 1 + topic_len + 1 + env_len;
    *buf = len <= APP_RECORD_MAX ? malloc(len) : NULL;
    if (!*buf)
        return 0;
    (*buf)[0] = full ? 1 : 0;
    memcpy(*buf + 1, topic, topic_len);
    (*buf)[1 + topic_len] = '\0';
    memcpy(*buf + 2 + topic_len, env, env_len);
    return len;
}

bool app_record_take(const char *rec, size_t len, const char **topic, const char **env,
                     size_t *env_len, bool *full)
{
    const char *nul = len >= 3 ? memchr(rec + 1, '\0', len - 1) : NULL;
    if (!nul || nul == rec + 1)
        return false;
    *full = rec[0] & 1;
    *topic = rec + 1;
    *env = nul + 1;
    *env_len = len - (size_t)(*env - rec);
    return true;
}
