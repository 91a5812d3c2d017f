/* The HID report-descriptor parser on real-world descriptors and broken ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
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

static int count_fields(enum hid_kind kind, bool arrays_only)
{
    int n = 0;
    for (size_t i = 0; i < map.n_fields; i++)
        n += map.fields[i].kind == kind && (!arrays_only || map.fields[i].is_array);
    return n;
}

static void boot_keyboard_fields(void **state)
{
    (void)state;
    struct hid_error err;
    assert_int_equal(hid_parse(boot_keyboard, sizeof(boot_keyboard), &map, &err), 0);
    assert_false(map.numbered[HID_INPUT]);
    assert_int_equal(map.report_bits[HID_INPUT][0], 64);
    assert_int_equal(map.report_bits[HID_OUTPUT][0], 8);
    /* as the kernel: one field per main item with usages (modifiers, keys; LEDs) */
    assert_int_equal(count_fields(HID_INPUT, false), 2);
    assert_int_equal(count_fields(HID_INPUT, true), 1);
    assert_int_equal(count_fields(HID_OUTPUT, false), 1);
    const uint8_t report[8] = {0x02, 0, 0x04, 0x57, 0, 0, 0, 0}; /* left shift, a, keypad + */
    struct hid_value v[64];
    int n = hid_extract(&map, report, sizeof(report), v, 64, &err);
    assert_int_equal(n, 3); /* only what is active */
    int shift = 0, a = 0, plus = 0;
    for (int i = 0; i < n; i++) {
        shift |= v[i].usage == 0xE1 && v[i].value == 1;
        a |= v[i].usage == 0x04 && v[i].is_array;
        plus |= v[i].usage == 0x57 && v[i].usage_page == 0x07;
    }
    assert_true(shift && a && plus);
    /* ErrorRollOver in the key array: a phantom state the caller must ignore */
    const uint8_t rollover[8] = {0, 0, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01};
    assert_int_equal(hid_extract(&map, rollover, sizeof(rollover), v, 64, &err), HID_ROLLOVER);
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
    assert_true(map.numbered[HID_INPUT]);
    assert_int_equal(map.report_bits[HID_INPUT][2], 8);
    const uint8_t report[] = {0x02, 0x02}; /* zoom out */
    struct hid_value v[8];
    assert_int_equal(hid_extract(&map, report, sizeof(report), v, 8, &err), 1);
    assert_int_equal(v[0].usage, 0x22E);
    assert_int_equal(v[0].value, 1);
    assert_int_equal(v[0].usage_page, 0x0C);
    const uint8_t unknown_id[] = {0x07, 0x01};
    assert_int_equal(hid_extract(&map, unknown_id, 2, v, 8, &err), -1);
    /* a short report is zero-padded, as hid_report_raw_event does */
    const uint8_t short_report[] = {0x02};
    assert_int_equal(hid_extract(&map, short_report, 1, v, 8, &err), 0);
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

/* hid_parser_local keeps declaration order: a Usage Minimum/Maximum range
 * is expanded where it stands among the Usage items, and the last usage
 * repeats for the slots past the list (hid_add_field). */
