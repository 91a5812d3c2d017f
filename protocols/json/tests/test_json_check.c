/* json_check_object against jansson, the parser it stands in for: on the hand
 * cases below, on every JSONTestSuite case (tests/JSONTestSuite/), each as it
 * is and as the value of an object.  Where the checker is sure, it must say
 * what jansson says; it may be unsure only where its header says so. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "json_check.h"

static enum json_check janssons_verdict(const char *text, size_t len)
{
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    enum json_check v = json_is_object(j) ? JSON_CHECK_OBJECT : JSON_CHECK_INVALID;
    json_decref(j);
    return v;
}

static enum json_check check(const char *text) { return json_check_object(text, strlen(text), NULL); }

static void objects_are_accepted(void **state)
{
    (void)state;
    static const char *const good[] = {
        "{}", " \t\r\n{ } \n", "{\"a\":1}", "{\"\":0}", "{\"a\":[1,2,{\"b\":null}],\"c\":true}",
        "{\"n\":-0.5,\"m\":0,\"k\":123456789012345}", "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
        "{\"u\":\"\\u00e9\\ud83d\\ude00\"}", "{\"zh\":\"张三 政务服务大厅\"}", "{\"e\":\"\xf0\x9f\x98\x80\"}",
        "{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":2}}", /* the same key in different objects */
        "{\"a\":1,\"b\":{\"x\":1},\"c\":1}",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (check(good[i]) != JSON_CHECK_OBJECT)
            fail_msg("refused: %s", good[i]);
        assert_int_equal(janssons_verdict(good[i], strlen(good[i])), JSON_CHECK_OBJECT);
    }
}

static void what_jansson_refuses_is_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", " ", "[]", "1", "\"s\"", "null", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
        "{\"a\":1}x", "{\"a\":1}{}", "{a:1}", "{'a':1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
        "{\"a\":-}", "{\"a\":1e}", "{\"a\":+1}", "{\"a\":tru}", "{\"a\":truex}", "{\"a\":NaN}",
        "{\"a\":1,\"a\":2}", "{\"a\":1,\"b\":{},\"a\":3}", "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud800\\u0041\"}",
        "{\"a\":\"\\x41\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":\"tab\there\"}", "{\"a\":\"\x01\"}",
        "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xe0\x80\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\xc3\"}", "{\"a\":\"open}",
        "{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\" 1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (check(bad[i]) != JSON_CHECK_INVALID)
            fail_msg("not refused: %s", bad[i]);
        if (janssons_verdict(bad[i], strlen(bad[i])) != JSON_CHECK_INVALID)
            fail_msg("jansson accepts what this test says it refuses: %s", bad[i]);
    }
}

static void the_byte_of_an_error_is_given(void **state)
{
    (void)state;
    size_t at = 0;
    assert_int_equal(json_check_object("{\"a\":1,\"a\":2}", 13, &at), JSON_CHECK_INVALID);
    assert_int_equal(at, 10); /* after the second "a" */
    assert_int_equal(json_check_object("{\"a\":[1,]}", 10, &at), JSON_CHECK_INVALID);
    assert_int_equal(at, 8);
}

/* Unsure only where jansson might say otherwise than a plain reading. */
static void unsure_where_the_header_says(void **state)
{
    (void)state;
    assert_int_equal(check("{\"a\":1,\"\\u0061\":2}"), JSON_CHECK_UNSURE); /* the same key */
    assert_int_equal(check("{\"\\n\":1}"), JSON_CHECK_UNSURE);
    assert_int_equal(check("{\"a\":1e400}"), JSON_CHECK_UNSURE);                /* overflows */
    assert_int_equal(check("{\"a\":9223372036854775808}"), JSON_CHECK_UNSURE); /* too big */
    assert_int_equal(check("{\"a\":1.5e3}"), JSON_CHECK_UNSURE);
    char deep[200] = "{\"a\":";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    for (int i = 0; i < 40; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    assert_int_equal(check(deep), JSON_CHECK_UNSURE);
    assert_int_equal(janssons_verdict(deep, strlen(deep)), JSON_CHECK_OBJECT);
    char many[4096] = "{";
    for (int i = 0; i < 200; i++)
        sprintf(many + strlen(many), "%s\"k%d\":%d", i ? "," : "", i, i);
    strcat(many, "}");
    assert_int_equal(check(many), JSON_CHECK_UNSURE); /* more keys than it remembers */
    /* unsure never hides a plain error before it */
    assert_int_equal(check("{\"a\":1,,\"\\n\":1}"), JSON_CHECK_INVALID);
}

static int agree(const char *name, const char *text, size_t len)
{
    enum json_check mine = json_check_object(text, len, NULL);
    if (mine == JSON_CHECK_UNSURE)
        return 0;
    enum json_check theirs = janssons_verdict(text, len);
    if (mine != theirs)
        fail_msg("%s: this checker says %d, jansson %d", name, mine, theirs);
    return 1;
}

static void every_json_test_suite_case_agrees_with_jansson(void **state)
{
    (void)state;
    DIR *d = opendir(JSON_TEST_SUITE);
    assert_non_null(d);
    int cases = 0, decided = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", JSON_TEST_SUITE, e->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static char text[32768], wrapped[32800];
        size_t len = fread(text, 1, sizeof(text), f);
        fclose(f);
        memcpy(wrapped, "{\"k\":", 5);
        memcpy(wrapped + 5, text, len);
        wrapped[len + 5] = '}';
        decided += agree(e->d_name, text, len) + agree(e->d_name, wrapped, len + 6);
        cases += 2;
    }
    closedir(d);
    assert_true(cases >= 600);
    assert_true(decided * 10 >= cases * 9); /* unsure is rare, not the way out */
    printf("JSONTestSuite: %d cases, %d decided here, all as jansson does\n", cases, decided);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(objects_are_accepted),
        cmocka_unit_test(what_jansson_refuses_is_refused),
        cmocka_unit_test(the_byte_of_an_error_is_given),
        cmocka_unit_test(unsure_where_the_header_says),
        cmocka_unit_test(every_json_test_suite_case_agrees_with_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
