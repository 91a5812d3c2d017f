/* HID POS scanners (scan.h): the Bar Code Scanner page 0x8C.  The fields are
 * found by usage in the descriptor (real scanners put the symbology one byte
 * apart, and one declares its data with a reserved flag bit set), never by
 * fixed offsets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hid.h"
#include "scan.h"

#define U_DECODED_DATA 0x008C00FEu
#define U_DATA_CONTINUED 0x008C00FFu
#define U_AIM_1 0x008C00FBu
#define U_BYTE_COUNT 0x0001003Bu

static void take_field(struct scan_pos *p, const struct hid_map *map, const struct hid_field *f)
{
    for (size_t i = 0; i < f->count; i++) {
        uint32_t u = hid_field_usage(map, f, i);
        int32_t bit = (int32_t)(f->bit_offset + i * f->bit_size);
        if (u == U_BYTE_COUNT && p->count_bit < 0 && f->bit_size <= 16) {
            p->count_bit = bit;
            p->count_size = f->bit_size;
        } else if (u >= U_AIM_1 && u < U_AIM_1 + 3 && f->bit_size == 8) {
            p->aim_bit[u - U_AIM_1] = bit;
        } else if (u == U_DATA_CONTINUED && p->more_bit < 0) {
            p->more_bit = bit;
        }
    }
}

int scan_pos_init(struct scan_pos *p, const uint8_t *desc, size_t len, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    p->count_bit = p->more_bit = p->aim_bit[0] = p->aim_bit[1] = p->aim_bit[2] = -1;
    struct hid_map *map = malloc(sizeof(*map));
    struct hid_error e;
    if (!map) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (hid_parse(desc, len, map, &e) < 0) {
        snprintf(err, errlen, "report descriptor byte %zu: %s", e.offset, e.message);
        free(map);
        return -1;
    }
    const struct hid_field *data = NULL;
    for (size_t i = 0; i < map->n_fields && !data; i++) {
        const struct hid_field *f = &map->fields[i];
        if (f->kind == HID_INPUT && f->bit_size == 8 && hid_field_usage(map, f, 0) == U_DECODED_DATA)
            data = f;
    }
    if (!data) {
        snprintf(err, errlen, "no Decoded Data field (usage page 0x8C, usage 0xFE): not a HID POS "
                 "bar-code scanner, or not in its HID POS mode");
        free(map);
        return -1;
    }
    p->report_id = data->report_id;
    p->data_bit = data->bit_offset;
    p->data_count = data->count;
    for (size_t i = 0; i < map->n_fields; i++)
        if (map->fields[i].kind == HID_INPUT && map->fields[i].report_id == p->report_id)
            take_field(p, map, &map->fields[i]);
    p->numbered = map->numbered[HID_INPUT];
    free(map);
    return 0;
}

static unsigned bits_at(const uint8_t *r, size_t len, int32_t bit, unsigned size)
{
    unsigned v = 0;
    for (unsigned i = 0; i < size; i++) {
        size_t b = (size_t)bit + i;
        if (b / 8 >= len)
            break;
        v |= (unsigned)((r[b / 8] >> (b % 8)) & 1) << i;
    }
    return v;
}

static void end_code(struct scan_pos *p, enum scan_status status, scan_fn fn, void *ctx)
{
    size_t n = p->len;
    while (n && (p->buf[n - 1] == '\r' || p->buf[n - 1] == '\n')) /* a suffix some add */
        n--;
    if (status != SCAN_OK)
        fn(ctx, NULL, 0, status, p->aim);
    else if (p->overflow)
        fn(ctx, NULL, 0, SCAN_TOO_LONG, p->aim);
    else if (n)
        fn(ctx, p->buf, n, SCAN_OK, p->aim);
    p->len = 0;
    p->pending = p->overflow = false;
    memset(p->aim, 0, sizeof(p->aim));
}

void scan_pos_report(struct scan_pos *p, const uint8_t *report, size_t len, scan_fn fn, void *ctx)
{
    if (p->numbered) {
        if (len == 0 || report[0] != p->report_id)
            return; /* another report (a status, a vendor one) */
        report++;
        len--;
    }
    unsigned count = p->count_bit >= 0 ? bits_at(report, len, p->count_bit, p->count_size)
                                       : p->data_count;
    if (count > p->data_count)
        count = p->data_count;
    for (unsigned i = 0; i < count; i++) {
        size_t at = (p->data_bit + 8 * i) / 8;
        if (at >= len)
            break;
        if (p->len < sizeof(p->buf))
            p->buf[p->len++] = report[at];
        else
            p->overflow = true;
    }
    if (p->count_bit < 0) /* no count: the data is padded with zeros */
        while (p->len && p->buf[p->len - 1] == 0)
            p->len--;
    char aim[4] = {0};
    for (int k = 0; k < 3; k++)
        aim[k] = p->aim_bit[k] >= 0 ? (char)bits_at(report, len, p->aim_bit[k], 8) : 0;
    if (aim[0] == ']' && aim[1] && aim[2])
        memcpy(p->aim, aim, sizeof(aim)); /* the last report's, as hosts take it */
    p->pending = true;
    if (p->more_bit < 0 || !bits_at(report, len, p->more_bit, 1))
        end_code(p, SCAN_OK, fn, ctx);
}

void scan_pos_idle(struct scan_pos *p, scan_fn fn, void *ctx)
{
    if (p->pending)
        end_code(p, SCAN_INCOMPLETE, fn, ctx);
}
