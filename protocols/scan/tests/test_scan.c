/* The scanner codecs: the US table, CR LF across reads, the HID POS fields
 * found by usage, what scan_finish refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <linux/input.h>

#include "scan.h"

static void us_layout_by_position(void **state)
{
    (void)state;
    assert_int_equal(scan_us_key(KEY_A, false), 'a');
    assert_int_equal(scan_us_key(KEY_A, true), 'A');
    assert_int_equal(scan_us_key(KEY_2, true), '@');      /* not '"' as on a UK layout */
    assert_int_equal(scan_us_key(KEY_GRAVE, true), '~');
    assert_int_equal(scan_us_key(KEY_KP5, true), '5');
    assert_int_equal(scan_us_key(KEY_LEFTCTRL, false), 0);
    assert_int_equal(scan_us_key(100000, false), 0);      /* out of the table */
}

static int scans;
static char last[64];
static void count(void *ctx, const uint8_t *b, size_t n, enum scan_status s, const char sym[4])
{
    (void)ctx, (void)sym;
    scans++;
    if (s == SCAN_OK && n < sizeof(last)) {
        memcpy(last, b, n);
        last[n] = '\0';
    }
}

static void cr_lf_split_across_reads_is_one_end(void **state)
{
    (void)state;
    struct scan_lines l;
    scan_lines_init(&l);
    scans = 0;
    scan_lines_feed(&l, (const uint8_t *)"A012\r", 5, count, NULL);
    scan_lines_feed(&l, (const uint8_t *)"\nB7\r\n", 5, count, NULL);
    assert_int_equal(scans, 2);
    assert_string_equal(last, "B7");
}

static const uint8_t hhp_pos[] = {
    0x05, 0x8c, 0x09, 0x02, 0xa1, 0x01, 0x09, 0x12, 0xa1, 0x02, 0x85, 0x02, 0x15, 0x00, 0x26,
    0xff, 0x00, 0x75, 0x08, 0x95, 0x01, 0x05, 0x01, 0x09, 0x3b, 0x81, 0x02, 0x95, 0x03, 0x05,
    0x8c, 0x09, 0xfb, 0x09, 0xfc, 0x09, 0xfd, 0x81, 0x02, 0x95, 0x38, 0x09, 0xfe, 0x82, 0x02,
    0x01, 0x06, 0x66, 0xff, 0x95, 0x02, 0x09, 0x04, 0x09, 0x00, 0x81, 0x02, 0x05, 0x8c, 0x25,
    0x01, 0x75, 0x01, 0x95, 0x08, 0x09, 0xff, 0x81, 0x02, 0xc0, 0xc0};

static void pos_fields_are_found_by_usage(void **state)
{
    (void)state;
    static struct scan_pos p;
    char err[200];
    assert_int_equal(scan_pos_init(&p, hhp_pos, sizeof(hhp_pos), err, sizeof(err)), 0);
    assert_true(p.numbered);
    assert_int_equal(p.report_id, 2);
    assert_int_equal(p.count_bit, 0);
    assert_int_equal(p.aim_bit[0], 8);
    assert_int_equal(p.aim_bit[2], 24);
    assert_int_equal(p.data_bit, 32);
    assert_int_equal(p.data_count, 56);
    assert_int_equal(p.more_bit, (32 + 56 * 8 + 16));
    /* a count larger than the data field is capped, never read past it */
    uint8_t report[64] = {2, 200, ']', 'Q', '1', 'X'};
    scans = 0;
    scan_pos_report(&p, report, sizeof(report), count, NULL);
    assert_int_equal(scans, 1);
}

static void finish_refuses_what_is_not_text(void **state)
{
    (void)state;
    static struct scan_text t;
    struct scan_options o = {0};
    char err[160];
    assert_int_equal(scan_finish((const uint8_t *)"\xC0\x80", 2, "", &o, &t, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "byte 0"));
    assert_int_equal(scan_finish((const uint8_t *)"\xED\xA0\x80", 3, "", &o, &t, err, sizeof(err)), -1);
    assert_int_equal(scan_finish((const uint8_t *)"\xE7\xA4\xBE" "1", 4, "", &o, &t, err, sizeof(err)), 0);
    assert_int_equal(t.length, 2); /* characters, not bytes */
    assert_int_equal(scan_finish((const uint8_t *)"]Q", 2, "", &o, &t, err, sizeof(err)), 0);
    assert_string_equal(t.text, "]Q"); /* too short to be an AIM prefix */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(us_layout_by_position),
        cmocka_unit_test(cr_lf_split_across_reads_is_one_end),
        cmocka_unit_test(pos_fields_are_found_by_usage),
        cmocka_unit_test(finish_refuses_what_is_not_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
