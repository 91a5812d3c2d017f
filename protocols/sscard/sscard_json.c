#include "sscard_json.h"

static void set_text(json_t *o, const char *key, const char *value)
{
    if (value && value[0])
        json_object_set_new(o, key, json_string(value));
}

json_t *sscard_record_to_json(const struct sscard_record *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    set_text(o, "card_number", r->card_number);
    set_text(o, "ssn", r->ssn);
    set_text(o, "name", r->name);
    set_text(o, "gender", r->gender);
    set_text(o, "nation_code", r->nation_code);
    set_text(o, "nation", r->nation);
    set_text(o, "birth_date", r->birth_date);
    set_text(o, "birth_place", r->birth_place);
    set_text(o, "issuer_region", r->issuer_region);
    set_text(o, "card_type", r->card_type);
    set_text(o, "card_version", r->card_version);
    set_text(o, "issued", r->issued);
    set_text(o, "valid_until", r->valid_until);
    if (r->holder_protected)
        json_object_set_new(o, "holder_protected", json_true());
    return o;
}
