/* A small INI parser that remembers the line of every key, so that config
 * and profile errors can name FILE:LINE.  Pure: text in, sections out.
 * Syntax: [section], key = value, full-line comments starting with ';' or
 * '#', inline comments after " ;". */
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

/* Parses text (name is the file name used in messages): 0 on success, or -1
 * with "NAME:LINE: message" in err. */
int ini_parse_text(const char *text, size_t len, const char *name, struct ini_file *out,
                   char *err, size_t errlen);
void ini_free(struct ini_file *f);
const struct ini_entry *ini_find(const struct ini_section *s, const char *key);
#endif
