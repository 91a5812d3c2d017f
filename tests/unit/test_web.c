/* accessgw-web's pure parts: the SSE frame of an event and the EPOCH:SEQ position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "web.h"

static void frame_is_one_sse_event(void **state)
{
    (void)state;
    size_t len;
    const char json[] = "{\"id\":\"hall-1:7:42\",\"data\":{\"a\":1}}";
    char *f = web_sse_frame("callbell/bell-1/pressed", (struct journal_key){7, 42}, json,
                            sizeof(json) - 1, &len);
    assert_string_equal(f, "id: 7:42\nevent: callbell/bell-1/pressed\ndata: "
                           "{\"id\":\"hall-1:7:42\",\"data\":{\"a\":1}}\n\n");
    assert_int_equal(len, strlen(f));
    free(f);
    /* a newline inside the JSON would end the data field early: it becomes a space */
    f = web_sse_frame("a/b/c", (struct journal_key){1, 1}, "{\n}", 3, &len);
    assert_string_equal(f, "id: 1:1\nevent: a/b/c\ndata: { }\n\n");
    free(f);
    /* so would a raw CR (JSON whitespace; SSE ends a line at CR too): issue 25, item 10 */
    f = web_sse_frame("a/b/c", (struct journal_key){1, 1}, "{\r\"a\":\r\n1}", 10, &len);
    assert_string_equal(f, "id: 1:1\nevent: a/b/c\ndata: { \"a\":  1}\n\n");
    assert_null(strchr(f, '\r'));
    free(f);
}

static void positions(void **state)
{
    (void)state;
    struct journal_key k;
    assert_true(web_parse_position("7:42", &k));
    assert_int_equal(k.epoch, 7);
    assert_int_equal(k.seq, 42);
    assert_true(web_parse_position("0:0", &k));
    static const char *const bad[] = {"", "7", "7:", ":42", "7:42:1", "-1:2", "7:-2", "a:b",
                                      "7:42x", "99999999999999999999999:1", NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_false(web_parse_position(bad[i], &k));
    assert_false(web_parse_position(NULL, &k));
}

static void assets_are_compiled_in(void **state)
{
    (void)state;
    const struct web_asset *a = web_asset_find("/index.html");
    assert_non_null(a);
    assert_non_null(strstr(a->type, "text/html"));
    assert_non_null(strstr((const char *)a->data, "console.js"));
    assert_non_null(web_asset_find("/console.js"));
    assert_null(web_asset_find("/../etc/passwd"));
    assert_null(web_asset_find("/events"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_is_one_sse_event),
        cmocka_unit_test(positions),
        cmocka_unit_test(assets_are_compiled_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