static void mixed_usage_list_keeps_declaration_order(void **state)
{
    (void)state;
    static const uint8_t desc[] = {
        0x05, 0x0C, 0x09, 0x01, 0xA1, 0x01, 0x85, 0x01, 0x15, 0x00, 0x25, 0x01, 0x75, 0x01,
        0x95, 0x08,
        0x09, 0xE9,             /* Volume Up */
        0x09, 0xEA,             /* Volume Down */
        0x09, 0xE2,             /* Mute */
        0x19, 0xB5, 0x29, 0xB7, /* Scan Next Track .. Stop */
        0x09, 0xCD,             /* Play/Pause, then repeated for bit 7 */
        0x81, 0x02, 0xC0};
    static const uint16_t expect[8] = {0xE9, 0xEA, 0xE2, 0xB5, 0xB6, 0xB7, 0xCD, 0xCD};
    struct hid_error err;
    assert_int_equal(hid_parse(desc, sizeof(desc), &map, &err), 0);
    for (unsigned bit = 0; bit < 8; bit++) {
        uint8_t report[2] = {0x01, (uint8_t)(1u << bit)};
        struct hid_value v[4];
        assert_int_equal(hid_extract(&map, report, 2, v, 4, &err), 1);
        assert_int_equal(v[0].usage_page, 0x0C);
        if (v[0].usage != expect[bit])
            fail_msg("bit %u is usage 0x%x, the kernel says 0x%x", bit, (unsigned)v[0].usage, expect[bit]);
    }
    /* the same list as an array: index = value - logical minimum */
    static const uint8_t array_desc[] = {
        0x05, 0x01, 0x09, 0x80, 0xA1, 0x01, 0x15, 0x01, 0x25, 0x03, 0x75, 0x02, 0x95, 0x01,
        0x09, 0x82, 0x19, 0x81, 0x29, 0x81, 0x09, 0x83, /* Sleep, Power Down, Wake Up */
        0x81, 0x00, 0x75, 0x06, 0x81, 0x03, 0xC0};
    static const uint16_t array_expect[4] = {0, 0x82, 0x81, 0x83};
    assert_int_equal(hid_parse(array_desc, sizeof(array_desc), &map, &err), 0);
    for (uint8_t value = 1; value <= 3; value++) {
        struct hid_value v[2];
        assert_int_equal(hid_extract(&map, &value, 1, v, 2, &err), 1);
        assert_int_equal(v[0].usage_page, 0x01);
        assert_int_equal(v[0].usage, array_expect[value]);
    }
    uint8_t none = 0; /* below the logical minimum: nothing pressed */
    struct hid_value v[2];
    assert_int_equal(hid_extract(&map, &none, 1, v, 2, &err), 0);
}

/* Usages are completed with the Usage Page in force at the main item when
 * it was declared after them (hid_concatenate_last_usage_page). */
static void usage_page_after_usages(void **state)
{
    (void)state;
    static const uint8_t desc[] = {0x05, 0x08, 0x19, 0x00, 0x2A, 0xFF, 0x00, 0x05, 0x07, 0x15, 0x00,
                                   0x26, 0xFF, 0x00, 0x75, 0x08, 0x95, 0x01, 0x81, 0x00};
    struct hid_error err;
    assert_int_equal(hid_parse(desc, sizeof(desc), &map, &err), 0);
    uint8_t a = 0x04;
    struct hid_value v[2];
    assert_int_equal(hid_extract(&map, &a, 1, v, 2, &err), 1);
    assert_int_equal(v[0].usage_page, 0x07);
    assert_int_equal(v[0].usage, 0x04);
    /* a 4-byte usage keeps its own page */
    static const uint8_t ext[] = {0x05, 0x07, 0x0B, 0xE9, 0x00, 0x0C, 0x00, 0x15, 0x00, 0x25, 0x01,
                                  0x75, 0x01, 0x95, 0x01, 0x81, 0x02, 0x75, 0x07, 0x81, 0x03};
    assert_int_equal(hid_parse(ext, sizeof(ext), &map, &err), 0);
    uint8_t on = 1;
    assert_int_equal(hid_extract(&map, &on, 1, v, 2, &err), 1);
    assert_int_equal(v[0].usage_page, 0x0C);
    assert_int_equal(v[0].usage, 0xE9);
}

/* What the kernel accepts is accepted: Report Size 0 and up to 256 bits,
 * reports up to HID_MAX_BUFFER_SIZE, any number of usages per report. */
