#include "hid.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct globals {
    uint16_t usage_page;
    int32_t logical_min, logical_max;
    uint32_t report_size, report_count;
    uint8_t report_id;
};

struct locals {
    uint32_t usages[HID_MAX_USAGES];
    size_t n_usages;
    uint32_t usage_min, usage_max;
    bool has_min, has_max;
};

struct parser {
    struct hid_map *map;
    struct globals g, stack[4];
    int sp;
    struct locals l;
    int depth;
    struct hid_error *err;
};

static int fail(struct hid_error *err, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct hid_error *err, size_t offset, const char *fmt, ...)
{
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

static uint32_t item_unsigned(const uint8_t *d, int size)
{
    uint32_t v = 0;
    for (int i = size - 1; i >= 0; i--)
        v = (v << 8) | d[i];
    return v;
}

static int32_t item_signed(const uint8_t *d, int size)
{
    uint32_t v = item_unsigned(d, size);
    if (size == 1)
        return (int8_t)v;
    if (size == 2)
        return (int16_t)v;
    return (int32_t)v;
}

static int add_field(struct parser *p, const struct hid_field *f, size_t at)
{
    if (p->map->n_fields == HID_MAX_FIELDS)
        return fail(p->err, at, "more than %d fields", HID_MAX_FIELDS);
    p->map->fields[p->map->n_fields++] = *f;
    return 0;
}

/* A 32-bit local usage carries its own page in the high half. */
static void split_usage(uint32_t usage, uint16_t default_page, uint16_t *page, uint32_t *id)
{
    *page = usage > 0xFFFF ? (uint16_t)(usage >> 16) : default_page;
    *id = usage & 0xFFFF;
}

static int main_item(struct parser *p, enum hid_kind kind, uint32_t flags, size_t at)
{
    struct globals *g = &p->g;
    uint16_t *bits = &p->map->report_bits[kind][g->report_id];
    if (g->report_size == 0 || g->report_size > 32)
        return fail(p->err, at, "report size %u (must be 1-32)", g->report_size);
    if (g->report_count > 1024)
        return fail(p->err, at, "report count %u is absurd", g->report_count);
    uint32_t total = (uint32_t)*bits + g->report_size * g->report_count;
    if (total > HID_MAX_REPORT_BYTES * 8)
        return fail(p->err, at, "report %u grows beyond %d bytes", g->report_id, HID_MAX_REPORT_BYTES);
    struct hid_field f = {.kind = kind, .report_id = g->report_id, .is_relative = (flags & 4) != 0,
                          .logical_min = g->logical_min, .logical_max = g->logical_max,
                          .bit_size = (uint8_t)g->report_size};
    if (flags & 1) { /* constant: padding */
        *bits = (uint16_t)total;
        return 0;
    }
    if (!(flags & 2)) { /* array */
        f.is_array = true;
        f.count = (uint16_t)g->report_count;
        f.bit_offset = *bits;
        uint32_t first = p->l.has_min ? p->l.usage_min : (p->l.n_usages ? p->l.usages[0] : 0);
        uint32_t last = p->l.has_max ? p->l.usage_max
                                     : (p->l.n_usages ? p->l.usages[p->l.n_usages - 1] : first);
        split_usage(first, g->usage_page, &f.usage_page, &f.usage);
        uint16_t ignored;
        split_usage(last, g->usage_page, &ignored, &f.usage_max);
        *bits = (uint16_t)total;
        return add_field(p, &f, at);
    }
    for (uint32_t i = 0; i < g->report_count; i++) { /* variables: one field per usage */
        uint32_t usage;
        if (p->l.has_min && p->l.usage_min + i <= (p->l.has_max ? p->l.usage_max : UINT32_MAX))
            usage = p->l.usage_min + i;
        else if (p->l.n_usages)
            usage = p->l.usages[i < p->l.n_usages ? i : p->l.n_usages - 1];
        else
            usage = 0;
        f.count = 1;
        f.bit_offset = (uint16_t)(*bits + i * g->report_size);
        split_usage(usage, g->usage_page, &f.usage_page, &f.usage);
        f.usage_max = f.usage;
        if (add_field(p, &f, at) < 0)
            return -1;
    }
    *bits = (uint16_t)total;
    return 0;
}

static int global_item(struct parser *p, unsigned tag, const uint8_t *d, int size, size_t at)
{
    struct globals *g = &p->g;
    switch (tag) {
    case 0x0: g->usage_page = (uint16_t)item_unsigned(d, size); break;
    case 0x1: g->logical_min = item_signed(d, size); break;
    case 0x2:
        /* an unsigned maximum written without a sign bit (25 FF) is common */
        g->logical_max = g->logical_min >= 0 ? (int32_t)item_unsigned(d, size) : item_signed(d, size);
        break;
    case 0x3: case 0x4: case 0x5: case 0x6: break; /* physical min/max, unit exponent, unit */
    case 0x7: g->report_size = item_unsigned(d, size); break;
    case 0x8:
        g->report_id = (uint8_t)item_unsigned(d, size);
        if (g->report_id == 0 || item_unsigned(d, size) > 255)
            return fail(p->err, at, "report id %u (must be 1-255)", item_unsigned(d, size));
        p->map->uses_report_ids = true;
        break;
    case 0x9: g->report_count = item_unsigned(d, size); break;
    case 0xA:
        if (p->sp == 4)
            return fail(p->err, at, "push beyond 4 levels");
        p->stack[p->sp++] = *g;
        break;
    case 0xB:
        if (p->sp == 0)
            return fail(p->err, at, "pop without push");
        *g = p->stack[--p->sp];
        break;
    default: return fail(p->err, at, "unknown global item tag 0x%x", tag);
    }
    return 0;
}

static void local_item(struct parser *p, unsigned tag, const uint8_t *d, int size)
{
    uint32_t v = item_unsigned(d, size);
    if (tag == 0x0 && p->l.n_usages < HID_MAX_USAGES)
        p->l.usages[p->l.n_usages++] = v; /* a 4-byte usage keeps its page in the high half */
    else if (tag == 0x1)
        p->l.usage_min = v, p->l.has_min = true;
    else if (tag == 0x2)
        p->l.usage_max = v, p->l.has_max = true;
    /* designators, strings, delimiters: not needed for the field map */
}

int hid_parse(const uint8_t *desc, size_t len, struct hid_map *map, struct hid_error *err)
{
    memset(map, 0, sizeof(*map));
    struct parser p = {.map = map, .err = err};
    for (size_t i = 0; i < len;) {
        uint8_t prefix = desc[i];
        if (prefix == 0xFE) { /* long item: size in the next byte */
            if (i + 2 >= len)
                return fail(err, i, "truncated long item");
            size_t skip = 3 + (size_t)desc[i + 1];
            if (i + skip > len)
                return fail(err, i, "long item runs past the end");
            i += skip;
            continue;
        }
        int size = (prefix & 3) == 3 ? 4 : (prefix & 3);
        if (i + 1 + (size_t)size > len)
            return fail(err, i, "item 0x%02x needs %d data byte(s), %zu left", prefix, size,
                        len - i - 1);
        const uint8_t *d = desc + i + 1;
        unsigned type = (prefix >> 2) & 3, tag = prefix >> 4;
        int r = 0;
        if (type == 0) {
            switch (tag) {
            case 0x8: r = main_item(&p, HID_INPUT, item_unsigned(d, size), i); break;
            case 0x9: r = main_item(&p, HID_OUTPUT, item_unsigned(d, size), i); break;
            case 0xB: r = main_item(&p, HID_FEATURE, item_unsigned(d, size), i); break;
            case 0xA:
                if (++p.depth > HID_MAX_DEPTH)
                    r = fail(err, i, "collections nested deeper than %d", HID_MAX_DEPTH);
                break;
            case 0xC:
                if (--p.depth < 0)
                    r = fail(err, i, "end collection without a collection");
                break;
            default: r = fail(err, i, "unknown main item tag 0x%x", tag);
            }
            memset(&p.l, 0, sizeof(p.l)); /* locals end with each main item */
        } else if (type == 1) {
            r = global_item(&p, tag, d, size, i);
        } else if (type == 2) {
            local_item(&p, tag, d, size);
        } else {
            r = fail(err, i, "reserved item type at 0x%02x", prefix);
        }
        if (r < 0)
            return -1;
        i += 1 + (size_t)size;
    }
    if (p.depth != 0)
        return fail(err, len, "%d collection(s) never ended", p.depth);
    return 0;
}

static uint32_t get_bits(const uint8_t *data, size_t bit, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++)
        if (data[(bit + i) / 8] & (1u << ((bit + i) % 8)))
            v |= 1u << i;
    return v;
}

