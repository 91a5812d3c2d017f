/* The CloudEvents envelope: exact fields, parseable JSON, topic shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "envelope.h"

static struct event_meta sample(void)
{
    struct event_meta m = {"hall-1", "reader-1", "idcard", "read", true, 7, 1042, {0, 0}};
    m.time.tv_sec = 1795406400; /* 2026-11-23T04:00:00Z */
    m.time.tv_nsec = 123456789;
    return m;
}

static void envelope_has_every_field(void **state)
{
    (void)state;
    struct event_meta m = sample();
    size_t len;
    char *text = envelope_encode(&m, "{\"a\":1}", &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    json_t *o = json_loads(text, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "specversion")), "1.0");
    assert_string_equal(json_string_value(json_object_get(o, "id")), "hall-1:7:1042");
    assert_string_equal(json_string_value(json_object_get(o, "source")), "accessgw://hall-1/reader-1");
    assert_string_equal(json_string_value(json_object_get(o, "type")), "accessgw.idcard.read");
    assert_string_equal(json_string_value(json_object_get(o, "subject")), "reader-1");
    assert_string_equal(json_string_value(json_object_get(o, "time")), "2026-11-23T04:00:00.123456Z");
    assert_string_equal(json_string_value(json_object_get(o, "datacontenttype")), "application/json");
    assert_int_equal(json_integer_value(json_object_get(o, "epoch")), 7);
    assert_int_equal(json_integer_value(json_object_get(o, "seq")), 1042);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "data"), "a")), 1);
    json_decref(o);
    free(text);
}

/* Byte for byte: subscribers compare ids and parse by position-free JSON, but a golden
 * text catches any change of the hand-built encoder. */
static void envelope_is_exactly_this(void **state)
{
    (void)state;
    struct event_meta m = sample();
    size_t len;
    char *text = envelope_encode(&m, "{\"a\":1}", &len);
    static const char want[] =
        "{\"specversion\":\"1.0\",\"id\":\"hall-1:7:1042\",\"source\":\"accessgw://hall-1/reader-1\","
        "\"type\":\"accessgw.idcard.read\",\"subject\":\"reader-1\","
        "\"time\":\"2026-11-23T04:00:00.123456Z\",\"datacontenttype\":\"application/json\","
        "\"epoch\":7,\"seq\":1042,\"data\":{\"a\":1}}";
    assert_string_equal(text, want);
    assert_int_equal(len, strlen(want));
    free(text);
    m.device_source = false;
    m.epoch = 18446744073709551615ULL; /* the widest numbers */
    m.seq = 0;
    text = envelope_encode(&m, "{}", &len);
    assert_non_null(strstr(text, "\"id\":\"hall-1:18446744073709551615:0\",\"source\":\"accessgw://hall-1\","));
    assert_non_null(strstr(text, "\"epoch\":18446744073709551615,\"seq\":0,\"data\":{}}"));
    assert_int_equal(len, strlen(text));
    free(text);
}

/* A history slot's buffer serves event after event: written after the topic,
 * grown only when an event is larger, the same bytes as envelope_encode. */
static void a_buffer_is_reused(void **state)
{
    (void)state;
    struct event_meta m = sample();
    char *buf = NULL;
    size_t cap = 0;
    size_t n = envelope_encode_at(&m, "{\"a\":1}", &buf, &cap, 6);
    char *alone = envelope_encode(&m, "{\"a\":1}", NULL);
    assert_int_equal(n, strlen(alone));
    assert_string_equal(buf + 6, alone);
    assert_int_equal(cap, 6 + n + 1);
    char *first = buf;
    size_t small = envelope_encode_at(&m, "{}", &buf, &cap, 6);
    assert_ptr_equal(buf, first); /* smaller: the same buffer */
    assert_int_equal(cap, 6 + n + 1);
    assert_int_equal(strlen(buf + 6), small);
    size_t large = envelope_encode_at(&m, "{\"a\":\"a longer value than before\"}", &buf, &cap, 6);
    assert_int_equal(strlen(buf + 6), large);
    assert_true(cap > 6 + n + 1);
    free(alone);
    free(buf);
}

static void gateway_source_has_no_device(void **state)
{
    (void)state;
    struct event_meta m = sample();
    m.device_source = false;
    m.subject = "hall-1";
    m.cls = "gateway";
    m.event = "heartbeat";
    char *text = envelope_encode(&m, "{}", NULL);
    json_t *o = json_loads(text, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "source")), "accessgw://hall-1");
    json_decref(o);
    free(text);
}

static void topic_is_class_device_event(void **state)
{
    (void)state;
    struct event_meta m = sample();
    char buf[64];
    assert_int_equal(envelope_topic(buf, sizeof(buf), &m), (int)strlen("idcard/reader-1/read"));
    assert_string_equal(buf, "idcard/reader-1/read");
    assert_int_equal(envelope_topic(buf, 8, &m), -1);
    /* the bound is exact: 20 characters need 21 bytes with the NUL */
    assert_int_equal(envelope_topic(buf, 21, &m), 20);
    assert_string_equal(buf, "idcard/reader-1/read");
    assert_int_equal(envelope_topic(buf, 20, &m), -1);
}

static void names_are_checked(void **state)
{
    (void)state;
    assert_true(envelope_valid_name("preset-changed"));
    assert_true(envelope_valid_name("battery_low"));
    assert_false(envelope_valid_name(""));
    assert_false(envelope_valid_name("Read"));
    assert_false(envelope_valid_name("a/b"));
    assert_false(envelope_valid_name("a\"b"));
    assert_false(envelope_valid_name("0123456789012345678901234567890123456789012345678"));
}

/* A subscription's rule, as the uplink's forward list and accessgwctl watch apply it. */
static void topics_match_by_prefix(void **state)
{
    (void)state;
    char *prefixes[] = {"callbell/", "device/pad-3/"};
    assert_true(topic_has_prefix("callbell/bell-1/pressed", prefixes, 2));
    assert_true(topic_has_prefix("device/pad-3/state", prefixes, 2));
    assert_false(topic_has_prefix("device/pad-30/state", prefixes, 2));
    assert_false(topic_has_prefix("idcard/reader-1/read", prefixes, 2));
    assert_true(topic_has_prefix("idcard/reader-1/read", prefixes, 0)); /* no list: all */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(envelope_has_every_field),
        cmocka_unit_test(envelope_is_exactly_this),
        cmocka_unit_test(a_buffer_is_reused),
        cmocka_unit_test(gateway_source_has_no_device),
        cmocka_unit_test(topic_is_class_device_event),
        cmocka_unit_test(names_are_checked),
        cmocka_unit_test(topics_match_by_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
