#include "sam_json.h"

#include <stdlib.h>
#include <string.h>

void sam_base64(const uint8_t *in, size_t len, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? abc[v & 63] : '=';
    }
    out[o] = '\0';
}

static void put(json_t *o, const char *key, const char *value)
{
    if (value && *value)
        json_object_set_new(o, key, json_string(value));
}

json_t *sam_card_to_json(const struct sam_card *c, const struct sam_read *read)
{
    json_t *o = json_object();
    json_object_set_new(o, "card_type", json_string(sam_card_type_name(c->type)));
    put(o, "name", c->name);
    put(o, "english_name", c->english_name);
    put(o, "gender", c->gender);
    put(o, "nation", c->nation);
    put(o, "nation_code", c->nation_code);
    put(o, "birth_date", c->birth_date);
    put(o, "address", c->address);
    put(o, "id_number", c->id_number);
    put(o, "issuer", c->issuer);
    put(o, "issuer_code", c->issuer_code);
    put(o, "valid_from", c->valid_from);
    put(o, "valid_until", c->valid_until);
    put(o, "pass_number", c->pass_number);
    put(o, "issue_count", c->issue_count);
    put(o, "nationality", c->nationality);
    put(o, "card_version", c->card_version);
    put(o, "renewal_count", c->renewal_count);
    put(o, "previous_card_link", c->previous_card_link);
    if (read && read->photo_len) {
        char *b64 = malloc(4 * ((read->photo_len + 2) / 3) + 1);
        if (b64) {
            sam_base64(read->photo, read->photo_len, b64);
            json_object_set_new(o, "photo_wlt", json_string(b64));
            free(b64);
        }
    }
    json_object_set_new(o, "has_fingerprint", json_boolean(read && read->fingerprint_len > 0));
    return o;
}