static void put_bits(uint8_t *data, size_t bit, unsigned n, uint32_t v)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t mask = (uint8_t)(1u << ((bit + i) % 8));
        if (v & (1u << i))
            data[(bit + i) / 8] |= mask;
        else
            data[(bit + i) / 8] &= (uint8_t)~mask;
    }
}

static int32_t sign_extend(uint32_t v, unsigned bits, bool is_signed)
{
    if (!is_signed || bits >= 32 || !(v & (1u << (bits - 1))))
        return (int32_t)v;
    return (int32_t)(v | ~((1u << bits) - 1));
}

int hid_extract(const struct hid_map *map, const uint8_t *report, size_t len,
                struct hid_value *out, size_t max, struct hid_error *err)
{
    uint8_t id = 0;
    if (map->uses_report_ids) {
        if (len < 1)
            return fail(err, 0, "empty report");
        id = report[0];
        report++;
        len--;
    }
    size_t bits = map->report_bits[HID_INPUT][id];
    if (bits == 0)
        return fail(err, 0, "no input report with id %u", id);
    if (len * 8 < bits)
        return fail(err, len, "input report %u is %zu byte(s), its fields need %zu", id, len,
                    (bits + 7) / 8);
    size_t n = 0;
    for (size_t i = 0; i < map->n_fields; i++) {
        const struct hid_field *f = &map->fields[i];
        if (f->kind != HID_INPUT || f->report_id != id)
            continue;
        bool is_signed = f->logical_min < 0;
        for (unsigned slot = 0; slot < f->count && n < max; slot++) {
            int32_t v = sign_extend(get_bits(report, f->bit_offset + slot * f->bit_size, f->bit_size),
                                    f->bit_size, is_signed);
            if (!f->is_array) {
                out[n++] = (struct hid_value){f->usage_page, f->usage, v, false};
            } else if (v >= f->logical_min && v <= f->logical_max && v != 0) {
                uint32_t usage = f->usage + (uint32_t)(v - f->logical_min);
                if (usage <= f->usage_max || f->usage_max < f->usage)
                    out[n++] = (struct hid_value){f->usage_page, usage, 1, true};
            }
        }
    }
    return (int)n;
}