static void kernel_limits_not_ours(void **state)
{
    (void)state;
    struct hid_error err;
    static const uint8_t size0[] = {0x05, 0x01, 0x09, 0x39, 0x15, 0x00, 0x25, 0x07, 0x75, 0x00,
                                    0x95, 0x01, 0x81, 0x42};
    assert_int_equal(hid_parse(size0, sizeof(size0), &map, &err), 0);
    static const uint8_t size256[] = {0x06, 0x00, 0xFF, 0x09, 0x01, 0x76, 0x00, 0x01, 0x95, 0x02,
                                      0xB1, 0x02};
    assert_int_equal(hid_parse(size256, sizeof(size256), &map, &err), 0);
    assert_int_equal(map.report_bits[HID_FEATURE][0], 512);
    /* a 12288-slot vendor feature report of bytes: 12288 bytes */
    static const uint8_t big[] = {0x06, 0x00, 0xFF, 0x09, 0x01, 0x85, 0x44, 0x75, 0x08, 0x96, 0x00,
                                  0x30, 0xB1, 0x02};
    assert_int_equal(hid_parse(big, sizeof(big), &map, &err), 0);
    assert_int_equal(map.report_bits[HID_FEATURE][0x44], 12288 * 8);
    /* 300 one-bit buttons, each its own Usage item inside a range: 300 usages */
    static const uint8_t buttons[] = {0x05, 0x09, 0x19, 0x01, 0x2A, 0x2C, 0x01, 0x15, 0x00, 0x25,
                                      0x01, 0x75, 0x01, 0x96, 0x2C, 0x01, 0x81, 0x02};
    assert_int_equal(hid_parse(buttons, sizeof(buttons), &map, &err), 0);
    uint8_t report[38] = {0};
    report[37] = 0x08; /* bit 299: button 300 */
    struct hid_value v[4];
    assert_int_equal(hid_extract(&map, report, sizeof(report), v, 4, &err), 1);
    assert_int_equal(v[0].usage, 300);
}

static void malformed_descriptors_refused(void **state)
{
    (void)state;
    static const struct {
        uint8_t bytes[24];
        size_t len;
        const char *why;
        size_t offset;
    } bad[] = {
        {{0xA1, 0x01, 0xC0, 0xC0}, 4, "collection stack underflow", 3},
        {{0xA1, 0x01}, 2, "unbalanced collection", 2},
        {{0x76, 0x01, 0x01}, 3, "invalid report size 257", 0},
        {{0x75, 0x08, 0x96, 0x01, 0x30, 0x81, 0x02}, 7, "invalid report count 12289", 2},
        {{0x26, 0xFF}, 2, "item fetching failed", 0},
        {{0xB4}, 1, "stack underflow", 0},
        {{0xA4, 0xA4, 0xA4, 0xA4, 0xA4}, 5, "stack overflow", 4},
        {{0xFE, 0x05, 0x00}, 3, "unexpected long item", 0},
        {{0x85, 0x00}, 2, "report id 0 is invalid", 0},
        {{0x15, 0x05, 0x25, 0x01, 0x75, 0x08, 0x95, 0x01, 0x09, 0x01, 0x81, 0x02}, 12,
         "logical range invalid", 10},
        {{0xA9, 0x01, 0xA9, 0x01}, 4, "nested delimiters", 2},
        {{0xA9, 0x00}, 2, "bogus close delimiter", 0},
        {{0xA9, 0x01}, 2, "unbalanced delimiter", 2},
        {{0xF4, 0x00}, 2, "unexpected long item", 0},
        {{0x75, 0x08, 0x96, 0x00, 0x30, 0x09, 0x01, 0x81, 0x02, 0x81, 0x02}, 11, "too long", 9},
        {{0}, 0, "empty", 0},
    };
    struct hid_error err;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (hid_parse(bad[i].bytes, bad[i].len, &map, &err) != -1)
            fail_msg("descriptor %zu accepted", i);
        if (!strstr(err.message, bad[i].why))
            fail_msg("descriptor %zu: '%s' does not say '%s'", i, err.message, bad[i].why);
        if (err.offset != bad[i].offset)
            fail_msg("descriptor %zu: offset %zu, expected %zu", i, err.offset, bad[i].offset);
    }
    static uint8_t too_big[HID_MAX_DESCRIPTOR_SIZE + 1];
    assert_int_equal(hid_parse(too_big, sizeof(too_big), &map, &err), -1);
    assert_non_null(strstr(err.message, "at most 4096"));
    /* a range past HID_MAX_USAGES is cut short ("ignoring exceeding usage max")... */
    static const uint8_t clamped[] = {0x05, 0x09, 0x19, 0x01, 0x2A, 0x00, 0x31, 0x75, 0x01, 0x95,
                                      0x01, 0x81, 0x02};
    assert_int_equal(hid_parse(clamped, sizeof(clamped), &map, &err), 0);
    assert_int_equal(map.fields[0].n_usages, HID_MAX_USAGES);
    /* ... but one usage more is "usage index exceeded" */
    static const uint8_t exceeded[] = {0x05, 0x09, 0x19, 0x01, 0x2A, 0x00, 0x31, 0x09, 0x01, 0x75,
                                       0x01, 0x95, 0x01, 0x81, 0x02};
    assert_int_equal(hid_parse(exceeded, sizeof(exceeded), &map, &err), -1);
    assert_non_null(strstr(err.message, "usage index exceeded"));
    assert_int_equal(err.offset, 7);
}

