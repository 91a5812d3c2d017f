/* The SSSE read as a session of APDUs (sscard.h).  Facts: docs/reference/sscard.md. */
#include "sscard.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sam.h" /* the GB 3304 nation table, shared with the ID card */
#include "text.h"

/* "sx1.sh.社会保障" in GBK: the DDF name of the social security application */
static const uint8_t ssse_name[15] = {0x73, 0x78, 0x31, 0x2E, 0x73, 0x68, 0x2E, 0xC9,
                                      0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF};

enum phase { P_SELECT_APP, P_GET_FCI, P_SELECT_EF, P_READ };

struct item;
typedef int (*item_decoder)(struct sscard_session *s, const struct item *it, const uint8_t *v,
                            size_t len);

/* One record: the file it lives in, its tag (= record identifier) and its length. */
struct item {
    uint16_t ef;
    uint8_t tag, len;
    item_decoder decode;
};

static int decode_region(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len);
static int decode_card_type(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len);
static int decode_version(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len);
static int decode_date(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len);
static int decode_card_number(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len);
static int decode_ssn(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len);
static int decode_name_part(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len);
static int decode_gender(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len);
static int decode_nation(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len);

/* In reading order; EF05 is free on every card, EF06 is read-protected on 3.0 cards. */
static const struct item items[] = {
    {0xEF05, 0x01, 16, decode_region},      /* 卡的识别码: only its region is kept */
    {0xEF05, 0x02, 1, decode_card_type},    /* 卡的类别 */
    {0xEF05, 0x03, 4, decode_version},      /* 规范版本 */
    {0xEF05, 0x05, 4, decode_date},         /* 发卡日期 */
    {0xEF05, 0x06, 4, decode_date},         /* 卡有效期 */
    {0xEF05, 0x07, 9, decode_card_number},  /* 卡号 */
    {0xEF06, 0x08, 18, decode_ssn},         /* 社会保障号码 */
    {0xEF06, 0x09, 30, decode_name_part},   /* 姓名 */
    {0xEF06, 0x4E, 20, decode_name_part},   /* 姓名扩展 */
    {0xEF06, 0x0A, 1, decode_gender},       /* 性别 */
    {0xEF06, 0x0B, 1, decode_nation},       /* 民族 */
    {0xEF06, 0x0C, 3, decode_region},       /* 出生地 */
    {0xEF06, 0x0D, 4, decode_date},         /* 出生日期 */
};
#define ITEMS (sizeof(items) / sizeof(items[0]))

const char *sscard_reason_name(enum sscard_reason r)
{
    switch (r) {
    case SSCARD_UNKNOWN_CARD: return "unknown_card";
    case SSCARD_READ_FAILED: return "read_failed";
    default: return "ok";
    }
}

/* ---- the outcome ---- */

__attribute__((format(printf, 3, 4))) static enum sscard_step
fail(struct sscard_session *s, enum sscard_reason reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->message, sizeof(s->message), fmt, ap);
    va_end(ap);
    s->reason = reason;
    memset(&s->record, 0, sizeof(s->record)); /* never a partial record */
    s->apdu_len = 0;
    return SSCARD_FAILED;
}

static int decode_error(struct sscard_session *s, const struct item *it, size_t byte,
                        const char *what)
{
    snprintf(s->message, sizeof(s->message), "EF%02X record %02X byte %zu: %s",
             it->ef & 0xFF, it->tag, byte, what);
    return -1;
}

/* ---- commands ---- */

static enum sscard_step send(struct sscard_session *s, const uint8_t *apdu, size_t len)
{
    memcpy(s->apdu, apdu, len);
    s->apdu_len = len;
    return SSCARD_SEND;
}

static enum sscard_step send_get_response(struct sscard_session *s, uint8_t le)
{
    const uint8_t apdu[] = {0x00, 0xC0, 0x00, 0x00, le};
    return send(s, apdu, sizeof(apdu));
}

static enum sscard_step send_select_ef(struct sscard_session *s, uint16_t ef)
{
    const uint8_t apdu[] = {0x00, 0xA4, 0x02, 0x00, 0x02, (uint8_t)(ef >> 8), (uint8_t)ef};
    s->phase = P_SELECT_EF;
    return send(s, apdu, sizeof(apdu));
}

