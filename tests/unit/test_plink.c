/* The plugin link's codec: golden bytes, every message through and back, and
 * the malformed records a broken plugin host could send, each refused with
 * the byte where it went wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "plink.h"

static uint8_t buf[PLINK_RECORD_MAX];

static int next(const uint8_t *rec, size_t len, size_t *off, struct plink_msg *m, char *err)
{
    static struct plink_attach storage;
    return plink_next(rec, len, off, m, &storage, err, 160);
}

static void golden_exited(void **state)
{
    (void)state;
    struct plink_writer w;
    plink_writer_init(&w, buf, sizeof(buf));
    assert_true(plink_put_exited(&w, "a"));
    static const uint8_t want[] = {5, 0, 0, 0, PLINK_EXITED, 1, 0, 'a', 0};
    assert_int_equal(w.len, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
}

static void golden_event(void **state)
{
    (void)state;
    struct plink_writer w;
    plink_writer_init(&w, buf, sizeof(buf));
    assert_true(plink_put_event(&w, "d", "c", "e", true, 0x0102, 7, "{}"));
    static const uint8_t want[] = {
        33, 0, 0, 0, PLINK_EVENT, 1, 0, 'd', 0, 1, 0, 'c', 0, 1, 0, 'e', 0, 1, /* personal */
        0x02, 0x01, 0, 0, 0, 0, 0, 0,                                           /* sec */
        7, 0, 0, 0,                                                             /* nsec */
        2, 0, 0, 0, '{', '}', 0};
    assert_int_equal(w.len, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
}

