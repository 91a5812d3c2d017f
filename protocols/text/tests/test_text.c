/* UTF-8 and GBK: what is refused, and the round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "text.h"

static void utf8_sequences(void **state)
{
    (void)state;
    assert_int_equal(text_utf8_sequence((const uint8_t *)"A", 1), 1);
    assert_int_equal(text_utf8_sequence((const uint8_t *)"\xE7\xA4\xBE", 3), 3);
    assert_int_equal(text_utf8_sequence((const uint8_t *)"\xE7\xA4\xBE", 2), 0); /* cut */
    assert_int_equal(text_utf8_sequence((const uint8_t *)"\xC0\x80", 2), 0);     /* overlong */
    assert_int_equal(text_utf8_sequence((const uint8_t *)"\xED\xA0\x80", 3), 0); /* surrogate */
}

static void gbk_both_ways(void **state)
{
    (void)state;
    uint8_t gbk[16];
    size_t n = text_utf8_to_gbk("社保A", gbk, sizeof(gbk));
    assert_int_equal(n, 5);
    assert_memory_equal(gbk, "\xC9\xE7\xB1\xA3" "A", 5);
    char back[32];
    size_t bad;
    assert_int_equal(text_gbk_to_utf8(gbk, n, back, sizeof(back), &bad), 0);
    assert_string_equal(back, "社保A");
    assert_int_equal(text_utf8_to_gbk("社保", gbk, 3), 2); /* never half a character */
    assert_int_equal(text_gbk_to_utf8((const uint8_t *)"A\xFF", 2, back, sizeof(back), &bad), -1);
    assert_int_equal(bad, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_sequences),
        cmocka_unit_test(gbk_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
