/* Hearing-assist GATT values: byte vectors per message, and the errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "has.h"

static struct has_error err;

static void features(void **state)
{
    (void)state;
    struct has_features f;
    const uint8_t v[] = {0x31}; /* monaural, dynamic, writable */
    assert_int_equal(has_parse_features(v, 1, &f, &err), 0);
    assert_int_equal(f.type, HAS_MONAURAL);
    assert_true(f.dynamic_presets && f.writable_presets && !f.preset_sync);
    assert_string_equal(has_type_name(f.type), "monaural");
    const uint8_t reserved[] = {0x03};
    assert_int_equal(has_parse_features(reserved, 1, &f, &err), -1);
    assert_int_equal(has_parse_features(v, 0, &f, &err), -1);
    const uint8_t two[] = {0x00, 0x00};
    assert_int_equal(has_parse_features(two, 2, &f, &err), -1);
}

static void read_preset_response(void **state)
{
    (void)state;
    struct has_cp_message m;
    const uint8_t v[] = {0x02, 0x01, 0x03, 0x03, 'H', 'a', 'l', 'l'};
    assert_int_equal(has_parse_cp(v, sizeof(v), &m, &err), 0);
    assert_int_equal(m.opcode, HAS_OP_READ_PRESET_RESPONSE);
    assert_true(m.is_last);
    assert_int_equal(m.preset.index, 3);
    assert_true(m.preset.writable && m.preset.available);
    assert_string_equal(m.preset.name, "Hall");
    const uint8_t no_name[] = {0x02, 0x00, 0x01, 0x02};
    assert_int_equal(has_parse_cp(no_name, sizeof(no_name), &m, &err), -1);
    uint8_t long_name[2 + 2 + 41];
    memset(long_name, 'a', sizeof(long_name));
    long_name[0] = 0x02, long_name[1] = 0, long_name[2] = 1, long_name[3] = 2;
    assert_int_equal(has_parse_cp(long_name, sizeof(long_name), &m, &err), -1);
    const uint8_t bad_utf8[] = {0x02, 0x00, 0x01, 0x02, 0xC3};
    assert_int_equal(has_parse_cp(bad_utf8, sizeof(bad_utf8), &m, &err), -1);
    const uint8_t zh[] = {0x02, 0x01, 0x02, 0x02, 0xE5, 0xA4, 0xA7, 0xE5, 0x8E, 0x85}; /* 大厅 */
    assert_int_equal(has_parse_cp(zh, sizeof(zh), &m, &err), 0);
    assert_string_equal(m.preset.name, "大厅");
}

static void preset_changed(void **state)
{
    (void)state;
    struct has_cp_message m;
    const uint8_t generic[] = {0x03, 0x00, 0x01, 0x02, 0x05, 0x02, 'L', 'o', 'o', 'p'};
    assert_int_equal(has_parse_cp(generic, sizeof(generic), &m, &err), 0);
    assert_int_equal(m.change_id, HAS_CHANGE_GENERIC);
    assert_int_equal(m.prev_index, 2);
    assert_int_equal(m.index, 5);
    assert_string_equal(m.preset.name, "Loop");
    const uint8_t deleted[] = {0x03, 0x01, 0x01, 0x04};
    assert_int_equal(has_parse_cp(deleted, sizeof(deleted), &m, &err), 0);
    assert_int_equal(m.change_id, HAS_CHANGE_DELETED);
    assert_int_equal(m.index, 4);
    const uint8_t deleted_long[] = {0x03, 0x01, 0x01, 0x04, 0x00};
    assert_int_equal(has_parse_cp(deleted_long, sizeof(deleted_long), &m, &err), -1);
    const uint8_t unknown_change[] = {0x03, 0x09, 0x01, 0x04};
    assert_int_equal(has_parse_cp(unknown_change, sizeof(unknown_change), &m, &err), -1);
    const uint8_t unknown_op[] = {0x7E};
    assert_int_equal(has_parse_cp(unknown_op, 1, &m, &err), -1);
}

static void encoders(void **state)
{
    (void)state;
    uint8_t out[3];
    assert_int_equal(has_encode_read_presets(1, 0xFF, out), 3);
    assert_memory_equal(out, "\x01\x01\xFF", 3);
    assert_int_equal(has_encode_set_active(3, out), 2);
    assert_memory_equal(out, "\x05\x03", 2);
    assert_int_equal(has_encode_simple(HAS_OP_SET_NEXT, out), 1);
    assert_int_equal(out[0], 0x06);
    assert_int_equal(vcs_encode(VCS_OP_SET_ABSOLUTE, 7, 200, out), 3);
    assert_memory_equal(out, "\x04\x07\xC8", 3);
    assert_int_equal(vcs_encode(VCS_OP_MUTE, 8, 0, out), 2);
    assert_memory_equal(out, "\x06\x08", 2);
    assert_string_equal(has_cp_error_name(0x83), "preset_operation_not_possible");
    assert_string_equal(vcs_error_name(0x80), "invalid_change_counter");
}

static void volume_battery_active(void **state)
{
    (void)state;
    struct vcs_state s;
    const uint8_t v[] = {0x80, 0x01, 0x2A};
    assert_int_equal(vcs_parse_state(v, 3, &s, &err), 0);
    assert_int_equal(s.volume, 128);
    assert_true(s.mute);
    assert_int_equal(s.change_counter, 42);
    const uint8_t bad_mute[] = {0x80, 0x02, 0x00};
    assert_int_equal(vcs_parse_state(bad_mute, 3, &s, &err), -1);
    assert_int_equal(vcs_parse_state(v, 2, &s, &err), -1);
    uint8_t pct, idx;
    const uint8_t b[] = {85}, too_much[] = {101};
    assert_int_equal(bas_parse_level(b, 1, &pct, &err), 0);
    assert_int_equal(pct, 85);
    assert_int_equal(bas_parse_level(too_much, 1, &pct, &err), -1);
    assert_int_equal(has_parse_active(b, 1, &idx, &err), 0);
    assert_int_equal(has_parse_active(b, 0, &idx, &err), -1);
}

static void asha(void **state)
{
    (void)state;
    const uint8_t v[17] = {0x01, 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 0x01, 0x28, 0x00, 0, 0, 0x02, 0x00};
    struct asha_properties p;
    assert_int_equal(asha_parse_properties(v, 17, &p, &err), 0);
    assert_true(p.right_side && p.binaural && !p.csis);
    assert_int_equal(p.render_delay, 40);
    assert_int_equal(p.codecs, 2);
    assert_int_equal(p.hisync_id[7], 8);
    assert_int_equal(asha_parse_properties(v, 16, &p, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(features),        cmocka_unit_test(read_preset_response),
        cmocka_unit_test(preset_changed),  cmocka_unit_test(encoders),
        cmocka_unit_test(volume_battery_active), cmocka_unit_test(asha),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