/* READ RECORD by identifier in the current EF (P2 = 00), as host software in
 * the wild does; the first try asks the exact length (tag, length, value). */
static enum sscard_step send_read(struct sscard_session *s, uint8_t le)
{
    const uint8_t apdu[] = {0x00, 0xB2, items[s->item].tag, 0x00, le};
    s->phase = P_READ;
    return send(s, apdu, sizeof(apdu));
}

enum sscard_step sscard_begin(struct sscard_session *s)
{
    memset(s, 0, sizeof(*s));
    uint8_t apdu[5 + sizeof(ssse_name) + 1] = {0x00, 0xA4, 0x04, 0x00, sizeof(ssse_name)};
    memcpy(apdu + 5, ssse_name, sizeof(ssse_name));
    apdu[sizeof(apdu) - 1] = 0x00; /* Le: the FCI */
    s->phase = P_SELECT_APP;
    return send(s, apdu, sizeof(apdu));
}

/* ---- answers ---- */

static unsigned status_word(const uint8_t *a, size_t len)
{
    return (unsigned)a[len - 2] << 8 | a[len - 1];
}

/* The FCI's DF name (84) must be the application's, when the card gives one. */
static bool fci_names_ssse(const uint8_t *d, size_t len)
{
    if (len == 0)
        return true; /* a card that answers 9000 without an FCI: nothing to check */
    if (len < 2 || d[0] != 0x6F || (size_t)d[1] + 2 > len)
        return false;
    for (size_t i = 2; i + 2 <= (size_t)d[1] + 2;) {
        uint8_t tag = d[i], l = d[i + 1];
        if (i + 2 + l > (size_t)d[1] + 2)
            return false;
        if (tag == 0x84)
            return l == sizeof(ssse_name) && memcmp(d + i + 2, ssse_name, l) == 0;
        i += 2 + (size_t)l;
    }
    return true; /* no 84: tolerated (the standard asks for it, not every COS may) */
}

static enum sscard_step after_app_selected(struct sscard_session *s, const uint8_t *fci, size_t len)
{
    if (!fci_names_ssse(fci, len))
        return fail(s, SSCARD_UNKNOWN_CARD, "the card's FCI does not name the SSSE application");
    s->item = 0;
    return send_select_ef(s, items[0].ef);
}

static enum sscard_step on_select_app(struct sscard_session *s, const uint8_t *a, size_t len)
{
    unsigned sw = status_word(a, len);
    if ((sw & 0xFF00) == 0x6100) { /* T=0: the FCI waits for GET RESPONSE */
        s->phase = P_GET_FCI;
        return send_get_response(s, (uint8_t)sw);
    }
    if (sw == 0x9000)
        return after_app_selected(s, a, len - 2);
    return fail(s, SSCARD_UNKNOWN_CARD, "no social security application (SELECT answered %04X)", sw);
}

static enum sscard_step on_get_fci(struct sscard_session *s, const uint8_t *a, size_t len)
{
    unsigned sw = status_word(a, len);
    if ((sw & 0xFF00) == 0x6C00 && !s->le_retried) {
        s->le_retried = true;
        return send_get_response(s, (uint8_t)sw);
    }
    if (sw != 0x9000)
        return fail(s, SSCARD_READ_FAILED, "GET RESPONSE of the FCI answered %04X", sw);
    return after_app_selected(s, a, len - 2);
}

static bool holder_file(const struct sscard_session *s)
{
    return items[s->item].ef == 0xEF06;
}

/* Nothing of EF06 read yet, and the card says it needs an authentication. */
static enum sscard_step holder_refused(struct sscard_session *s)
{
    s->record.holder_protected = true;
    s->apdu_len = 0;
    return SSCARD_DONE;
}

static bool holder_read_started(const struct sscard_session *s)
{
    return s->record.ssn[0] || s->name_len || s->record.gender[0];
}

static enum sscard_step on_select_ef(struct sscard_session *s, const uint8_t *a, size_t len)
{
    unsigned sw = status_word(a, len);
    if (sw == 0x9000 || (sw & 0xFF00) == 0x6100) /* an EF's FCI, if any, is not needed */
        return send_read(s, items[s->item].len + 2);
    if (holder_file(s) && sw == 0x6982)
        return holder_refused(s);
    return fail(s, SSCARD_READ_FAILED, "SELECT EF%02X answered %04X", items[s->item].ef & 0xFF, sw);
}

