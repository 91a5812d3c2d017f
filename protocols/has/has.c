#include "has.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(struct has_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct has_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

static int exact(const char *what, size_t len, size_t want, struct has_error *err)
{
    return len == want ? 0 : fail(err, "%s of %zu byte(s), expected %zu", what, len, want);
}

int has_parse_features(const uint8_t *v, size_t len, struct has_features *out, struct has_error *err)
{
    if (exact("Hearing Aid Features", len, 1, err) < 0)
        return -1;
    if ((v[0] & 3) == 3)
        return fail(err, "hearing aid type 3 is reserved");
    *out = (struct has_features){(enum has_type)(v[0] & 3), (v[0] >> 2) & 1, (v[0] >> 3) & 1,
                                 (v[0] >> 4) & 1, (v[0] >> 5) & 1};
    return 0;
}

const char *has_type_name(enum has_type t)
{
    return t == HAS_MONAURAL ? "monaural" : t == HAS_BANDED ? "banded" : "binaural";
}

/* Name: 1-40 bytes of UTF-8; anything not valid UTF-8 is refused. */
static int take_name(const uint8_t *v, size_t len, char *out, struct has_error *err)
{
    if (len < 1 || len > HAS_NAME_MAX)
        return fail(err, "preset name of %zu byte(s) (1-%d)", len, HAS_NAME_MAX);
    for (size_t i = 0; i < len;) {
        uint8_t c = v[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!n || i + n > len || (c < 0x20))
            return fail(err, "preset name is not UTF-8 text (byte %zu)", i);
        for (size_t k = 1; k < n; k++)
            if ((v[i + k] & 0xC0) != 0x80)
                return fail(err, "preset name is not UTF-8 text (byte %zu)", i + k);
        i += n;
    }
    memcpy(out, v, len);
    out[len] = '\0';
    return 0;
}

static int take_preset(const uint8_t *v, size_t len, struct has_preset *p, struct has_error *err)
{
    if (len < 3)
        return fail(err, "preset record of %zu byte(s), at least 3", len);
    p->index = v[0];
    if (p->index == 0)
        return fail(err, "preset index 0 is not a preset");
    p->writable = v[1] & 1;
    p->available = (v[1] >> 1) & 1;
    return take_name(v + 2, len - 2, p->name, err);
}

int has_parse_cp(const uint8_t *v, size_t len, struct has_cp_message *out, struct has_error *err)
{
    memset(out, 0, sizeof(*out));
    if (len < 1)
        return fail(err, "empty control point value");
    out->opcode = v[0];
    if (v[0] == HAS_OP_READ_PRESET_RESPONSE) {
        if (len < 2)
            return fail(err, "read preset response without IsLast");
        out->is_last = v[1] != 0;
        if (take_preset(v + 2, len - 2, &out->preset, err) < 0)
            return -1;
        out->index = out->preset.index;
        return 0;
    }
    if (v[0] != HAS_OP_PRESET_CHANGED)
        return fail(err, "unknown control point opcode 0x%02x", v[0]);
    if (len < 4)
        return fail(err, "preset changed of %zu byte(s), at least 4", len);
    out->change_id = v[1];
    out->is_last = v[2] != 0;
    switch (out->change_id) {
    case HAS_CHANGE_GENERIC:
        if (len < 4 + 3)
            return fail(err, "generic update of %zu byte(s), at least 7", len);
        out->prev_index = v[3];
        if (take_preset(v + 4, len - 4, &out->preset, err) < 0)
            return -1;
        out->index = out->preset.index;
        return 0;
    case HAS_CHANGE_DELETED:
    case HAS_CHANGE_AVAILABLE:
    case HAS_CHANGE_UNAVAILABLE:
        if (exact("preset change", len, 4, err) < 0)
            return -1;
        out->index = v[3];
        return 0;
    default:
        return fail(err, "unknown preset ChangeId %u", out->change_id);
    }
}

size_t has_encode_read_presets(uint8_t start_index, uint8_t count, uint8_t out[3])
{
    out[0] = HAS_OP_READ_PRESETS;
    out[1] = start_index;
    out[2] = count;
    return 3;
}

size_t has_encode_set_active(uint8_t index, uint8_t out[2])
{
    out[0] = HAS_OP_SET_ACTIVE;
    out[1] = index;
    return 2;
}

size_t has_encode_simple(uint8_t opcode, uint8_t out[1])
{
    out[0] = opcode;
    return 1;
}

const char *has_cp_error_name(uint8_t e)
{
    switch (e) {
    case 0x80: return "invalid_opcode";
    case 0x81: return "write_name_not_allowed";
    case 0x82: return "preset_sync_not_supported";
    case 0x83: return "preset_operation_not_possible";
    case 0x84: return "invalid_parameters_length";
    default: return "att_error";
    }
}

int has_parse_active(const uint8_t *v, size_t len, uint8_t *index, struct has_error *err)
{
    if (exact("Active Preset Index", len, 1, err) < 0)
        return -1;
    *index = v[0];
    return 0;
}

int vcs_parse_state(const uint8_t *v, size_t len, struct vcs_state *out, struct has_error *err)
{
    if (exact("Volume State", len, 3, err) < 0)
        return -1;
    if (v[1] > 1)
        return fail(err, "mute value %u (0 or 1)", v[1]);
    *out = (struct vcs_state){v[0], v[1] == 1, v[2]};
    return 0;
}

size_t vcs_encode(uint8_t opcode, uint8_t change_counter, uint8_t volume, uint8_t out[3])
{
    out[0] = opcode;
    out[1] = change_counter;
    if (opcode == VCS_OP_SET_ABSOLUTE) {
        out[2] = volume;
        return 3;
    }
    return 2;
}

const char *vcs_error_name(uint8_t e)
{
    return e == 0x80 ? "invalid_change_counter" : e == 0x81 ? "opcode_not_supported" : "att_error";
}

int bas_parse_level(const uint8_t *v, size_t len, uint8_t *pct, struct has_error *err)
{
    if (exact("Battery Level", len, 1, err) < 0)
        return -1;
    if (v[0] > 100)
        return fail(err, "battery level %u%% above 100", v[0]);
    *pct = v[0];
    return 0;
}

int asha_parse_properties(const uint8_t *v, size_t len, struct asha_properties *out,
                          struct has_error *err)
{
    if (exact("ASHA ReadOnlyProperties", len, 17, err) < 0)
        return -1;
    if (v[0] != 0x01)
        return fail(err, "ASHA version %u (only 1 is known)", v[0]);
    out->version = v[0];
    out->right_side = v[1] & 1;
    out->binaural = (v[1] >> 1) & 1;
    out->csis = (v[1] >> 2) & 1;
    memcpy(out->hisync_id, v + 2, 8);
    out->feature_map = v[10];
    out->render_delay = (uint16_t)(v[11] | (v[12] << 8));
    out->codecs = (uint16_t)(v[15] | (v[16] << 8));
    return 0;
}
