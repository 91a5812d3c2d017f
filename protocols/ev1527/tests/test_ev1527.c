/* EV1527 receivers: the published RF-bridge example, code splitting, acks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "ev1527.h"

static void rfbridge_example_from_protocols_md(void **state)
{
    (void)state;
    static const uint8_t frame[] = {0xAA, 0xA4, 0x1F, 0x40, 0x01, 0x2C, 0x03, 0x84, 0xA1, 0xB2, 0xC5, 0x55};
    struct ev_decoder d;
    ev_decoder_init(&d, EV_FORMAT_RFBRIDGE);
    ev_decoder_feed(&d, frame, sizeof(frame));
    struct ev_code c;
    struct ev_error e;
    assert_int_equal(ev_decoder_next(&d, &c, &e), EV_CODE);
    assert_int_equal(c.code, 0xA1B2C5);
    assert_int_equal(c.address, 0xA1B2C);
    assert_int_equal(c.key, 5);
    assert_int_equal(ev_decoder_next(&d, &c, &e), EV_NEED_MORE);
    char hex[7];
    ev_code_hex(c.code, hex);
    assert_string_equal(hex, "A1B2C5");
    assert_memory_equal(ev_rfbridge_ack, "\xAA\xA0\x55", 3);
}

static void fddf_both_lengths(void **state)
{
    (void)state;
    static const uint8_t in[] = {0xFD, 0x12, 0x34, 0x56, 0xDF, 0xFD, 0x0A, 0xBC, 0xD2, 0x77, 0xDF};
    struct ev_decoder d;
    ev_decoder_init(&d, EV_FORMAT_FDDF);
    ev_decoder_feed(&d, in, sizeof(in));
    struct ev_code c;
    struct ev_error e;
    assert_int_equal(ev_decoder_next(&d, &c, &e), EV_CODE);
    assert_int_equal(c.code, 0x123456);
    assert_int_equal(ev_decoder_next(&d, &c, &e), EV_CODE);
    assert_int_equal(c.code, 0x0ABCD2);
    assert_int_equal(c.key, 2);
}

static void keyboard_typing(void **state)
{
    (void)state;
    struct ev_decoder d;
    ev_decoder_init(&d, EV_FORMAT_KEYBOARD);
    const uint8_t keys[] = {0x04, 0x1E, 0x05, 0x1F, 0x06, 0x22, 0x28}; /* a1b2c5 Enter */
    struct ev_code c;
    struct ev_error e;
    enum ev_next r = EV_NEED_MORE;
    for (size_t i = 0; i < sizeof(keys); i++) {
        uint8_t down[8] = {0, 0, keys[i]}, up[8] = {0};
        r = ev_keyboard_report(&d, down, 8, &c, &e);
        if (i + 1 < sizeof(keys))
            assert_int_equal(r, EV_NEED_MORE);
        assert_int_equal(ev_keyboard_report(&d, up, 8, &c, &e) == EV_NEED_MORE, 1);
        if (i + 1 == sizeof(keys))
            break;
    }
    assert_int_equal(r, EV_CODE);
    assert_int_equal(c.code, 0xA1B2C5);
    uint8_t bad[3] = {0};
    assert_int_equal(ev_keyboard_report(&d, bad, 3, &c, &e), EV_ERROR);
}

static void format_names(void **state)
{
    (void)state;
    enum ev_format f;
    assert_int_equal(ev_format_parse("rfbridge", &f), 0);
    assert_int_equal(f, EV_FORMAT_RFBRIDGE);
    assert_string_equal(ev_format_name(EV_FORMAT_FDDF), "fd-df");
    assert_int_equal(ev_format_parse("morse", &f), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfbridge_example_from_protocols_md),
        cmocka_unit_test(fddf_both_lengths),
        cmocka_unit_test(keyboard_typing),
        cmocka_unit_test(format_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