int hid_build(const struct hid_map *map, enum hid_kind kind, uint8_t report_id,
              const struct hid_value *values, size_t n, uint8_t *out, size_t outlen,
              struct hid_error *err)
{
    size_t bits = map->report_bits[kind][map->uses_report_ids ? report_id : 0];
    size_t head = map->uses_report_ids ? 1 : 0, total = head + (bits + 7) / 8;
    if (bits == 0)
        return fail(err, 0, "no such report (kind %d, id %u)", kind, report_id);
    if (total > outlen)
        return fail(err, 0, "report of %zu bytes does not fit", total);
    memset(out, 0, total);
    if (head)
        out[0] = report_id;
    for (size_t k = 0; k < n; k++) {
        const struct hid_field *hit = NULL;
        for (size_t i = 0; i < map->n_fields && !hit; i++) {
            const struct hid_field *f = &map->fields[i];
            if (f->kind == kind && f->report_id == (head ? report_id : 0) && !f->is_array &&
                f->usage_page == values[k].usage_page && f->usage == values[k].usage)
                hit = f;
        }
        if (!hit)
            return fail(err, k, "usage %04x:%04x is not a field of that report",
                        values[k].usage_page, (unsigned)values[k].usage);
        put_bits(out + head, hit->bit_offset, hit->bit_size, (uint32_t)values[k].value);
    }
    return (int)total;
}

uint16_t hid_first_usage_page(const uint8_t *desc, size_t len)
{
    for (size_t i = 0; i < len;) {
        uint8_t prefix = desc[i];
        if (prefix == 0xFE)
            return 0;
        int size = (prefix & 3) == 3 ? 4 : (prefix & 3);
        if (i + 1 + (size_t)size > len)
            return 0;
        if ((prefix & 0xFC) == 0x04)
            return (uint16_t)item_unsigned(desc + i + 1, size);
        i += 1 + (size_t)size;
    }
    return 0;
}

static const struct {
    uint16_t page;
    const char *name;
} pages[] = {
    {0x01, "generic_desktop"}, {0x07, "keyboard"}, {0x08, "led"}, {0x09, "button"},
    {0x0C, "consumer"}, {0xFF00, "vendor"},
};

const char *hid_page_name(uint16_t page)
{
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
        if (pages[i].page == page)
            return pages[i].name;
    return NULL;
}

int hid_page_parse(const char *name, uint16_t *page)
{
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
        if (strcmp(pages[i].name, name) == 0) {
            *page = pages[i].page;
            return 0;
        }
    return -1;
}