static enum sscard_step next_item(struct sscard_session *s);

static enum sscard_step take_record(struct sscard_session *s, const uint8_t *d, size_t len)
{
    const struct item *it = &items[s->item];
    if (len < 2 || d[0] != it->tag)
        return fail(s, SSCARD_READ_FAILED, "EF%02X record %02X: the answer does not start with its tag",
                    it->ef & 0xFF, it->tag);
    if ((size_t)d[1] + 2 > len)
        return fail(s, SSCARD_READ_FAILED, "EF%02X record %02X: length %u, %zu bytes came",
                    it->ef & 0xFF, it->tag, d[1], len - 2);
    if (it->decode(s, it, d + 2, d[1]) < 0) {
        char why[sizeof(s->message)];
        memcpy(why, s->message, sizeof(why));
        return fail(s, SSCARD_READ_FAILED, "%s", why);
    }
    return next_item(s);
}

static enum sscard_step on_read(struct sscard_session *s, const uint8_t *a, size_t len)
{
    const struct item *it = &items[s->item];
    unsigned sw = status_word(a, len);
    if ((sw & 0xFF00) == 0x6C00 && !s->le_retried) { /* the card says the exact length */
        s->le_retried = true;
        return send_read(s, (uint8_t)sw);
    }
    if ((sw & 0xFF00) == 0x6100 && !s->le_retried) {
        s->le_retried = true;
        return send_get_response(s, (uint8_t)sw);
    }
    if (sw == 0x6A83) /* the card has no such record: the field is absent */
        return next_item(s);
    if (sw == 0x6982 && holder_file(s) && !holder_read_started(s))
        return holder_refused(s);
    if (sw != 0x9000)
        return fail(s, SSCARD_READ_FAILED, "EF%02X record %02X answered %04X", it->ef & 0xFF,
                    it->tag, sw);
    return take_record(s, a, len - 2);
}

static enum sscard_step finish(struct sscard_session *s)
{
    if (!s->record.card_number[0] && !s->record.issuer_region[0])
        return fail(s, SSCARD_READ_FAILED, "the card holds neither a card number nor an identifier");
    size_t bad;
    if (s->name_len && text_gbk_to_utf8(s->name_bytes, s->name_len, s->record.name,
                                        sizeof(s->record.name), &bad) < 0)
        return fail(s, SSCARD_READ_FAILED, "EF06 record 09: the name is not GBK text (byte %zu)",
                    bad);
    s->apdu_len = 0;
    return SSCARD_DONE;
}

static enum sscard_step next_item(struct sscard_session *s)
{
    uint16_t ef = items[s->item].ef;
    s->le_retried = false;
    if (++s->item == ITEMS)
        return finish(s);
    return items[s->item].ef == ef ? send_read(s, items[s->item].len + 2)
                                   : send_select_ef(s, items[s->item].ef);
}

enum sscard_step sscard_feed(struct sscard_session *s, const uint8_t *answer, size_t len)
{
    if (len < 2)
        return fail(s, SSCARD_READ_FAILED, "the card's answer had no status word (%zu bytes)", len);
    switch (s->phase) {
    case P_SELECT_APP: return on_select_app(s, answer, len);
    case P_GET_FCI: return on_get_fci(s, answer, len);
    case P_SELECT_EF: return on_select_ef(s, answer, len);
    default: break;
    }
    /* a GET RESPONSE after a record's 61xx answers like the read itself */
    return on_read(s, answer, len);
}

/* ---- the items ---- */

/* an: bytes padded with 00 (and, on some cards, spaces); printable ASCII only. */
static int ascii_item(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len,
                      char *out, size_t max)
{
    while (len && (v[len - 1] == 0x00 || v[len - 1] == ' '))
        len--;
    if (len >= max)
        return decode_error(s, it, max, "longer than expected");
    for (size_t i = 0; i < len; i++)
        if (v[i] < 0x20 || v[i] > 0x7E)
            return decode_error(s, it, i, "not printable ASCII");
    memcpy(out, v, len);
    out[len] = '\0';
    return 0;
}

