#include "hid.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Main item flags (HID 1.11 §6.2.2.5) */
#define FLAG_CONSTANT 0x01u
#define FLAG_VARIABLE 0x02u
#define FLAG_RELATIVE 0x04u

#define USAGE_ERROR_ROLLOVER 0x00070001u /* Keyboard page, id 1 */

struct globals {
    uint32_t usage_page;
    int32_t logical_min, logical_max;
    uint32_t report_size, report_count, report_id;
};

/* Reset at every main item, as the kernel's parser->local is. */
struct locals {
    size_t first_run;   /* this main item's usage runs start here in map->runs */
    uint32_t n_usages;
    uint32_t usage_min;
    int delimiter_depth, delimiter_branch;
};

struct parser {
    struct hid_map *map;
    struct globals g, stack[HID_GLOBAL_STACK_SIZE];
    int sp;
    struct locals l;
    size_t depth;
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

/* A usage of 16 bits or less takes the page in force (hid-core.c complete_usage). */
static uint32_t complete_usage(uint32_t usage, uint32_t page)
{
    return ((page & 0xFFFFu) << 16) | (usage & 0xFFFFu);
}

uint32_t hid_field_usage(const struct hid_map *map, const struct hid_field *f, size_t i)
{
    if (f->n_usages == 0)
        return 0;
    if (i >= f->n_usages)
        i = f->n_usages - 1u;
    for (size_t r = f->first_run; r < (size_t)f->first_run + f->n_runs; r++) {
        const struct hid_usage_run *run = &map->runs[r];
        if (i < run->count)
            return run->extended ? run->first + (uint32_t)i
                                 : complete_usage(run->first + (uint32_t)i, run->first >> 16);
        i -= run->count;
    }
    return 0;
}

/* ---- local items ---- */

static int add_run(struct parser *p, uint32_t first, uint64_t count, int size, size_t at)
{
    if (count == 0)
        return 0;
    if (p->l.n_usages + count > HID_MAX_USAGES)
        return fail(p->err, at, "usage index exceeded (more than %d usages before a main item)",
                    HID_MAX_USAGES);
    if (p->map->n_runs == HID_MAP_RUNS)
        return fail(p->err, at, "more than %d usage items", HID_MAP_RUNS);
    bool extended = size > 2;
    p->map->runs[p->map->n_runs++] = (struct hid_usage_run){
        extended ? first : complete_usage(first, p->g.usage_page), (uint16_t)count, extended};
    p->l.n_usages += (uint32_t)count;
    return 0;
}

/* Usage Maximum expands the range in place, after the usages declared
 * before it; past HID_MAX_USAGES it is cut short, as the kernel does. */
static int usage_maximum(struct parser *p, uint32_t max, int size, size_t at)
{
    uint32_t min = p->l.usage_min;
    /* u32 arithmetic, wrap included, exactly as hid_parser_local */
    if ((uint32_t)(max - min + p->l.n_usages) >= HID_MAX_USAGES) {
        max = HID_MAX_USAGES - p->l.n_usages + min - 1u;
        if (max == 0)
            return fail(p->err, at, "no more usage index available");
    }
    return add_run(p, min, max >= min ? (uint64_t)max - min + 1u : 0, size, at);
}

static int local_item(struct parser *p, unsigned tag, const uint8_t *d, int size, size_t at)
{
    uint32_t v = item_unsigned(d, size);
    if (tag == 0xA) { /* delimiter: only the first alternative set counts */
        if (v) {
            if (p->l.delimiter_depth != 0)
                return fail(p->err, at, "nested delimiters");
            p->l.delimiter_depth++;
            p->l.delimiter_branch++;
        } else {
            if (p->l.delimiter_depth < 1)
                return fail(p->err, at, "bogus close delimiter");
            p->l.delimiter_depth--;
        }
        return 0;
    }
    if ((tag == 0x0 || tag == 0x1 || tag == 0x2) && p->l.delimiter_branch > 1)
        return 0; /* an alternative usage */
    if (tag == 0x0)
        return add_run(p, v, 1, size, at);
    if (tag == 0x1)
        p->l.usage_min = v;
    else if (tag == 0x2)
        return usage_maximum(p, v, size, at);
    return 0; /* designators, strings: not needed for the field map */
}

/* ---- global items ---- */

static int global_item(struct parser *p, unsigned tag, const uint8_t *d, int size, size_t at)
{
    struct globals *g = &p->g;
    switch (tag) {
    case 0x0: g->usage_page = item_unsigned(d, size); break;
    case 0x1: g->logical_min = item_signed(d, size); break;
    case 0x2:
        /* an unsigned maximum written without a sign bit (25 FF) is common */
        g->logical_max = g->logical_min < 0 ? item_signed(d, size) : (int32_t)item_unsigned(d, size);
        break;
    case 0x3: case 0x4: case 0x5: case 0x6: break; /* physical min/max, unit exponent, unit */
    case 0x7:
        g->report_size = item_unsigned(d, size);
        if (g->report_size > HID_MAX_VALUE_BITS)
            return fail(p->err, at, "invalid report size %u (at most %d)", g->report_size,
                        HID_MAX_VALUE_BITS);
        break;
    case 0x8:
        g->report_id = item_unsigned(d, size);
        if (g->report_id == 0 || g->report_id >= HID_MAX_IDS)
            return fail(p->err, at, "report id %u is invalid (1-255)", g->report_id);
        break;
    case 0x9:
        g->report_count = item_unsigned(d, size);
        if (g->report_count > HID_MAX_USAGES)
            return fail(p->err, at, "invalid report count %u (at most %d)", g->report_count,
                        HID_MAX_USAGES);
        break;
    case 0xA:
        if (p->sp == HID_GLOBAL_STACK_SIZE)
            return fail(p->err, at, "global environment stack overflow (push beyond %d)",
                        HID_GLOBAL_STACK_SIZE);
        p->stack[p->sp++] = *g;
        break;
    case 0xB:
        if (p->sp == 0)
            return fail(p->err, at, "global environment stack underflow (pop without push)");
        *g = p->stack[--p->sp];
        break;
    default: return fail(p->err, at, "unknown global item tag 0x%x", tag);
    }
    return 0;
}

/* ---- main items ---- */

/* The last declared Usage Page goes to the usages before it that were
 * declared under another page (hid-core.c hid_concatenate_last_usage_page). */
static void concatenate_last_usage_page(struct parser *p)
{
    for (size_t r = p->map->n_runs; r-- > p->l.first_run;) {
        struct hid_usage_run *run = &p->map->runs[r];
        if (run->extended)
            continue;
        if (run->first >> 16 == p->g.usage_page)
            break;
        run->first = complete_usage(run->first, p->g.usage_page);
    }
}

static bool logical_range_valid(const struct globals *g)
{
    if (g->logical_min < 0)
        return g->logical_max >= g->logical_min;
    return (uint32_t)g->logical_max >= (uint32_t)g->logical_min;
}

static int add_field(struct parser *p, enum hid_kind kind, uint32_t flags, size_t at)
{
    struct hid_map *map = p->map;
    const struct globals *g = &p->g;
    uint8_t id = (uint8_t)g->report_id;
    map->has_report[kind][id] = true;
    if (id)
        map->numbered[kind] = true;
    if (!logical_range_valid(g))
        return fail(p->err, at, "logical range invalid (%d..%d)", g->logical_min, g->logical_max);
    uint32_t offset = map->report_bits[kind][id];
    uint64_t bits = offset + (uint64_t)g->report_size * g->report_count;
    if (bits > (uint64_t)HID_MAX_REPORT_BYTES * 8)
        return fail(p->err, at, "report %u is too long (more than %d bytes)", id, HID_MAX_REPORT_BYTES);
    map->report_bits[kind][id] = (uint32_t)bits;
    if (p->l.n_usages == 0)
        return 0; /* padding */
    if (map->report_fields[kind][id] == HID_MAX_FIELDS) {
        map->dropped_fields++; /* "too many fields in report": the kernel drops it too */
        return 0;
    }
    if (map->n_fields == HID_MAP_FIELDS)
        return fail(p->err, at, "more than %d fields", HID_MAP_FIELDS);
    map->report_fields[kind][id]++;
    map->fields[map->n_fields++] = (struct hid_field){
        .kind = kind, .report_id = id, .is_array = !(flags & FLAG_VARIABLE),
        .is_relative = (flags & FLAG_RELATIVE) != 0, .is_constant = (flags & FLAG_CONSTANT) != 0,
        .logical_min = g->logical_min,
        .logical_max = g->logical_max, .bit_offset = offset, .bit_size = (uint16_t)g->report_size,
        .count = (uint16_t)g->report_count, .first_run = (uint16_t)p->l.first_run,
        .n_runs = (uint16_t)(map->n_runs - p->l.first_run), .n_usages = (uint16_t)p->l.n_usages};
    return 1;
}

static int main_item(struct parser *p, unsigned tag, uint32_t flags, size_t at)
{
    concatenate_last_usage_page(p);
    int r = 0;
    switch (tag) {
    case 0x8: r = add_field(p, HID_INPUT, flags, at); break;
    case 0x9: r = add_field(p, HID_OUTPUT, flags, at); break;
    case 0xB: r = add_field(p, HID_FEATURE, flags, at); break;
    case 0xA: p->depth++; break;
    case 0xC:
        if (p->depth == 0)
            r = fail(p->err, at, "collection stack underflow (end collection without a collection)");
        else
            p->depth--;
        break;
    default: break; /* unknown main items: the kernel warns and goes on */
    }
    if (r <= 0) /* the runs of a main item that made no field are not kept */
        p->map->n_runs = p->l.first_run;
    memset(&p->l, 0, sizeof(p->l));
    p->l.first_run = p->map->n_runs;
    return r < 0 ? -1 : 0;
}

int hid_parse(const uint8_t *desc, size_t len, struct hid_map *map, struct hid_error *err)
{
    memset(map, 0, sizeof(*map));
    struct parser p = {.map = map, .err = err};
    if (len == 0)
        return fail(err, 0, "empty report descriptor");
    if (len > HID_MAX_DESCRIPTOR_SIZE)
        return fail(err, HID_MAX_DESCRIPTOR_SIZE, "descriptor of %zu bytes (at most %d)", len,
                    HID_MAX_DESCRIPTOR_SIZE);
    for (size_t i = 0; i < len;) {
        uint8_t prefix = desc[i];
        if (prefix >> 4 == 0xF) /* the kernel fetches long items only to refuse them */
            return fail(err, i, "unexpected long item 0x%02x", prefix);
        int size = (prefix & 3) == 3 ? 4 : (prefix & 3);
        if (i + 1 + (size_t)size > len)
            return fail(err, i, "item fetching failed: item 0x%02x needs %d data byte(s), %zu left",
                        prefix, size, len - i - 1);
        const uint8_t *d = desc + i + 1;
        unsigned type = (prefix >> 2) & 3, tag = prefix >> 4;
        int r = 0;
        if (type == 0)
            r = main_item(&p, tag, item_unsigned(d, size), i);
        else if (type == 1)
            r = global_item(&p, tag, d, size, i);
        else if (type == 2)
            r = local_item(&p, tag, d, size, i);
        /* type 3: reserved, ignored by the kernel */
        if (r < 0)
            return -1;
        i += 1 + (size_t)size;
    }
    if (p.depth != 0)
        return fail(err, len, "unbalanced collection at end of report description (%zu open)", p.depth);
    if (p.l.delimiter_depth)
        return fail(err, len, "unbalanced delimiter at end of report description");
    return 0;
}

/* ---- reports ---- */

/* n (≤ 32) bits at a bit offset; bytes past len read as zero, as the
 * kernel zero-pads a short report. */
static uint32_t get_bits(const uint8_t *data, size_t len, size_t bit, unsigned n)
{
    uint32_t v = 0;
    for (unsigned done = 0; done < n;) {
        size_t byte = (bit + done) / 8;
        unsigned shift = (unsigned)((bit + done) % 8), take = 8 - shift;
        if (take > n - done)
            take = n - done;
        uint32_t b = byte < len ? data[byte] : 0;
        v |= ((b >> shift) & ((1u << take) - 1u)) << done;
        done += take;
    }
    return v;
}

static void put_bits(uint8_t *data, size_t bit, unsigned n, uint32_t v)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t mask = (uint8_t)(1u << ((bit + i) % 8));
        if (i < 32 && (v & (1u << i)))
            data[(bit + i) / 8] |= mask;
        else
            data[(bit + i) / 8] &= (uint8_t)~mask;
    }
}

