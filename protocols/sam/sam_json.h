/* A decoded card as the data of an idcard/<dev>/read event (docs/CONTRACT.md value conventions). */
#ifndef AGW_PROTOCOL_SAM_JSON_H
#define AGW_PROTOCOL_SAM_JSON_H
#include <jansson.h>

#include "sam.h"

/* The full record; photo as base64, fingerprint only as has_fingerprint.
 * Empty fields are omitted, never null. */
json_t *sam_card_to_json(const struct sam_card *card, const struct sam_read *read);
/* Standard base64 with padding; out needs 4*((len+2)/3)+1 bytes. */
void sam_base64(const uint8_t *in, size_t len, char *out);
#endif