/* cn: BCD digits, left aligned, padded with F nibbles.  Returns the digit count. */
static int bcd_item(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len,
                    char *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < len * 2; i++) {
        unsigned nib = i % 2 ? v[i / 2] & 0x0F : v[i / 2] >> 4;
        if (nib == 0xF)
            break;
        if (nib > 9)
            return decode_error(s, it, i / 2, "not a BCD digit");
        if (n + 1 >= max)
            return decode_error(s, it, i / 2, "more digits than expected");
        out[n++] = (char)('0' + nib);
    }
    out[n] = '\0';
    return (int)n;
}

static int decode_region(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len)
{
    char *out = it->tag == 0x01 ? s->record.issuer_region : s->record.birth_place;
    char digits[40];
    int n = bcd_item(s, it, v, len < 3 ? len : 3, digits, sizeof(digits));
    if (n < 0)
        return -1;
    if (n == 0)
        return 0; /* unset */
    if (n != 6)
        return decode_error(s, it, 0, "a region code has 6 digits");
    memcpy(out, digits, 7);
    return 0;
}

static int decode_date(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len)
{
    char d[16];
    int n = bcd_item(s, it, v, len, d, sizeof(d));
    if (n <= 0)
        return n; /* all F: the card holds no date */
    int month = (d[4] - '0') * 10 + (d[5] - '0'), day = (d[6] - '0') * 10 + (d[7] - '0');
    if (n != 8 || month < 1 || month > 12 || day < 1 || day > 31)
        return decode_error(s, it, 0, "not a date YYYYMMDD");
    char *out = it->tag == 0x05 ? s->record.issued
              : it->tag == 0x06 ? s->record.valid_until
                                : s->record.birth_date;
    snprintf(out, 11, "%.4s-%.2s-%.2s", d, d + 4, d + 6);
    return 0;
}

static int decode_card_type(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len)
{
    static const char *const names[] = {"preschool", "student", "adult", "elderly"};
    char c[4];
    if (ascii_item(s, it, v, len, c, sizeof(c)) < 0)
        return -1;
    if (c[0] >= '1' && c[0] <= '4' && !c[1])
        snprintf(s->record.card_type, sizeof(s->record.card_type), "%s", names[c[0] - '1']);
    else
        snprintf(s->record.card_type, sizeof(s->record.card_type), "%s", c);
    return 0;
}

static int decode_version(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len)
{
    return ascii_item(s, it, v, len, s->record.card_version, sizeof(s->record.card_version));
}

/* "读取卡号时只读前 9 位": a longer record keeps its first 9 characters. */
static int decode_card_number(struct sscard_session *s, const struct item *it, const uint8_t *v,
                              size_t len)
{
    return ascii_item(s, it, v, len > 9 ? 9 : len, s->record.card_number,
                      sizeof(s->record.card_number));
}

static int decode_ssn(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len)
{
    return ascii_item(s, it, v, len, s->record.ssn, sizeof(s->record.ssn));
}

/* 姓名 then 姓名扩展, as bytes: a 30-byte boundary never splits a GBK character. */
static int decode_name_part(struct sscard_session *s, const struct item *it, const uint8_t *v,
                            size_t len)
{
    while (len && v[len - 1] == 0x00)
        len--;
    if (s->name_len + len > sizeof(s->name_bytes))
        return decode_error(s, it, 0, "the name is longer than 64 bytes");
    memcpy(s->name_bytes + s->name_len, v, len);
    s->name_len += len;
    return 0;
}

static int decode_gender(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len)
{
    char c[4];
    if (ascii_item(s, it, v, len, c, sizeof(c)) < 0)
        return -1;
    const char *word = !strcmp(c, "1") ? "male" : !strcmp(c, "2") ? "female"
                     : !strcmp(c, "9") ? "unspecified" : !strcmp(c, "0") ? "unknown" : NULL;
    if (!word && c[0])
        return decode_error(s, it, 0, "not a GB 2261.1 gender code");
    snprintf(s->record.gender, sizeof(s->record.gender), "%s", word ? word : "");
    return 0;
}

static int decode_nation(struct sscard_session *s, const struct item *it, const uint8_t *v, size_t len)
{
    int n = bcd_item(s, it, v, len, s->record.nation_code, sizeof(s->record.nation_code));
    if (n < 0)
        return -1;
    if (n != 0 && n != 2)
        return decode_error(s, it, 0, "a nation code has 2 digits");
    s->record.nation = n ? sam_nation_name(s->record.nation_code) : NULL;
    return 0;
}