/* ---- real descriptors ---- */

struct real {
    char source[128], name[96];
    uint8_t desc[HID_MAX_DESCRIPTOR_SIZE];
    size_t len;
};

static size_t hex_to_bytes(const char *hex, uint8_t *out, size_t max)
{
    size_t n = 0;
    for (; hex[0] && hex[1] && n < max; hex += 2) {
        unsigned b;
        if (sscanf(hex, "%2x", &b) != 1)
            break;
        out[n++] = (uint8_t)b;
    }
    return n;
}

static bool find_real(const char *name, struct real *r)
{
    FILE *f = fopen(HID_REAL_CORPUS, "r");
    assert_non_null(f);
    static char line[16384];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f)) {
        if (line[0] == '#')
            continue;
        char *src = strtok(line, "\t"), *dev = strtok(NULL, "\t"), *hex = strtok(NULL, "\t\n");
        if (!src || !dev || !hex || (name && strcmp(dev, name)))
            continue;
        snprintf(r->source, sizeof(r->source), "%s", src);
        snprintf(r->name, sizeof(r->name), "%s", dev);
        r->len = hex_to_bytes(hex, r->desc, sizeof(r->desc));
        found = true;
    }
    fclose(f);
    return found;
}

static void every_real_descriptor_parses(void **state)
{
    (void)state;
    FILE *f = fopen(HID_REAL_CORPUS, "r");
    assert_non_null(f);
    static char line[16384];
    static uint8_t desc[HID_MAX_DESCRIPTOR_SIZE];
    int parsed = 0;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#')
            continue;
        char *src = strtok(line, "\t"), *dev = strtok(NULL, "\t"), *hex = strtok(NULL, "\t\n");
        assert_non_null(hex);
        size_t n = hex_to_bytes(hex, desc, sizeof(desc));
        struct hid_error err;
        if (hid_parse(desc, n, &map, &err) < 0)
            fail_msg("%s %s: the kernel accepts it, we said byte %zu: %s", src, dev, err.offset,
                     err.message);
        parsed++;
    }
    fclose(f);
    assert_true(parsed >= 100);
}

static size_t total_usages(enum hid_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < map.n_fields; i++)
        if (map.fields[i].kind == kind)
            n += map.fields[i].n_usages > map.fields[i].count ? map.fields[i].n_usages
                                                              : map.fields[i].count;
    return n;
}

static void real_descriptors_beyond_old_limits(void **state)
{
    (void)state;
    static struct real r;
    struct hid_error err;
    /* Windows 8 touchscreen certification blob: a 256-byte feature report 0x44 */
    assert_true(find_real("advanced_silicon_2149_2306", &r));
    assert_int_equal(hid_parse(r.desc, r.len, &map, &err), 0);
    assert_true(map.report_bits[HID_FEATURE][0x44] > 256 * 8); /* 257 bytes, id not counted */
    /* N-Trig pen and touch: a 4094-byte input report */
    assert_true(find_real("n_trig_1b96_0c01", &r));
    assert_int_equal(hid_parse(r.desc, r.len, &map, &err), 0);
    assert_true(map.report_bits[HID_INPUT][53] > 4000 * 8);
    assert_true(total_usages(HID_INPUT) + total_usages(HID_FEATURE) > 6000);
    /* Saitek gamepad: Report Size 0 */
    assert_true(find_real("SaitekGamepad:report_descriptor", &r));
    assert_int_equal(hid_parse(r.desc, r.len, &map, &err), 0);
    /* Elan touchscreen with pen: a 64-bit field */
    assert_true(find_real("Elan_04f3_2A49", &r));
    assert_int_equal(hid_parse(r.desc, r.len, &map, &err), 0);
    /* FR-TEC Raptor Mach 2 joystick: more than 256 usages (each was a field before) */
    assert_true(find_real("Sanmos Group FR-TEC Raptor MACH 2", &r));
    assert_int_equal(hid_parse(r.desc, r.len, &map, &err), 0);
    assert_true(total_usages(HID_INPUT) + total_usages(HID_OUTPUT) + total_usages(HID_FEATURE) > 256);
}

