/* A small INI reader that remembers the line of every key, so that config
 * errors can name FILE:LINE.  Syntax: [section], key = value, full-line
 * comments starting with ';' or '#', inline comments after " ;". */
#ifndef AGW_INI_H
#define AGW_INI_H
#include <stddef.h>

struct ini_entry {
    char *key, *value;
    int line;
};

struct ini_section {
    char *name; /* the text between the brackets, whitespace-trimmed */
    int line;
    struct ini_entry *entries;
    size_t n_entries;
};

struct ini_file {
    struct ini_section *sections;
    size_t n_sections;
};

/* 0 on success; -1 with "FILE:LINE: message" in err. */
int ini_load(const char *path, struct ini_file *out, char *err, size_t errlen);
void ini_free(struct ini_file *f);
const struct ini_entry *ini_find(const struct ini_section *s, const char *key);
#endif
