/* The caller's sentence: the examples of issue 31 and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "callout.h"

static void a012_to_window_3(void **state)
{
    (void)state;
    char out[CALLOUT_SENTENCE_MAX], err[160];
    assert_int_equal(callout_sentence("A012", "3号窗口", out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "请A零一二号到三号窗口办理");
    assert_int_equal(callout_sentence("B7", "12号窗口", out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "请B七号到十二号窗口办理");
}

static void refused(void **state)
{
    (void)state;
    char out[CALLOUT_SENTENCE_MAX], err[160];
    assert_int_equal(callout_sentence("A 1", "3号", out, sizeof(out), err, sizeof(err)), -1);
    assert_int_equal(callout_sentence("A1", "\xC0\x80", out, sizeof(out), err, sizeof(err)), -1);
    assert_int_equal(callout_sentence("A1", "3号", out, 8, err, sizeof(err)), -1); /* too small */
    assert_int_equal(callout_chars("窗口"), 2);
    assert_int_equal(callout_chars("a\tb"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a012_to_window_3),
        cmocka_unit_test(refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
