/* The 256-byte card text block (UCS-2LE), for the four card types. */
#include <stdio.h>
#include <string.h>

#include "sam.h"

#define TEXT_BLOCK 256

static const struct {
    const char *code, *name;
} nations[] = {
    {"01", "汉"}, {"02", "蒙古"}, {"03", "回"}, {"04", "藏"}, {"05", "维吾尔"}, {"06", "苗"},
    {"07", "彝"}, {"08", "壮"}, {"09", "布依"}, {"10", "朝鲜"}, {"11", "满"}, {"12", "侗"},
    {"13", "瑶"}, {"14", "白"}, {"15", "土家"}, {"16", "哈尼"}, {"17", "哈萨克"}, {"18", "傣"},
    {"19", "黎"}, {"20", "傈僳"}, {"21", "佤"}, {"22", "畲"}, {"23", "高山"}, {"24", "拉祜"},
    {"25", "水"}, {"26", "东乡"}, {"27", "纳西"}, {"28", "景颇"}, {"29", "柯尔克孜"}, {"30", "土"},
    {"31", "达斡尔"}, {"32", "仫佬"}, {"33", "羌"}, {"34", "布朗"}, {"35", "撒拉"}, {"36", "毛南"},
    {"37", "仡佬"}, {"38", "锡伯"}, {"39", "阿昌"}, {"40", "普米"}, {"41", "塔吉克"}, {"42", "怒"},
    {"43", "乌孜别克"}, {"44", "俄罗斯"}, {"45", "鄂温克"}, {"46", "德昂"}, {"47", "保安"},
    {"48", "裕固"}, {"49", "京"}, {"50", "塔塔尔"}, {"51", "独龙"}, {"52", "鄂伦春"}, {"53", "赫哲"},
    {"54", "门巴"}, {"55", "珞巴"}, {"56", "基诺"}, {"97", "其他"}, {"98", "外国血统中国籍人士"},
};

const char *sam_nation_name(const char *code)
{
    for (size_t i = 0; i < sizeof(nations) / sizeof(nations[0]); i++)
        if (strcmp(nations[i].code, code) == 0)
            return nations[i].name;
    return NULL;
}

const char *sam_card_type_name(enum sam_card_type t)
{
    switch (t) {
    case SAM_CARD_HKMOTW: return "hkmotw_permit";
    case SAM_CARD_FOREIGN: return "foreign_permanent";
    case SAM_CARD_FOREIGN_2023: return "foreign_permanent_2023";
    default: return "resident";
    }
}