static void golden_open(void **state)
{
    (void)state;
    struct plink_writer w;
    plink_writer_init(&w, buf, sizeof(buf));
    assert_true(plink_put_open(&w, "a"));
    static const uint8_t want[] = {5, 0, 0, 0, PLINK_OPEN, 1, 0, 'a', 0};
    assert_int_equal(PLINK_OPEN, 22);
    assert_int_equal(w.len, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
}

static void every_message_round_trips_in_one_record(void **state)
{
    (void)state;
    struct plink_writer w;
    plink_writer_init(&w, buf, sizeof(buf));
    struct plink_attach a = {.id = "bell-1", .path = "/dev/ttyUSB0", .location = "Zone A",
                             .syspath = "", .transport = 1, .baud = 9600, .n_settings = 2};
    a.settings[0] = (struct plink_setting){"format", "fd-df", "gw.ini:12"};
    a.settings[1] = (struct plink_setting){"button.A1B2C5", "emergency, 无障碍卫生间", ""};
    a.state = "{\"open\":[]}";
    assert_true(plink_put_attach(&w, &a));
    assert_true(plink_put_detach(&w, "bell-1", true));
    assert_true(plink_put_command(&w, "bell-1", "bell-1", "ack", 42, "{\"call\":\"c1\"}"));
    assert_true(plink_put_event(&w, "pad-3", "evaluation", "rated", false, 1795406400, 999999999,
                                "{\"score\":5}"));
    assert_true(plink_put_reply(&w, "bell-1", 42, -4, NULL));
    assert_true(plink_put_fd(&w, "bell-1", 13, "/dev/ttyUSB0: Permission denied"));
    assert_true(plink_put_saved(&w, "bell-1", 28, "state_dir: No space left on device"));
    assert_true(plink_put_open(&w, "bell-1"));
    assert_true(plink_put_save(&w, "bell-1", "{\"open\":[\"c1\"]}"));
    assert_true(plink_put_snapshot(&w, "padbus-1", 2, "no answer", "{\"profile\":\"x\"}",
                                   "[{\"id\":\"pad-3\",\"location\":\"Window 3\"}]"));
    assert_true(plink_put_exited(&w, "bell-1"));
    assert_true(plink_put_tick(&w));

    struct plink_msg m;
    char err[160];
    size_t off = 0;
    assert_int_equal(next(buf, w.len, &off, &m, err), 1);
    assert_int_equal(m.type, PLINK_ATTACH);
    assert_string_equal(m.attach->id, "bell-1");
    assert_string_equal(m.attach->path, "/dev/ttyUSB0");
    assert_string_equal(m.attach->location, "Zone A");
    assert_string_equal(m.attach->syspath, "");
    assert_int_equal(m.attach->transport, 1);
    assert_int_equal(m.attach->baud, 9600);
    assert_int_equal(m.attach->n_settings, 2);
    assert_string_equal(m.attach->settings[0].where, "gw.ini:12");
    assert_string_equal(m.attach->settings[1].value, "emergency, 无障碍卫生间");
    assert_string_equal(m.attach->state, "{\"open\":[]}");
    assert_int_equal(next(buf, w.len, &off, &m, err), 1);
    assert_int_equal(m.type, PLINK_DETACH);
    assert_true(m.flag);
    assert_int_equal(next(buf, w.len, &off, &m, err), 1);
    assert_int_equal(m.type, PLINK_COMMAND);
    assert_string_equal(m.s2, "ack");
    assert_int_equal(m.token, 42);
    assert_string_equal(m.json, "{\"call\":\"c1\"}");
    assert_int_equal(next(buf, w.len, &off, &m, err), 1);
    assert_int_equal(m.type, PLINK_EVENT);
    assert_string_equal(m.device, "pad-3");
    assert_string_equal(m.s1, "evaluation");
    assert_false(m.flag);
    assert_int_equal(m.sec, 1795406400);
    assert_int_equal(m.nsec, 999999999);
    assert_int_equal(next(buf, w.len, &off, &m, err), 1);
    assert_int_equal(m.type, PLINK_REPLY);
    assert_int_equal(m.status, -4);
    assert_string_equal(m.json, "");
    assert_int_equal(next(buf, w.len, &off, &m, err), 1);
    assert_int_equal(m.type, PLINK_FD);
    assert_string_equal(m.device, "bell-1");
    assert_int_equal(m.status, 13);
    assert_string_equal(m.s1, "/dev/ttyUSB0: Permission denied");
    assert_int_equal(next(buf, w.len, &off, &m, err), 1);
    assert_int_equal(m.type, PLINK_SAVED);
    assert_int_equal(m.status, 28);
    assert_string_equal(m.s1, "state_dir: No space left on device");
    assert_int_equal(next(buf, w.len, &off, &m, err), 1);
    assert_int_equal(m.type, PLINK_OPEN);
    assert_string_equal(m.device, "bell-1");
    assert_int_equal(next(buf, w.len, &off, &m, err), 1);
    assert_int_equal(m.type, PLINK_SAVE);
    assert_string_equal(m.json, "{\"open\":[\"c1\"]}");
    assert_int_equal(next(buf, w.len, &off, &m, err), 1);
    assert_int_equal(m.type, PLINK_SNAPSHOT);
    assert_int_equal(m.status, 2);
    assert_string_equal(m.s1, "no answer");
    assert_string_equal(m.json2, "[{\"id\":\"pad-3\",\"location\":\"Window 3\"}]");
    assert_int_equal(next(buf, w.len, &off, &m, err), 1);
    assert_int_equal(m.type, PLINK_EXITED);
    assert_int_equal(next(buf, w.len, &off, &m, err), 1);
    assert_int_equal(m.type, PLINK_TICK);
    assert_int_equal(next(buf, w.len, &off, &m, err), 0);
}

static void a_message_that_does_not_fit_leaves_the_record_as_it_was(void **state)
{
    (void)state;
    uint8_t small[32];
    struct plink_writer w;
    plink_writer_init(&w, small, sizeof(small));
    assert_true(plink_put_exited(&w, "a"));
    size_t before = w.len;
    assert_false(plink_put_event(&w, "device", "class", "event", false, 0, 0, "{\"x\":1}"));
    assert_int_equal(w.len, before);
    assert_true(plink_put_exited(&w, "b")); /* the writer still works */
}

static void expect_bad(const uint8_t *rec, size_t len, const char *why)
{
    struct plink_msg m;
    char err[160];
    size_t off = 0;
    assert_int_equal(next(rec, len, &off, &m, err), -1);
    assert_non_null(strstr(err, why));
    assert_int_equal(off, 0); /* nothing consumed */
}

static void malformed_records_are_refused_with_the_byte(void **state)
{
    (void)state;
    static const uint8_t short_len[] = {5, 0, 0};
    expect_bad(short_len, sizeof(short_len), "byte 0: message ends inside a number");
    static const uint8_t too_long[] = {50, 0, 0, 0, PLINK_EXITED, 1, 0, 'a', 0};
    expect_bad(too_long, sizeof(too_long), "message length runs past the record");
    static const uint8_t empty[] = {0, 0, 0, 0};
    expect_bad(empty, sizeof(empty), "message length runs past the record");
    static const uint8_t unterminated[] = {5, 0, 0, 0, PLINK_EXITED, 1, 0, 'a', 'b'};
    expect_bad(unterminated, sizeof(unterminated), "byte 7: string is not terminated");
    static const uint8_t inner_nul[] = {6, 0, 0, 0, PLINK_EXITED, 2, 0, 'a', 0, 0};
    expect_bad(inner_nul, sizeof(inner_nul), "string is not terminated where its length says");
    static const uint8_t string_past_end[] = {5, 0, 0, 0, PLINK_EXITED, 9, 0, 'a', 0};
    expect_bad(string_past_end, sizeof(string_past_end), "string runs past the end");
    static const uint8_t unknown[] = {1, 0, 0, 0, 99};
    expect_bad(unknown, sizeof(unknown), "byte 5: unknown message type");
    static const uint8_t trailing[] = {6, 0, 0, 0, PLINK_EXITED, 1, 0, 'a', 0, 'x'};
    expect_bad(trailing, sizeof(trailing), "byte 9: message has bytes after its last field");
    /* a child may not send ATTACH: the parent decodes without attach storage */
    struct plink_writer w;
    plink_writer_init(&w, buf, sizeof(buf));
    struct plink_attach a = {.id = "x", .path = "", .location = "", .syspath = ""};
    assert_true(plink_put_attach(&w, &a));
    struct plink_msg m;
    char err[160];
    size_t off = 0;
    assert_int_equal(plink_next(buf, w.len, &off, &m, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "ATTACH is not expected here"));
    /* nanoseconds must be below a second */
    plink_writer_init(&w, buf, sizeof(buf));
    assert_true(plink_put_event(&w, "d", "c", "e", false, 0, 1000000000u, "{}"));
    expect_bad(buf, w.len, "nanoseconds out of range");
}

static void too_many_settings_are_refused(void **state)
{
    (void)state;
    struct plink_writer w;
    plink_writer_init(&w, buf, sizeof(buf));
    struct plink_attach a = {.id = "x", .path = "", .location = "", .syspath = ""};
    assert_true(plink_put_attach(&w, &a));
    /* n_settings, patched: the last field before the state's empty text (u32 length, NUL) */
    buf[w.len - 7] = (uint8_t)((PLINK_MAX_SETTINGS + 1) & 0xff);
    buf[w.len - 6] = (uint8_t)((PLINK_MAX_SETTINGS + 1) >> 8);
    expect_bad(buf, w.len, "too many settings");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(golden_exited),
        cmocka_unit_test(golden_event),
        cmocka_unit_test(golden_open),
        cmocka_unit_test(every_message_round_trips_in_one_record),
        cmocka_unit_test(a_message_that_does_not_fit_leaves_the_record_as_it_was),
        cmocka_unit_test(malformed_records_are_refused_with_the_byte),
        cmocka_unit_test(too_many_settings_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
