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
/* What accessgwd sends accessgw-web of the apps' devices' events, one SOCK_SEQPACKET
 * record each (daemon/app_link.c, web/app_events.c): [flags] topic NUL envelope; flag 1:
 * the full twin of a masked event. */
#define APP_RECORD_MAX (256 * 1024)
/* The record into buf (malloc'd); its length, 0 when it is over APP_RECORD_MAX. */
size_t app_record_put(char **buf, const char *topic, size_t topic_len, const char *env,
                      size_t env_len, bool full);
/* A record's parts (pointing into rec); false when it is not one. */
bool app_record_take(const char *rec, size_t len, const char **topic, const char **env,
                     size_t *env_len, bool *full);

/* Whether id is one of the app's devices. */
bool app_has_device(const struct app_conf *a, const char *id);
#endif
