/* The names a hall gives its gateway, devices and apps. */
#ifndef AGW_NAMES_H
#define AGW_NAMES_H
#include <stdbool.h>
#include <stddef.h>

/* [A-Za-z0-9_.-]{1,64}: safe in a topic and a file name. */
bool config_valid_name(const char *name);

/* Lists of names in the configuration are words apart (spaces, tabs or commas). */
/* Whether word (len bytes) is one of list's (NULL: none); any_case for host names and origins. */
bool word_listed(const char *list, const char *word, size_t len, bool any_case);
/* The next word of list at *p, into buf ("" at the end). */
const char *next_word(const char **p, char *buf, size_t len);
#endif
