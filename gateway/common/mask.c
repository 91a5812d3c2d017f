#define _DEFAULT_SOURCE
#include "mask.h"

#include <stdlib.h>
#include <string.h>

bool mask_has_personal(const json_t *data, const struct agw_personal_field *fields)
{
    if (!json_is_object(data))
        return false;
    for (const struct agw_personal_field *f = fields; f && f->mask != AGW_MASK_END; f++)
        if (json_object_get(data, f->key))
            return true;
    return false;
}

static size_t utf8_char_len(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    for (size_t i = 1; i < n; i++)
        if (s[i] == '\0')
            return i;
    return n;
}

static json_t *mask_name(const char *s)
{
    if (!*s)
        return json_string("");
    char out[8];
    size_t n = utf8_char_len(s);
    memcpy(out, s, n);
    out[n] = '*';
    out[n + 1] = '\0';
    return json_string(out);
}

/* Numbers (ASCII): keep_head characters and keep_tail kept, the rest '*'. */
static json_t *mask_middle(const char *s, size_t keep_head, size_t keep_tail)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = (i < keep_head || i + keep_tail >= n) ? s[i] : '*';
    out[n] = '\0';
    json_t *v = json_string(out);
    free(out);
    return v;
}

static json_t *mask_id_number(const char *s)
{
    size_t n = strlen(s);
    return mask_middle(s, n > 10 ? 6 : 0, n > 10 ? 4 : (n > 4 ? 2 : 0));
}

/* 社保卡 卡号: "K12345670" -> "K******70"; too short to keep anything: all '*'. */
static json_t *mask_card_number(const char *s)
{
    return strlen(s) > 4 ? mask_middle(s, 1, 2) : mask_middle(s, 0, 0);
}

static json_t *mask_year(const char *s)
{
    if (strlen(s) < 4)
        return json_string("");
    char year[5];
    memcpy(year, s, 4);
    year[4] = '\0';
    return json_string(year);
}

/* A scanned code: at most its first 8 characters and never more than half of
 * them (UTF-8 characters, not bytes), then one '*'. */
static json_t *mask_head(const char *s)
{
    size_t chars = 0;
    for (const char *c = s; *c; c += utf8_char_len(c))
        chars++;
    size_t keep = chars / 2 < 8 ? chars / 2 : 8, bytes = 0;
    for (size_t i = 0; i < keep; i++)
        bytes += utf8_char_len(s + bytes);
    char *out = malloc(bytes + 2);
    if (!out)
        return NULL;
    memcpy(out, s, bytes);
    out[bytes] = '*';
    out[bytes + 1] = '\0';
    json_t *v = json_string(out);
    free(out);
    return v;
}

static json_t *mask_value(const json_t *v, enum agw_mask how)
{
    if (how == AGW_MASK_DROP || !json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    switch (how) {
    case AGW_MASK_NAME: return mask_name(s);
    case AGW_MASK_ID_NUMBER: return mask_id_number(s);
    case AGW_MASK_YEAR: return mask_year(s);
    case AGW_MASK_CARD_NUMBER: return mask_card_number(s);
    case AGW_MASK_HEAD: return mask_head(s);
    default: return NULL;
    }
}

json_t *mask_public_view(const json_t *data, const struct agw_personal_field *fields)
{
    json_t *out = json_deep_copy(data);
    if (!out || !json_is_object(out))
        return out;
    for (const struct agw_personal_field *f = fields; f && f->mask != AGW_MASK_END; f++) {
        json_t *v = json_object_get(out, f->key);
        if (!v)
            continue;
        json_t *masked = mask_value(v, f->mask);
        mask_wipe_decref(json_incref(v)); /* the copy held personal data too */
        if (masked)
            json_object_set_new(out, f->key, masked);
        else
            json_object_del(out, f->key);
    }
    json_object_set_new(out, "masked", json_true());
    return out;
}

void mask_wipe_decref(json_t *v)
{
    if (!v)
        return;
    if (json_is_string(v)) {
        explicit_bzero((char *)json_string_value(v), json_string_length(v));
    } else if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach(v, key, child) mask_wipe_decref(json_incref(child));
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) mask_wipe_decref(json_incref(child));
    }
    json_decref(v);
}

void mask_wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}