static int32_t sign_extend(uint32_t v, unsigned bits)
{
    if (bits == 0 || bits >= 32 || !(v & (1u << (bits - 1))))
        return (int32_t)v;
    return (int32_t)(v | ~((1u << bits) - 1u));
}

static int32_t slot_value(const struct hid_field *f, const uint8_t *report, size_t len, unsigned slot)
{
    unsigned bits = f->bit_size > 32 ? 32 : f->bit_size; /* hid_field_extract reads 32 at most */
    uint32_t raw = get_bits(report, len, f->bit_offset + (size_t)slot * f->bit_size, bits);
    return f->logical_min < 0 ? sign_extend(raw, bits) : (int32_t)raw;
}

/* hid_array_value_is_valid: in the logical range and naming a usage slot */
static bool array_index(const struct hid_field *f, int32_t v, size_t *index)
{
    if (v < f->logical_min || v > f->logical_max)
        return false;
    uint64_t i = (uint64_t)((int64_t)v - f->logical_min);
    size_t slots = f->n_usages > f->count ? f->n_usages : f->count;
    if (i >= slots)
        return false;
    *index = (size_t)i;
    return true;
}

static bool is_input_field(const struct hid_field *f, uint8_t id)
{
    return f->kind == HID_INPUT && f->report_id == id && !f->is_constant;
}

