/* The HID report-descriptor parser on real-world descriptors and broken ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "hid.h"
#include "hid_profile.h"

/* HID 1.11 appendix B.1: the boot keyboard */
static const uint8_t boot_keyboard[] = {
    0x05, 0x01, 0x09, 0x06, 0xA1, 0x01, 0x05, 0x07, 0x19, 0xE0, 0x29, 0xE7, 0x15, 0x00, 0x25, 0x01,
    0x75, 0x01, 0x95, 0x08, 0x81, 0x02, 0x95, 0x01, 0x75, 0x08, 0x81, 0x01, 0x95, 0x05, 0x75, 0x01,
    0x05, 0x08, 0x19, 0x01, 0x29, 0x05, 0x91, 0x02, 0x95, 0x01, 0x75, 0x03, 0x91, 0x01, 0x95, 0x06,
    0x75, 0x08, 0x15, 0x00, 0x25, 0x65, 0x05, 0x07, 0x19, 0x00, 0x29, 0x65, 0x81, 0x00, 0xC0};

/* a consumer-control remote: report id 2, AC Zoom In / Out / Zoom as bits */
static const uint8_t consumer_remote[] = {
    0x05, 0x0C, 0x09, 0x01, 0xA1, 0x01, 0x85, 0x02, 0x15, 0x00, 0x25, 0x01, 0x75, 0x01,
    0x95, 0x03, 0x0A, 0x2D, 0x02, 0x0A, 0x2E, 0x02, 0x0A, 0x2F, 0x02, 0x81, 0x02,
    0x95, 0x05, 0x81, 0x03, 0xC0};

/* a vendor-defined keypad: 8 input bytes, 8 output bytes */
static const uint8_t vendor_keypad[] = {
    0x06, 0x00, 0xFF, 0x09, 0x01, 0xA1, 0x01, 0x15, 0x00, 0x26, 0xFF, 0x00, 0x75, 0x08,
    0x95, 0x08, 0x09, 0x01, 0x81, 0x02, 0x95, 0x08, 0x09, 0x02, 0x91, 0x02, 0xC0};

static struct hid_map map;

static void boot_keyboard_fields(void **state)
{
    (void)state;
    struct hid_error err;
    assert_int_equal(hid_parse(boot_keyboard, sizeof(boot_keyboard), &map, &err), 0);
    assert_false(map.uses_report_ids);
    assert_int_equal(map.report_bits[HID_INPUT][0], 64);
    assert_int_equal(map.report_bits[HID_OUTPUT][0], 8);
    /* 8 modifier variables + 1 key array; 5 LED variables */
    int inputs = 0, arrays = 0, outputs = 0;
    for (size_t i = 0; i < map.n_fields; i++) {
        inputs += map.fields[i].kind == HID_INPUT;
        arrays += map.fields[i].is_array;
        outputs += map.fields[i].kind == HID_OUTPUT;
    }
    assert_int_equal(inputs, 9);
    assert_int_equal(arrays, 1);
    assert_int_equal(outputs, 5);
    const uint8_t report[8] = {0x02, 0, 0x04, 0x57, 0, 0, 0, 0}; /* left shift, a, keypad + */
    struct hid_value v[64];
    int n = hid_extract(&map, report, sizeof(report), v, 64, &err);
    int shift = 0, a = 0, plus = 0;
    for (int i = 0; i < n; i++) {
        shift |= v[i].usage == 0xE1 && v[i].value == 1;
        a |= v[i].usage == 0x04 && v[i].is_array;
        plus |= v[i].usage == 0x57 && v[i].usage_page == 0x07;
    }
    assert_true(shift && a && plus);
    /* the LED output report: Num Lock on */
    struct hid_value led = {0x08, 0x01, 1, false};
    uint8_t out[8];
    assert_int_equal(hid_build(&map, HID_OUTPUT, 0, &led, 1, out, sizeof(out), &err), 1);
    assert_int_equal(out[0], 0x01);
    struct hid_value bogus = {0x0C, 0x22D, 1, false};
    assert_int_equal(hid_build(&map, HID_OUTPUT, 0, &bogus, 1, out, sizeof(out), &err), -1);
}

static void consumer_remote_with_report_id(void **state)
{
    (void)state;
    struct hid_error err;
    assert_int_equal(hid_parse(consumer_remote, sizeof(consumer_remote), &map, &err), 0);
    assert_true(map.uses_report_ids);
    assert_int_equal(map.report_bits[HID_INPUT][2], 8);
    const uint8_t report[] = {0x02, 0x02}; /* zoom out */
    struct hid_value v[8];
    int n = hid_extract(&map, report, sizeof(report), v, 8, &err);
    assert_int_equal(n, 3);
    assert_int_equal(v[0].usage, 0x22D);
    assert_int_equal(v[0].value, 0);
    assert_int_equal(v[1].usage, 0x22E);
    assert_int_equal(v[1].value, 1);
    assert_int_equal(v[1].usage_page, 0x0C);
    const uint8_t unknown_id[] = {0x07, 0x01};
    assert_int_equal(hid_extract(&map, unknown_id, 2, v, 8, &err), -1);
    const uint8_t short_report[] = {0x02};
    assert_int_equal(hid_extract(&map, short_report, 1, v, 8, &err), -1);
}

