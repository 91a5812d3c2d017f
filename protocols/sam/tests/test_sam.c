/* The SAM codec against the frames published in protocols.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sam.h"
#include "sam_json.h"

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static void encodes_every_command(void **state)
{
    (void)state;
    static const struct {
        enum sam_request req;
        uint8_t arg;
        const char *hex;
    } table[] = {
        {SAM_REQ_RESET, 0, "AAAAAA96690003" "10FFEC"},  {SAM_REQ_STATUS, 0, "AAAAAA96690003" "11FFED"},
        {SAM_REQ_SAM_ID, 0, "AAAAAA96690003" "12FFEE"}, {SAM_REQ_FIND, 0, "AAAAAA96690003" "200122"},
        {SAM_REQ_SELECT, 0, "AAAAAA96690003" "200221"}, {SAM_REQ_READ, 0, "AAAAAA96690003" "300132"},
        {SAM_REQ_READ_FP, 0, "AAAAAA96690003" "301023"}, {SAM_REQ_READ_ADDRESS, 0, "AAAAAA96690003" "300330"},
        {SAM_REQ_SET_RF_BYTES, 0x50, "AAAAAA96690004" "61FF50CA"},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        uint8_t want[16], got[16];
        size_t n = unhex(table[i].hex, want);
        assert_int_equal(sam_encode_request(table[i].req, table[i].arg, got, sizeof(got)), n);
        assert_memory_equal(got, want, n);
    }
    uint8_t tiny[5];
    assert_int_equal(sam_encode_request(SAM_REQ_FIND, 0, tiny, sizeof(tiny)), 0);
}

static int decode_one(const char *hex, struct sam_response *r)
{
    static struct sam_decoder d;
    uint8_t buf[64];
    size_t n = unhex(hex, buf);
    sam_decoder_init(&d);
    sam_decoder_feed(&d, buf, n);
    struct sam_frame f;
    struct sam_error err;
    if (sam_decoder_next(&d, &f, &err) != SAM_FRAME)
        return -1;
    return sam_response_parse(&f, r, &err);
}

static void decodes_published_responses(void **state)
{
    (void)state;
    struct sam_response r;
    char buf[16];
    assert_int_equal(decode_one("aaaaaa9669000400009094", &r), 0);
    assert_int_equal(r.sw3, 0x90);
    assert_string_equal(sam_status_name(r.sw3, buf), "success");
    assert_int_equal(decode_one("aaaaaa9669000800009f0000000097", &r), 0);
    assert_int_equal(r.sw3, 0x9F);
    assert_int_equal(r.data_len, 4);
    assert_int_equal(decode_one("aaaaaa9669000400008084", &r), 0);
    assert_string_equal(sam_status_name(r.sw3, buf), "find_failed");
    assert_int_equal(decode_one("aaaaaa9669000c00009000000000000000009c", &r), 0);
    assert_int_equal(r.data_len, 8);
    assert_int_equal(decode_one("aaaaaa9669000400008185", &r), 0);
    assert_string_equal(sam_status_name(r.sw3, buf), "select_failed");
    assert_int_equal(decode_one("aaaaaa9669000400004145", &r), 0);
    assert_string_equal(sam_status_name(r.sw3, buf), "read_failed");
    assert_string_equal(sam_status_name(0x55, buf), "status_0x55");
}

static void resyncs_after_garbage_and_bad_checksum(void **state)
{
    (void)state;
    static struct sam_decoder d;
    uint8_t buf[64];
    size_t n = unhex("0102aaaaaa9669000400009095" "aaaaaa9669000400009094", buf);
    sam_decoder_init(&d);
    sam_decoder_feed(&d, buf, n);
    struct sam_frame f;
    struct sam_error err;
    assert_int_equal(sam_decoder_next(&d, &f, &err), SAM_ERROR);
    assert_int_equal(err.code, SAM_ERR_GARBAGE);
    assert_int_equal(err.offset, 0);
    assert_int_equal(sam_decoder_next(&d, &f, &err), SAM_ERROR);
    assert_int_equal(err.code, SAM_ERR_CHECKSUM);
    assert_int_equal(err.offset, 12); /* the checksum byte's place in the stream */
    /* the rest of the corrupt frame is skipped as garbage, then the good frame */
    enum sam_next r;
    while ((r = sam_decoder_next(&d, &f, &err)) == SAM_ERROR)
        assert_int_equal(err.code, SAM_ERR_GARBAGE);
    assert_int_equal(r, SAM_FRAME);
    assert_int_equal(f.payload_len, 3);
    assert_int_equal(sam_decoder_next(&d, &f, &err), SAM_NEED_MORE);
}

static void refuses_absurd_lengths(void **state)
{
    (void)state;
    static struct sam_decoder d;
    uint8_t buf[] = {0xAA, 0xAA, 0xAA, 0x96, 0x69, 0xFF, 0xFF};
    sam_decoder_init(&d);
    sam_decoder_feed(&d, buf, sizeof(buf));
    struct sam_frame f;
    struct sam_error err;
    assert_int_equal(sam_decoder_next(&d, &f, &err), SAM_ERROR);
    assert_int_equal(err.code, SAM_ERR_LENGTH);
}

