/* accessgwctl profiles: the device profiles on disk (with their errors) and,
 * when the gateway answers, which device uses which. */
#ifndef AGW_CTL_PROFILES_H
#define AGW_CTL_PROFILES_H
#include <jansson.h>
#include <stdio.h>

/* dirs: colon-separated; devices: the gateway's `devices` result or NULL. */
int profiles_print(FILE *out, const char *dirs, json_t *devices);
#endif
