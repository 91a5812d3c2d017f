/* The SSSE session: the first command, what it never sends, bad answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "sscard.h"

static const uint8_t select_ssse[] = {0x00, 0xA4, 0x04, 0x00, 0x0F, 0x73, 0x78, 0x31, 0x2E, 0x73,
                                      0x68, 0x2E, 0xC9, 0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF,
                                      0x00};

static void begins_with_select_by_name(void **state)
{
    (void)state;
    struct sscard_session s;
    assert_int_equal(sscard_begin(&s), SSCARD_SEND);
    assert_int_equal(s.apdu_len, sizeof(select_ssse));
    assert_memory_equal(s.apdu, select_ssse, sizeof(select_ssse));
}

static void answer_without_status_word_fails(void **state)
{
    (void)state;
    struct sscard_session s;
    sscard_begin(&s);
    assert_int_equal(sscard_feed(&s, (const uint8_t *)"\x90", 1), SSCARD_FAILED);
    assert_int_equal(s.reason, SSCARD_READ_FAILED);
    assert_int_equal(s.apdu_len, 0);
}

static void other_card_is_unknown(void **state)
{
    (void)state;
    struct sscard_session s;
    sscard_begin(&s);
    assert_int_equal(sscard_feed(&s, (const uint8_t *)"\x6A\x82", 2), SSCARD_FAILED);
    assert_int_equal(s.reason, SSCARD_UNKNOWN_CARD);
    assert_string_equal(sscard_reason_name(s.reason), "unknown_card");
}

/* Whatever the card answers, the session only ever asks SELECT, READ RECORD or
 * GET RESPONSE: never VERIFY (a PIN try), an authentication or a write. */
static void only_reads_whatever_the_answers(void **state)
{
    (void)state;
    static const uint8_t answers[][4] = {{0x61, 0x10}, {0x6C, 0x05}, {0x90, 0x00}, {0x69, 0x82},
                                         {0x6A, 0x83}, {0x01, 0x00, 0x90, 0x00}};
    for (size_t seed = 0; seed < 500; seed++) {
        struct sscard_session s;
        enum sscard_step step = sscard_begin(&s);
        size_t r = seed;
        for (int n = 0; step == SSCARD_SEND && n < 100; n++) {
            uint8_t ins = s.apdu[1];
            assert_true(ins == 0xA4 || ins == 0xB2 || ins == 0xC0);
            assert_int_equal(s.apdu[0], 0x00);
            size_t k = r % 6;
            r = r * 7 + 3;
            step = sscard_feed(&s, answers[k], k == 5 ? 4 : 2);
        }
        assert_int_not_equal(step, SSCARD_SEND); /* every session ends */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(begins_with_select_by_name),
        cmocka_unit_test(answer_without_status_word_fails),
        cmocka_unit_test(other_card_is_unknown),
        cmocka_unit_test(only_reads_whatever_the_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