static void read_parse_uses_length_fields(void **state)
{
    (void)state;
    uint8_t data[4 + 256 + 10];
    memset(data, 0x20, sizeof(data));
    data[0] = 0x01; data[1] = 0x00; /* 256 text */
    data[2] = 0x00; data[3] = 0x0A; /* 10 photo */
    struct sam_read rd;
    struct sam_error err;
    assert_int_equal(sam_read_parse(data, sizeof(data), false, &rd, &err), 0);
    assert_int_equal(rd.text_len, 256);
    assert_int_equal(rd.photo_len, 10);
    assert_ptr_equal(rd.photo, data + 4 + 256);
    data[3] = 0x0B; /* one more photo byte than there is */
    assert_int_equal(sam_read_parse(data, sizeof(data), false, &rd, &err), -1);
    assert_int_equal(err.code, SAM_ERR_SHORT);
    assert_int_equal(sam_read_parse(data, 3, false, &rd, &err), -1);
}

static void ucs2_trimmed_and_converted(void **state)
{
    (void)state;
    /* "张三" + two spaces */
    const uint8_t in[] = {0x20, 0x5F, 0x09, 0x4E, 0x20, 0x00, 0x20, 0x00};
    char out[32];
    assert_int_equal(sam_ucs2_to_utf8(in, sizeof(in), out, sizeof(out)), 0);
    assert_string_equal(out, "张三");
    assert_int_equal(sam_ucs2_to_utf8(in, sizeof(in), out, 4), -1);
    const uint8_t surrogate[] = {0x00, 0xD8, 0x41, 0x00};
    assert_int_equal(sam_ucs2_to_utf8(surrogate, sizeof(surrogate), out, sizeof(out)), 0);
    assert_string_equal(out, "\xEF\xBF\xBD" "A");
}

static void put_ucs2(uint8_t *block, size_t off, size_t size, const char *ascii)
{
    for (size_t i = 0; i < size / 2; i++) {
        block[off + 2 * i] = ascii[i] ? (uint8_t)ascii[i] : ' ';
        block[off + 2 * i + 1] = 0;
        if (!ascii[i])
            ascii = "";
        else if (!ascii[i + 1])
            ascii = ascii + 0;
    }
}

static void resident_text_block(void **state)
{
    (void)state;
    uint8_t block[256];
    for (size_t i = 0; i < sizeof(block); i += 2)
        block[i] = ' ', block[i + 1] = 0;
    put_ucs2(block, 30, 2, "1");
    put_ucs2(block, 32, 4, "01");
    put_ucs2(block, 36, 16, "19491231");
    put_ucs2(block, 122, 36, "11010519491231002X");
    put_ucs2(block, 188, 16, "20200101");
    block[204] = 0x7F; block[205] = 0x95; /* 长 */
    block[206] = 0x1F; block[207] = 0x67; /* 期 */
    struct sam_card card;
    struct sam_error err;
    assert_int_equal(sam_text_parse(block, sizeof(block), &card, &err), 0);
    assert_int_equal(card.type, SAM_CARD_RESIDENT);
    assert_string_equal(card.gender, "male");
    assert_string_equal(card.nation_code, "01");
    assert_string_equal(card.nation, "汉");
    assert_string_equal(card.birth_date, "1949-12-31");
    assert_string_equal(card.id_number, "11010519491231002X");
    assert_string_equal(card.valid_from, "2020-01-01");
    assert_string_equal(card.valid_until, "long-term");
    assert_int_equal(sam_text_parse(block, 255, &card, &err), -1);
    block[248] = 'J';
    assert_int_equal(sam_text_parse(block, sizeof(block), &card, &err), 0);
    assert_int_equal(card.type, SAM_CARD_HKMOTW);
    assert_string_equal(sam_card_type_name(card.type), "hkmotw_permit");
}

static void nations_and_base64(void **state)
{
    (void)state;
    assert_string_equal(sam_nation_name("56"), "基诺");
    assert_string_equal(sam_nation_name("98"), "外国血统中国籍人士");
    assert_null(sam_nation_name("57"));
    char out[16];
    sam_base64((const uint8_t *)"Man", 3, out);
    assert_string_equal(out, "TWFu");
    sam_base64((const uint8_t *)"Ma", 2, out);
    assert_string_equal(out, "TWE=");
    sam_base64((const uint8_t *)"M", 1, out);
    assert_string_equal(out, "TQ==");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encodes_every_command),
        cmocka_unit_test(decodes_published_responses),
        cmocka_unit_test(resyncs_after_garbage_and_bad_checksum),
        cmocka_unit_test(refuses_absurd_lengths),
        cmocka_unit_test(read_parse_uses_length_fields),
        cmocka_unit_test(ucs2_trimmed_and_converted),
        cmocka_unit_test(resident_text_block),
        cmocka_unit_test(nations_and_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
