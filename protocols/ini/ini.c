#include "ini.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INI_MAX_LINE 4096

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static void strip_inline_comment(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == ';' && p > s && isspace((unsigned char)p[-1])) {
            *p = '\0';
            return;
        }
}

static int add_section(struct ini_file *f, const char *name, int line)
{
    struct ini_section *grown = realloc(f->sections, (f->n_sections + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    f->sections = grown;
    struct ini_section *s = &f->sections[f->n_sections];
    memset(s, 0, sizeof(*s));
    s->name = strdup(name);
    s->line = line;
    if (!s->name)
        return -1;
    f->n_sections++;
    return 0;
}

static int add_entry(struct ini_section *s, const char *key, const char *value, int line)
{
    struct ini_entry *grown = realloc(s->entries, (s->n_entries + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    s->entries = grown;
    struct ini_entry *e = &s->entries[s->n_entries];
    e->key = strdup(key);
    e->value = strdup(value);
    e->line = line;
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        return -1;
    }
    s->n_entries++;
    return 0;
}

static int parse_line(struct ini_file *f, char *raw, int line, const char *path,
                      char *err, size_t errlen)
{
    char *s = trim(raw);
    if (*s == '\0' || *s == ';' || *s == '#')
        return 0;
    strip_inline_comment(s);
    s = trim(s);
    if (*s == '[') {
        char *close = strchr(s, ']');
        if (!close || trim(close + 1)[0] != '\0') {
            snprintf(err, errlen, "%s:%d: malformed section header", path, line);
            return -1;
        }
        *close = '\0';
        char *name = trim(s + 1);
        if (*name == '\0') {
            snprintf(err, errlen, "%s:%d: empty section name", path, line);
            return -1;
        }
        return add_section(f, name, line);
    }
    char *eq = strchr(s, '=');
    if (!eq) {
        snprintf(err, errlen, "%s:%d: expected 'key = value'", path, line);
        return -1;
    }
    *eq = '\0';
    char *key = trim(s), *value = trim(eq + 1);
    if (*key == '\0') {
        snprintf(err, errlen, "%s:%d: missing key before '='", path, line);
        return -1;
    }
    if (f->n_sections == 0) {
        snprintf(err, errlen, "%s:%d: key '%s' outside any section", path, line, key);
        return -1;
    }
    return add_entry(&f->sections[f->n_sections - 1], key, value, line);
}

int ini_parse_text(const char *text, size_t len, const char *name, struct ini_file *out,
                   char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    err[0] = '\0';
    char buf[INI_MAX_LINE];
    int line = 0, rc = 0;
    for (size_t pos = 0; rc == 0 && pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        line++;
        if (n >= sizeof(buf)) {
            snprintf(err, errlen, "%s:%d: line longer than %d bytes", name, line, INI_MAX_LINE - 1);
            rc = -1;
            break;
        }
        memcpy(buf, text + pos, n);
        buf[n] = '\0';
        if (memchr(buf, '\0', n)) {
            snprintf(err, errlen, "%s:%d: NUL byte in the line", name, line);
            rc = -1;
            break;
        }
        rc = parse_line(out, buf, line, name, err, errlen);
        if (rc < 0 && err[0] == '\0')
            snprintf(err, errlen, "%s:%d: out of memory", name, line);
        pos += n + 1;
    }
    if (rc < 0)
        ini_free(out);
    return rc;
}

void ini_free(struct ini_file *f)
{
    for (size_t i = 0; i < f->n_sections; i++) {
        struct ini_section *s = &f->sections[i];
        for (size_t j = 0; j < s->n_entries; j++) {
            free(s->entries[j].key);
            free(s->entries[j].value);
        }
        free(s->entries);
        free(s->name);
    }
    free(f->sections);
    memset(f, 0, sizeof(*f));
}

const struct ini_entry *ini_find(const struct ini_section *s, const char *key)
{
    for (size_t i = 0; i < s->n_entries; i++)
        if (strcmp(s->entries[i].key, key) == 0)
            return &s->entries[i];
    return NULL;
}
