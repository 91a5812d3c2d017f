/* A card read as the data of an sscard/<dev>/read event (docs/EVENTS.md):
 * fields the card lacks are absent, never null or empty. */
#ifndef AGW_PROTOCOL_SSCARD_JSON_H
#define AGW_PROTOCOL_SSCARD_JSON_H
#include <jansson.h>

#include "sscard.h"

json_t *sscard_record_to_json(const struct sscard_record *r);
#endif
