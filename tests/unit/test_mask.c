/* The public view of personal data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "mask.h"

static const struct agw_personal_field fields[] = {
    {"name", AGW_MASK_NAME},        {"id_number", AGW_MASK_ID_NUMBER},
    {"birth_date", AGW_MASK_YEAR},  {"address", AGW_MASK_DROP},
    {"photo_wlt", AGW_MASK_DROP},   {NULL, AGW_MASK_END},
};

static void resident_card_is_masked(void **state)
{
    (void)state;
    json_t *full = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", "张三", "id_number",
                             "11010519491231002X", "birth_date", "1949-12-31", "address",
                             "北京市西城区", "photo_wlt", "AAAA", "gender", "male");
    assert_true(mask_has_personal(full, fields));
    json_t *pub = mask_public_view(full, fields);
    assert_string_equal(json_string_value(json_object_get(pub, "name")), "张*");
    assert_string_equal(json_string_value(json_object_get(pub, "id_number")), "110105********002X");
    assert_string_equal(json_string_value(json_object_get(pub, "birth_date")), "1949");
    assert_null(json_object_get(pub, "address"));
    assert_null(json_object_get(pub, "photo_wlt"));
    assert_string_equal(json_string_value(json_object_get(pub, "gender")), "male");
    assert_true(json_is_true(json_object_get(pub, "masked")));
    /* the full record is untouched by masking */
    assert_string_equal(json_string_value(json_object_get(full, "name")), "张三");
    json_decref(pub);
    mask_wipe_decref(full);
}

static void short_and_odd_values(void **state)
{
    (void)state;
    json_t *full = json_pack("{s:s, s:i, s:s}", "id_number", "AB12345", "name", 5, "birth_date", "19");
    json_t *pub = mask_public_view(full, fields);
    assert_string_equal(json_string_value(json_object_get(pub, "id_number")), "*****45");
    assert_null(json_object_get(pub, "name")); /* not a string: dropped, never leaked */
    assert_string_equal(json_string_value(json_object_get(pub, "birth_date")), "");
    json_decref(pub);
    json_decref(full);
}

static void sscard_is_masked(void **state)
{
    (void)state;
    static const struct agw_personal_field sscard[] = {
        {"card_number", AGW_MASK_CARD_NUMBER}, {"ssn", AGW_MASK_ID_NUMBER},
        {"birth_place", AGW_MASK_DROP}, {NULL, AGW_MASK_END}};
    json_t *full = json_pack("{s:s, s:s, s:s}", "card_number", "K12345670", "ssn",
                             "11010519491231002X", "birth_place", "110105");
    json_t *pub = mask_public_view(full, sscard);
    assert_string_equal(json_string_value(json_object_get(pub, "card_number")), "K******70");
    assert_string_equal(json_string_value(json_object_get(pub, "ssn")), "110105********002X");
    assert_null(json_object_get(pub, "birth_place"));
    json_decref(pub);
    json_decref(full);
    full = json_pack("{s:s}", "card_number", "K12");
    pub = mask_public_view(full, sscard);
    assert_string_equal(json_string_value(json_object_get(pub, "card_number")), "***");
    json_decref(pub);
    json_decref(full);
}

static void scanned_text_keeps_at_most_half_and_8(void **state)
{
    (void)state;
    static const struct agw_personal_field scan[] = {{"text", AGW_MASK_HEAD}, {NULL, AGW_MASK_END}};
    static const char *const cases[][2] = {
        {"https://example.org/appointment/A012", "https://*"}, /* 8 of 36 */
        {"ABCDEF", "ABC*"},                                   /* half of 6 */
        {"社会保障卡电子码", "社会保障*"},                     /* characters, not bytes */
        {"X", "*"},
        {"", "*"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *full = json_pack("{s:s}", "text", cases[i][0]);
        json_t *pub = mask_public_view(full, scan);
        assert_string_equal(json_string_value(json_object_get(pub, "text")), cases[i][1]);
        json_decref(pub);
        json_decref(full);
    }
}

static void no_personal_fields(void **state)
{
    (void)state;
    json_t *data = json_pack("{s:i}", "count", 1);
    assert_false(mask_has_personal(data, fields));
    assert_false(mask_has_personal(data, NULL));
    json_decref(data);
}

static void wipe_zeroes_strings(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:s, s:[s]}", "a", "secret", "b", "inner");
    json_t *a = json_incref(json_object_get(v, "a"));
    mask_wipe_decref(v);
    assert_int_equal(json_string_value(a)[0], '\0');
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resident_card_is_masked),
        cmocka_unit_test(short_and_odd_values),
        cmocka_unit_test(sscard_is_masked),
        cmocka_unit_test(scanned_text_keeps_at_most_half_and_8),
        cmocka_unit_test(no_personal_fields),
        cmocka_unit_test(wipe_zeroes_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