static void vendor_keypad_output(void **state)
{
    (void)state;
    struct hid_error err;
    assert_int_equal(hid_parse(vendor_keypad, sizeof(vendor_keypad), &map, &err), 0);
    assert_int_equal(map.report_bits[HID_INPUT][0], 64);
    assert_int_equal(map.report_bits[HID_OUTPUT][0], 64);
    struct hid_value v = {0xFF00, 0x02, 0x7F, false};
    uint8_t out[16];
    assert_int_equal(hid_build(&map, HID_OUTPUT, 0, &v, 1, out, sizeof(out), &err), 8);
    assert_int_equal(out[0], 0x7F);
}

static void malformed_descriptors_refused(void **state)
{
    (void)state;
    static const struct {
        uint8_t bytes[16];
        size_t len;
        const char *why;
    } bad[] = {
        {{0xA1, 0x01, 0xC0, 0xC0}, 4, "end collection without"},
        {{0xA1, 0x01}, 2, "never ended"},
        {{0x75, 0x40, 0x95, 0x01, 0x81, 0x02}, 6, "report size 64"},
        {{0x75, 0x08, 0x96, 0xFF, 0xFF, 0x81, 0x02}, 7, "report count 65535"},
        {{0x26, 0xFF}, 2, "needs 2 data byte(s)"},
        {{0xB4}, 1, "pop without push"},
        {{0xFE, 0x05, 0x00}, 3, "long item runs past"},
        {{0x85, 0x00}, 2, "report id 0"},
    };
    struct hid_error err;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (hid_parse(bad[i].bytes, bad[i].len, &map, &err) != -1)
            fail_msg("descriptor %zu accepted", i);
        if (!strstr(err.message, bad[i].why))
            fail_msg("descriptor %zu: '%s' does not say '%s'", i, err.message, bad[i].why);
    }
}

static const char *const actions[] = {"zoom_in", "zoom_out", "rate", NULL};

static void profile_errors_name_file_and_line(void **state)
{
    (void)state;
    static struct profile p;
    char err[512];
    const char *cases[][2] = {
        {"[profile]\nname = x\nmatch = *\n[input]\nconsumer:0x022D = explode\n", "x.ini:5: unknown action"},
        {"[profile]\nname = x\nmatch = 12:34:56\n", "x.ini:3: match:"},
        {"[profile]\nname = x\n", "x.ini:1: [profile] needs match"},
        {"[profile]\nname = x\nmatch = *\n[input]\nplanet:1 = zoom_in\n", "x.ini:5: unknown usage page 'planet'"},
        {"[profile]\nname = x\nmatch = *\n[input]\nraw:zz = zoom_in\n", "x.ini:5: raw pattern"},
        {"[profile]\nname = x\nmatch = *\n[output]\nset_zoom = 01 {value} {value}\n", "x.ini:5: output 'set_zoom'"},
        {"[profile]\nname = x\nmatch = *\ncolour = red\n", "x.ini:4: unknown key 'colour'"},
        {"[input]\nconsumer:0x022D = zoom_in\n", "x.ini:1: no [profile] section"},
        {"[profile]\nname = x\nmatch = *\n[lights]\n", "x.ini:4: unknown section [lights]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (profile_parse(cases[i][0], strlen(cases[i][0]), "x.ini", actions, &p, err, sizeof(err)) != -1)
            fail_msg("profile %zu accepted", i);
        if (!strstr(err, cases[i][1]))
            fail_msg("profile %zu: '%s' does not say '%s'", i, err, cases[i][1]);
    }
}

static void profile_selection(void **state)
{
    (void)state;
    static struct profile ps[3];
    char err[256];
    const char *any = "[profile]\nname = any\nmatch = *\npriority = -100\n";
    const char *one = "[profile]\nname = one\nmatch = 1209:A11E 1209:A11F\n";
    const char *page = "[profile]\nname = page\nmatch = *\nusage_page = 0x0C\n";
    assert_int_equal(profile_parse(any, strlen(any), "a", actions, &ps[0], err, sizeof(err)), 0);
    assert_int_equal(profile_parse(one, strlen(one), "b", actions, &ps[1], err, sizeof(err)), 0);
    assert_int_equal(profile_parse(page, strlen(page), "c", actions, &ps[2], err, sizeof(err)), 0);
    struct profile_device a = {0x1209, 0xA11F, 0xFF00, 0, ""}, b = {0x1234, 0x0001, 0x0C, 0, ""},
                          c = {0x1234, 0x0001, 0x01, 0, "ACME Keypad"};
    assert_string_equal(profile_select(ps, 3, NULL, &a)->name, "one");
    assert_string_equal(profile_select(ps, 3, NULL, &b)->name, "page");
    assert_string_equal(profile_select(ps, 3, NULL, &c)->name, "any");
    assert_string_equal(profile_select(ps, 3, "any", &a)->name, "any");
    assert_null(profile_select(ps, 3, "missing", &a));
    /* interface and product narrow a match */
    static struct profile narrow;
    const char *txt = "[profile]\nname = narrow\nmatch = 1234:0001\ninterface = 1\nproduct = ACME\n";
    assert_int_equal(profile_parse(txt, strlen(txt), "d", actions, &narrow, err, sizeof(err)), 0);
    assert_null(profile_select(&narrow, 1, NULL, &c)); /* interface 0 */
    c.interface = 1;
    assert_string_equal(profile_select(&narrow, 1, NULL, &c)->name, "narrow");
    c.product = "Other Keypad";
    assert_null(profile_select(&narrow, 1, NULL, &c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(boot_keyboard_fields),
        cmocka_unit_test(consumer_remote_with_report_id),
        cmocka_unit_test(vendor_keypad_output),
        cmocka_unit_test(malformed_descriptors_refused),
        cmocka_unit_test(profile_errors_name_file_and_line),
        cmocka_unit_test(profile_selection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
