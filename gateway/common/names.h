/* The names a hall gives its gateway, devices and apps. */
#ifndef AGW_NAMES_H
#define AGW_NAMES_H
#include <stdbool.h>

/* [A-Za-z0-9_.-]{1,64}: safe in a topic and a file name. */
bool config_valid_name(const char *name);
#endif