static size_t put_utf8(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

int sam_ucs2_to_utf8(const uint8_t *in, size_t len, char *out, size_t outlen)
{
    size_t chars = len / 2;
    while (chars > 0) { /* trailing spaces and NULs are padding */
        unsigned last = in[2 * chars - 2] | ((unsigned)in[2 * chars - 1] << 8);
        if (last != 0x0020 && last != 0x0000)
            break;
        chars--;
    }
    size_t o = 0;
    for (size_t i = 0; i < chars; i++) {
        unsigned cp = in[2 * i] | ((unsigned)in[2 * i + 1] << 8);
        if (cp == 0)
            break;
        if (cp < 0x20 || (cp >= 0xD800 && cp <= 0xDFFF))
            cp = 0xFFFD; /* control characters and lone surrogates never reach an event */
        if (o + 4 > outlen)
            return -1;
        o += put_utf8(cp, out + o);
    }
    if (o >= outlen)
        return -1;
    out[o] = '\0';
    return 0;
}

static int field(const uint8_t *text, size_t off, size_t size, char *out, size_t outlen)
{
    return sam_ucs2_to_utf8(text + off, size, out, outlen);
}

/* YYYYMMDD -> YYYY-MM-DD; 长期 -> long-term; anything else is kept as read. */
static void normalise_date(char *s, size_t len)
{
    if (strstr(s, "长期")) {
        snprintf(s, len, "long-term");
        return;
    }
    if (strlen(s) != 8)
        return;
    for (int i = 0; i < 8; i++)
        if (s[i] < '0' || s[i] > '9')
            return;
    char out[11];
    snprintf(out, sizeof(out), "%.4s-%.2s-%.2s", s, s + 4, s + 6);
    snprintf(s, len, "%s", out);
}

static void gender_of(const char *code, char *out, size_t len)
{
    const char *g = strcmp(code, "1") == 0   ? "male"
                    : strcmp(code, "2") == 0 ? "female"
                    : strcmp(code, "9") == 0 ? "unspecified"
                                             : "unknown";
    snprintf(out, len, "%s", g);
}

struct layout {
    size_t off, size;
    size_t member; /* offsetof(struct sam_card, ...) */
    size_t cap;
    bool date;
};

#define F(o, s, m, d) {o, s, offsetof(struct sam_card, m), sizeof(((struct sam_card *)0)->m), d}

static const struct layout resident[] = {
    F(0, 30, name, false),        F(36, 16, birth_date, true), F(52, 70, address, false),
    F(122, 36, id_number, false), F(158, 30, issuer, false),   F(188, 16, valid_from, true),
    F(204, 16, valid_until, true), {0, 0, 0, 0, false},
};
static const struct layout hkmotw[] = {
    F(0, 30, name, false),        F(36, 16, birth_date, true),   F(52, 70, address, false),
    F(122, 36, id_number, false), F(158, 30, issuer, false),     F(188, 16, valid_from, true),
    F(204, 16, valid_until, true), F(220, 18, pass_number, false), F(238, 4, issue_count, false),
    {0, 0, 0, 0, false},
};
static const struct layout foreign[] = {
    F(0, 120, english_name, false), F(122, 30, id_number, false), F(152, 6, nationality, false),
    F(158, 30, name, false),        F(188, 16, valid_from, true), F(204, 16, valid_until, true),
    F(220, 16, birth_date, true),   F(236, 4, card_version, false), F(240, 8, issuer_code, false),
    {0, 0, 0, 0, false},
};
static const struct layout foreign_2023[] = {
    F(0, 30, name, false),          F(32, 4, renewal_count, false), F(36, 16, birth_date, true),
    F(52, 70, english_name, false), F(122, 36, id_number, false),  F(188, 16, valid_from, true),
    F(204, 16, valid_until, true),  F(242, 6, nationality, false),
    F(250, 6, previous_card_link, false), {0, 0, 0, 0, false},
};

static int fill(const uint8_t *text, const struct layout *l, struct sam_card *card,
                struct sam_error *err)
{
    for (; l->size; l++) {
        char *dst = (char *)card + l->member;
        if (field(text, l->off, l->size, dst, l->cap) < 0) {
            err->code = SAM_ERR_FORMAT;
            err->offset = l->off;
            snprintf(err->message, sizeof(err->message), "text field at byte %zu does not fit",
                     l->off);
            return -1;
        }
        if (l->date)
            normalise_date(dst, l->cap);
    }
    return 0;
}

static enum sam_card_type type_of(const uint8_t *text)
{
    unsigned letter = text[248] | ((unsigned)text[249] << 8);
    switch (letter) {
    case 'J': return SAM_CARD_HKMOTW;
    case 'I': return SAM_CARD_FOREIGN;
    case 'Y': return SAM_CARD_FOREIGN_2023;
    default: return SAM_CARD_RESIDENT;
    }
}

/* The 2023 card continues its English name at 220/22. */
static int append_english_name(const uint8_t *text, struct sam_card *card)
{
    char more[64];
    if (field(text, 220, 22, more, sizeof(more)) < 0 || !more[0])
        return 0;
    size_t n = strlen(card->english_name);
    if (n + strlen(more) + 1 > sizeof(card->english_name))
        return -1;
    memcpy(card->english_name + n, more, strlen(more) + 1);
    return 0;
}

int sam_text_parse(const uint8_t *text, size_t len, struct sam_card *card, struct sam_error *err)
{
    memset(card, 0, sizeof(*card));
    if (len < TEXT_BLOCK) {
        err->code = SAM_ERR_SHORT;
        err->offset = len;
        snprintf(err->message, sizeof(err->message), "text block of %zu bytes, expected %d", len,
                 TEXT_BLOCK);
        return -1;
    }
    card->type = type_of(text);
    static const struct layout *const layouts[] = {resident, hkmotw, foreign, foreign_2023};
    if (fill(text, layouts[card->type], card, err) < 0)
        return -1;
    char code[16];
    if (field(text, card->type == SAM_CARD_FOREIGN ? 120 : 30, 2, code, sizeof(code)) < 0)
        code[0] = '\0';
    gender_of(code, card->gender, sizeof(card->gender));
    if (card->type == SAM_CARD_RESIDENT) {
        if (field(text, 32, 4, card->nation_code, sizeof(card->nation_code)) < 0)
            card->nation_code[0] = '\0';
        card->nation = sam_nation_name(card->nation_code);
    }
    if (card->type == SAM_CARD_FOREIGN_2023 && append_english_name(text, card) < 0) {
        err->code = SAM_ERR_FORMAT;
        err->offset = 220;
        snprintf(err->message, sizeof(err->message), "English name does not fit");
        return -1;
    }
    return 0;
}