static int first_active(const uint8_t *report, size_t len, struct hid_value *v)
{
    struct hid_error err;
    int n = hid_extract(&map, report, len, v, 1, &err);
    return n;
}

static void real_keyboards_name_their_keys(void **state)
{
    (void)state;
    static struct real r;
    struct hid_error err;
    struct hid_value v;
    /* ITE 8595 keyboard (06cb:2968): system control report 5, Power Down/Sleep/Wake Up */
    assert_true(find_real("ITEKeyboard:report_descriptor", &r));
    assert_int_equal(hid_parse(r.desc, r.len, &map, &err), 0);
    static const uint16_t system[3] = {0x81, 0x82, 0x83};
    for (unsigned bit = 0; bit < 3; bit++) {
        uint8_t report[2] = {0x05, (uint8_t)(1u << bit)};
        assert_int_equal(first_active(report, 2, &v), 1);
        assert_int_equal(v.usage_page, 0x01);
        assert_int_equal(v.usage, system[bit]);
    }
    /* ... and its consumer array (report 2, 16-bit usages): Volume Up 0x00E9 */
    const uint8_t volume_up[3] = {0x02, 0xE9, 0x00};
    assert_int_equal(first_active(volume_up, 3, &v), 1);
    assert_int_equal(v.usage_page, 0x0C);
    assert_int_equal(v.usage, 0xE9);
    /* Xiaomi MI Dongle wireless mouse (2717:003b): consumer keys one Usage each */
    assert_true(find_real("MIDongleMIWirelessMouse:report_descriptor", &r));
    assert_int_equal(hid_parse(r.desc, r.len, &map, &err), 0);
    static const uint16_t consumer[8] = {0xCD, 0x183, 0xB5, 0xB6, 0xEA, 0xE9, 0x225, 0x224};
    for (unsigned bit = 0; bit < 8; bit++) {
        uint8_t report[2] = {0x03, (uint8_t)(1u << bit)};
        assert_int_equal(first_active(report, 2, &v), 1);
        assert_int_equal(v.usage, consumer[bit]);
    }
    /* Primax keyboard: the Usage Page comes after the key range */
    assert_true(find_real("PrimaxKeyboard:report_descriptor", &r));
    assert_int_equal(hid_parse(r.desc, r.len, &map, &err), 0);
    const uint8_t a[8] = {0, 0, 0x04, 0, 0, 0, 0, 0};
    assert_int_equal(first_active(a, 8, &v), 1);
    assert_int_equal(v.usage_page, 0x07);
    assert_int_equal(v.usage, 0x04);
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

/* An LED screen's line: {text} expands, {length} counts it, {checksum} moves with it. */
static void output_with_text(void **state)
{
    (void)state;
    static const char led[] = "[profile]\nname = led\nclass = announce\nmatch = *\n"
                              "[output]\nshow = AA 55 {address} {length} {text} {checksum} 0D 0A\n";
    static struct profile p;
    char err[160];
    assert_int_equal(profile_parse(led, strlen(led), "led.ini", NULL, &p, err, sizeof(err)), 0);
    const struct profile_output *o = profile_output(&p, "show");
    assert_non_null(o);
    uint8_t out[32];
    int at;
    size_t n = profile_render_text(o, 0, 3, (const uint8_t *)"A012", 4, out, sizeof(out), &at);
    assert_int_equal(n, 11);
    assert_memory_equal(out, "\xAA\x55\x03\x04" "A012", 8);
    assert_int_equal(at, 8);
    assert_memory_equal(out + 9, "\r\n", 2);
    assert_int_equal(profile_render_text(o, 0, 3, (const uint8_t *)"A012", 4, out, 10, &at), 0);
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
        cmocka_unit_test(mixed_usage_list_keeps_declaration_order),
        cmocka_unit_test(usage_page_after_usages),
        cmocka_unit_test(kernel_limits_not_ours),
        cmocka_unit_test(every_real_descriptor_parses),
        cmocka_unit_test(real_descriptors_beyond_old_limits),
        cmocka_unit_test(real_keyboards_name_their_keys),
        cmocka_unit_test(profile_errors_name_file_and_line),
        cmocka_unit_test(profile_selection),
        cmocka_unit_test(output_with_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
