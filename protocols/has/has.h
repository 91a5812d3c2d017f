/*
 * Hearing-assist GATT values (Bluetooth SIG HAS 1.0, VCS 1.0, BAS; Android
 * ASHA): decoders for what a hearing aid notifies or answers, encoders for
 * what the host writes.  Pure; short, over-long or unknown values are errors.
 */
#ifndef AGW_PROTOCOL_HAS_H
#define AGW_PROTOCOL_HAS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HAS_UUID_SERVICE "00001854-0000-1000-8000-00805f9b34fb"
#define HAS_UUID_FEATURES "00002bda-0000-1000-8000-00805f9b34fb"
#define HAS_UUID_CONTROL_POINT "00002bdb-0000-1000-8000-00805f9b34fb"
#define HAS_UUID_ACTIVE_PRESET "00002bdc-0000-1000-8000-00805f9b34fb"
#define VCS_UUID_SERVICE "00001844-0000-1000-8000-00805f9b34fb"
#define VCS_UUID_STATE "00002b7d-0000-1000-8000-00805f9b34fb"
#define VCS_UUID_CONTROL_POINT "00002b7e-0000-1000-8000-00805f9b34fb"
#define BAS_UUID_SERVICE "0000180f-0000-1000-8000-00805f9b34fb"
#define BAS_UUID_LEVEL "00002a19-0000-1000-8000-00805f9b34fb"
#define ASHA_UUID_SERVICE "0000fdf0-0000-1000-8000-00805f9b34fb"
#define ASHA_UUID_PROPERTIES "6333651e-c481-4a3e-9169-7c902aad37bb"

struct has_error {
    char message[120];
};

/* Hearing Aid Features (0x2BDA) */
enum has_type { HAS_BINAURAL = 0, HAS_MONAURAL = 1, HAS_BANDED = 2 };
struct has_features {
    enum has_type type;
    bool preset_sync, independent_presets, dynamic_presets, writable_presets;
};
int has_parse_features(const uint8_t *v, size_t len, struct has_features *out, struct has_error *err);
const char *has_type_name(enum has_type t);

/* Preset control point (0x2BDB) */
enum {
    HAS_OP_READ_PRESETS = 0x01, HAS_OP_READ_PRESET_RESPONSE = 0x02, HAS_OP_PRESET_CHANGED = 0x03,
    HAS_OP_WRITE_NAME = 0x04, HAS_OP_SET_ACTIVE = 0x05, HAS_OP_SET_NEXT = 0x06,
    HAS_OP_SET_PREVIOUS = 0x07,
};
enum { HAS_CHANGE_GENERIC = 0, HAS_CHANGE_DELETED = 1, HAS_CHANGE_AVAILABLE = 2,
       HAS_CHANGE_UNAVAILABLE = 3 };

#define HAS_NAME_MAX 40

struct has_preset {
    uint8_t index;
    bool writable, available;
    char name[HAS_NAME_MAX + 1]; /* UTF-8, NUL-terminated */
};

struct has_cp_message {
    uint8_t opcode;            /* READ_PRESET_RESPONSE or PRESET_CHANGED */
    bool is_last;
    uint8_t change_id;         /* PRESET_CHANGED */
    uint8_t prev_index;        /* PRESET_CHANGED, generic update */
    uint8_t index;             /* the preset concerned */
    struct has_preset preset;  /* READ_PRESET_RESPONSE and generic updates */
};
int has_parse_cp(const uint8_t *v, size_t len, struct has_cp_message *out, struct has_error *err);
size_t has_encode_read_presets(uint8_t start_index, uint8_t count, uint8_t out[3]);
size_t has_encode_set_active(uint8_t index, uint8_t out[2]);
size_t has_encode_simple(uint8_t opcode, uint8_t out[1]); /* set next / previous */
/* An ATT error a hearing aid answers a control-point write with, by name. */
const char *has_cp_error_name(uint8_t att_error);

/* Active Preset Index (0x2BDC): 0 = none */
int has_parse_active(const uint8_t *v, size_t len, uint8_t *index, struct has_error *err);

/* Volume Control Service */
struct vcs_state {
    uint8_t volume;
    bool mute;
    uint8_t change_counter;
};
enum { VCS_OP_DOWN = 0, VCS_OP_UP = 1, VCS_OP_UNMUTE_DOWN = 2, VCS_OP_UNMUTE_UP = 3,
       VCS_OP_SET_ABSOLUTE = 4, VCS_OP_UNMUTE = 5, VCS_OP_MUTE = 6 };
int vcs_parse_state(const uint8_t *v, size_t len, struct vcs_state *out, struct has_error *err);
size_t vcs_encode(uint8_t opcode, uint8_t change_counter, uint8_t volume, uint8_t out[3]);
const char *vcs_error_name(uint8_t att_error);

/* Battery Level (0x2A19): 0-100 */
int bas_parse_level(const uint8_t *v, size_t len, uint8_t *pct, struct has_error *err);

/* ASHA ReadOnlyProperties (17 bytes) */
struct asha_properties {
    uint8_t version;
    bool right_side, binaural, csis;
    uint8_t hisync_id[8];
    uint8_t feature_map;
    uint16_t render_delay;
    uint16_t codecs;
};
int asha_parse_properties(const uint8_t *v, size_t len, struct asha_properties *out,
                          struct has_error *err);
#endif
