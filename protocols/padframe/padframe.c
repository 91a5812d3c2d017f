#include "padframe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int number(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 0);
    if (end == s || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

int pad_format_set(struct pad_format *f, const char *key, const char *value, char *err, size_t errlen)
{
    unsigned long v;
    if (strcmp(key, "checksum") == 0) {
        static const char *const names[] = {"none", "xor", "sum8", "crc16-modbus"};
        for (int i = 0; i < 4; i++)
            if (strcmp(value, names[i]) == 0) {
                f->checksum = (enum pad_checksum)i;
                return 0;
            }
        return bad(err, errlen, "checksum must be none, xor, sum8 or crc16-modbus");
    }
    bool is_byte = !strcmp(key, "start") || !strcmp(key, "end");
    if (number(value, is_byte ? 0xFF : PAD_BUF - 1, &v) < 0)
        return bad(err, errlen, "%s must be %s", key, is_byte ? "a byte such as 0x02" : "an offset");
    if (!strcmp(key, "start"))
        f->start = (uint8_t)v, f->has_start = true;
    else if (!strcmp(key, "end"))
        f->end = (uint8_t)v, f->has_end = true;
    else if (!strcmp(key, "length"))
        f->length = v;
    else if (!strcmp(key, "address"))
        f->address_at = v, f->has_address = true;
    else if (!strcmp(key, "key"))
        f->key_at = v;
    else if (!strcmp(key, "checksum_from"))
        f->checksum_from = v;
    else if (!strcmp(key, "checksum_at"))
        f->checksum_at = v;
    else
        return bad(err, errlen, "unknown [frame] key '%s'", key);
    return 0;
}

size_t pad_checksum_size(enum pad_checksum kind)
{
    return kind == PAD_SUM_NONE ? 0 : kind == PAD_SUM_CRC16_MODBUS ? 2 : 1;
}

int pad_format_check(const struct pad_format *f, char *err, size_t errlen)
{
    if (f->length < 2 || f->length > PAD_BUF)
        return bad(err, errlen, "[frame] length must be 2..%d", PAD_BUF);
    if (f->key_at >= f->length || (f->has_address && f->address_at >= f->length))
        return bad(err, errlen, "[frame] key/address offsets must lie inside the frame");
    size_t cs = pad_checksum_size(f->checksum);
    if (cs && (f->checksum_at + cs > f->length || f->checksum_from > f->checksum_at))
        return bad(err, errlen, "[frame] checksum_at/checksum_from must lie inside the frame");
    if (!f->has_start)
        return bad(err, errlen, "[frame] needs a start byte to find frames in a stream");
    return 0;
}

uint16_t pad_checksum(enum pad_checksum kind, const uint8_t *data, size_t len)
{
    uint16_t v = kind == PAD_SUM_CRC16_MODBUS ? 0xFFFF : 0;
    for (size_t i = 0; i < len; i++) {
        if (kind == PAD_SUM_XOR)
            v ^= data[i];
        else if (kind == PAD_SUM_SUM8)
            v = (uint8_t)(v + data[i]);
        else if (kind == PAD_SUM_CRC16_MODBUS) {
            v ^= data[i];
            for (int b = 0; b < 8; b++)
                v = (v & 1) ? (uint16_t)((v >> 1) ^ 0xA001) : (uint16_t)(v >> 1);
        }
    }
    return v;
}

void pad_put_checksum(const struct pad_format *f, uint8_t *frame, size_t len, size_t at)
{
    size_t size = pad_checksum_size(f->checksum);
    if (!size || at + size > len || f->checksum_from > at)
        return;
    uint16_t v = pad_checksum(f->checksum, frame + f->checksum_from, at - f->checksum_from);
    frame[at] = (uint8_t)v;
    if (size == 2)
        frame[at + 1] = (uint8_t)(v >> 8);
}

void pad_decoder_init(struct pad_decoder *d, const struct pad_format *f)
{
    memset(d, 0, sizeof(*d));
    d->f = *f;
}

size_t pad_decoder_feed(struct pad_decoder *d, const uint8_t *in, size_t len)
{
    size_t room = sizeof(d->buf) - d->len, take = len < room ? len : room;
    memcpy(d->buf + d->len, in, take);
    d->len += take;
    return take;
}

static void drop(struct pad_decoder *d, size_t n)
{
    memmove(d->buf, d->buf + n, d->len - n);
    d->len -= n;
    d->consumed += n;
}

static enum pad_next fail(struct pad_error *err, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum pad_next fail(struct pad_error *err, uint64_t offset, const char *fmt, ...)
{
    err->offset = (size_t)offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return PAD_ERROR;
}

enum pad_next pad_decoder_next(struct pad_decoder *d, struct pad_frame *out, struct pad_error *err)
{
    const struct pad_format *f = &d->f;
    size_t start = 0;
    while (start < d->len && d->buf[start] != f->start)
        start++;
    if (start) {
        if (!d->garbage)
            d->garbage_at = d->consumed;
        d->garbage += start;
        drop(d, start);
    }
    if (d->len == 0)
        return PAD_NEED_MORE;
    if (d->garbage) { /* reported once a start byte ends it: the same for any chunking */
        size_t n = d->garbage;
        d->garbage = 0;
        return fail(err, d->garbage_at, "skipped %zu byte(s) before a frame", n);
    }
    if (d->len < f->length)
        return PAD_NEED_MORE;
    uint64_t at = d->consumed;
    if (f->has_end && d->buf[f->length - 1] != f->end) {
        unsigned got = d->buf[f->length - 1];
        drop(d, 1);
        return fail(err, at + f->length - 1, "frame ends with 0x%02x, not 0x%02x", got, f->end);
    }
    size_t cs = pad_checksum_size(f->checksum);
    if (cs) {
        uint8_t expect[PAD_BUF];
        memcpy(expect, d->buf, f->length);
        pad_put_checksum(f, expect, f->length, f->checksum_at);
        if (memcmp(expect + f->checksum_at, d->buf + f->checksum_at, cs) != 0) {
            unsigned got = d->buf[f->checksum_at], want = expect[f->checksum_at];
            drop(d, 1);
            return fail(err, at + f->checksum_at, "bad checksum 0x%02x (expected 0x%02x)", got, want);
        }
    }
    out->address = f->has_address ? d->buf[f->address_at] : 0;
    out->key = d->buf[f->key_at];
    drop(d, f->length);
    return PAD_FRAME;
}
