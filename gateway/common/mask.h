/* Personal data: the masked public view of an event, and wiping the full one. */
#ifndef AGW_MASK_H
#define AGW_MASK_H
#include <stdbool.h>
#include <jansson.h>

#include "accessgw/plugin.h"

/* True when data holds any of the declared personal fields. */
bool mask_has_personal(const json_t *data, const struct agw_personal_field *fields);
/* A deep copy of data with each declared field masked and "masked": true. */
json_t *mask_public_view(const json_t *data, const struct agw_personal_field *fields);
/* Overwrites every string held in v with zeros, then releases it. */
void mask_wipe_decref(json_t *v);
/* Overwrites and frees a string. */
void mask_wipe_free(char *s);
#endif
