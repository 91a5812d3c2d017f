/* Pad framing: checksums (including the Modbus CRC check value) and formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "padframe.h"

static void checksums(void **state)
{
    (void)state;
    const uint8_t modbus[] = {0x01, 0x03, 0x00, 0x00, 0x00, 0x01}; /* read 1 register */
    assert_int_equal(pad_checksum(PAD_SUM_CRC16_MODBUS, modbus, sizeof(modbus)), 0x0A84);
    const uint8_t check[] = "123456789"; /* the CRC-16/MODBUS check value */
    assert_int_equal(pad_checksum(PAD_SUM_CRC16_MODBUS, check, 9), 0x4B37);
    const uint8_t b[] = {0x01, 0x02, 0xFF};
    assert_int_equal(pad_checksum(PAD_SUM_XOR, b, 3), 0xFC);
    assert_int_equal(pad_checksum(PAD_SUM_SUM8, b, 3), 0x02);
}

static void crc_frames_roundtrip(void **state)
{
    (void)state;
    struct pad_format f = {0};
    char err[120];
    const char *kv[][2] = {{"start", "0xAA"}, {"length", "6"}, {"address", "1"}, {"key", "2"},
                           {"checksum", "crc16-modbus"}, {"checksum_from", "1"}, {"checksum_at", "3"},
                           {"end", "0x55"}};
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(pad_format_set(&f, kv[i][0], kv[i][1], err, sizeof(err)), 0);
    assert_int_equal(pad_format_check(&f, err, sizeof(err)), 0);
    uint8_t fr[6] = {0xAA, 0x04, 0x02, 0, 0, 0x55};
    pad_put_checksum(&f, fr, 6, 3);
    f.length = 4; /* the CRC would not fit */
    assert_int_equal(pad_format_check(&f, err, sizeof(err)), -1);
    f.length = 6;
    struct pad_decoder d;
    pad_decoder_init(&d, &f);
    pad_decoder_feed(&d, fr, 6);
    struct pad_frame out;
    struct pad_error e;
    assert_int_equal(pad_decoder_next(&d, &out, &e), PAD_FRAME);
    assert_int_equal(out.address, 4);
    assert_int_equal(out.key, 2);
    assert_int_equal(pad_format_set(&f, "checksum", "md5", err, sizeof(err)), -1);
    assert_int_equal(pad_format_set(&f, "colour", "1", err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checksums),
        cmocka_unit_test(crc_frames_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