static bool reports_rollover(const struct hid_map *map, const struct hid_field *f,
                             const uint8_t *report, size_t len)
{
    for (unsigned slot = 0; f->is_array && slot < f->count; slot++) {
        size_t index;
        if (array_index(f, slot_value(f, report, len, slot), &index) &&
            hid_field_usage(map, f, index) == USAGE_ERROR_ROLLOVER)
            return true;
    }
    return false;
}

int hid_extract(const struct hid_map *map, const uint8_t *report, size_t len,
                struct hid_value *out, size_t max, struct hid_error *err)
{
    uint8_t id = 0;
    if (map->numbered[HID_INPUT]) {
        if (len < 1)
            return fail(err, 0, "empty report");
        id = report[0];
        report++;
        len--;
    }
    if (!map->has_report[HID_INPUT][id])
        return fail(err, 0, "no input report with id %u", id);
    for (size_t i = 0; i < map->n_fields; i++)
        if (is_input_field(&map->fields[i], id) &&
            reports_rollover(map, &map->fields[i], report, len))
            return HID_ROLLOVER;
    size_t n = 0;
    for (size_t i = 0; i < map->n_fields && n < max; i++) {
        const struct hid_field *f = &map->fields[i];
        if (!is_input_field(f, id))
            continue;
        for (unsigned slot = 0; slot < f->count && n < max; slot++) {
            int32_t v = slot_value(f, report, len, slot);
            size_t index = slot;
            if (f->is_array && !array_index(f, v, &index))
                continue;
            if (!f->is_array && v == 0)
                continue;
            uint32_t usage = hid_field_usage(map, f, index);
            if (f->is_array && (usage & 0xFFFFu) == 0)
                continue; /* id 0 is "no control" in every usage table */
            out[n++] = (struct hid_value){(uint16_t)(usage >> 16), usage & 0xFFFFu,
                                          f->is_array ? 1 : v, f->is_array};
        }
    }
    return (int)n;
}

