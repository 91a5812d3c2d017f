/* [app NAME]: a window's own application, allowed the full records of its own
 * window's devices (docs/CONTRACT.md, "Applications allowed full records"). */
#ifndef AGW_APPS_H
#define AGW_APPS_H
#include <stdbool.h>
#include <stddef.h>

#include "ini.h"

struct app_conf {
    const char *name;
    const char *token_file; /* its bearer token, checked as key files are */
    const char *devices;    /* space-separated device ids: the only ones it receives in full */
    const char *origins;    /* space-separated browser origins allowed (CORS); NULL: none */
    int line;               /* of the section header */
    int token_line;         /* of token_file */
};

/* Reads one [app NAME] section: 0, or -1 with the line at fault and why. */
int app_conf_read(const struct ini_section *s, const char *name, struct app_conf *out, int *line,
                  char *why, size_t whylen);
/* Whether id is one of the app's devices. */
bool app_has_device(const struct app_conf *a, const char *id);
#endif