/* hid-core.c s32ton: a signed value out of range is clamped, not wrapped */
static uint32_t to_field_bits(const struct hid_field *f, int32_t value, unsigned bits)
{
    if (f->logical_min >= 0 || bits >= 32)
        return (uint32_t)value;
    int32_t lo = -(int32_t)(1u << (bits - 1)), hi = (int32_t)(1u << (bits - 1)) - 1;
    return (uint32_t)(value < lo ? lo : value > hi ? hi : value);
}

static bool find_variable(const struct hid_map *map, enum hid_kind kind, uint8_t id,
                          const struct hid_value *v, const struct hid_field **field, unsigned *slot)
{
    uint32_t want = ((uint32_t)v->usage_page << 16) | (v->usage & 0xFFFFu);
    for (size_t i = 0; i < map->n_fields; i++) {
        const struct hid_field *f = &map->fields[i];
        if (f->kind != kind || f->report_id != id || f->is_array)
            continue;
        for (unsigned s = 0; s < f->count; s++)
            if (hid_field_usage(map, f, s) == want) {
                *field = f;
                *slot = s;
                return true;
            }
    }
    return false;
}

int hid_build(const struct hid_map *map, enum hid_kind kind, uint8_t report_id,
              const struct hid_value *values, size_t n, uint8_t *out, size_t outlen,
              struct hid_error *err)
{
    uint8_t id = map->numbered[kind] ? report_id : 0;
    if (!map->has_report[kind][id] || map->report_bits[kind][id] == 0)
        return fail(err, 0, "no such report (kind %d, id %u)", kind, report_id);
    size_t head = id ? 1 : 0, total = head + (map->report_bits[kind][id] + 7) / 8;
    if (total > outlen)
        return fail(err, 0, "report of %zu bytes does not fit", total);
    memset(out, 0, total);
    if (head)
        out[0] = id;
    for (size_t k = 0; k < n; k++) {
        const struct hid_field *f;
        unsigned slot;
        if (!find_variable(map, kind, id, &values[k], &f, &slot))
            return fail(err, k, "usage %04x:%04x is not a field of that report",
                        values[k].usage_page, (unsigned)values[k].usage);
        unsigned bits = f->bit_size > 32 ? 32 : f->bit_size;
        put_bits(out + head, f->bit_offset + (size_t)slot * f->bit_size, f->bit_size,
                 to_field_bits(f, values[k].value, bits));
    }
    return (int)total;
}

uint16_t hid_first_usage_page(const uint8_t *desc, size_t len)
{
    for (size_t i = 0; i < len;) {
        uint8_t prefix = desc[i];
        if (prefix >> 4 == 0xF)
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
