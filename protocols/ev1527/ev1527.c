#include "ev1527.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const uint8_t ev_rfbridge_ack[3] = {0xAA, 0xA0, 0x55};

#define FDDF_START 0xFD
#define FDDF_END 0xDF
#define RF_LEN 12

int ev_format_parse(const char *name, enum ev_format *out)
{
    if (strcmp(name, "fd-df") == 0)
        *out = EV_FORMAT_FDDF;
    else if (strcmp(name, "rfbridge") == 0)
        *out = EV_FORMAT_RFBRIDGE;
    else if (strcmp(name, "keyboard") == 0)
        *out = EV_FORMAT_KEYBOARD;
    else
        return -1;
    return 0;
}

const char *ev_format_name(enum ev_format f)
{
    return f == EV_FORMAT_FDDF ? "fd-df" : f == EV_FORMAT_RFBRIDGE ? "rfbridge" : "keyboard";
}

struct ev_code ev_code_from(uint32_t code24)
{
    code24 &= 0xFFFFFF;
    return (struct ev_code){code24, code24 >> 4, (uint8_t)(code24 & 0xF)};
}

void ev_code_hex(uint32_t code24, char out[7])
{
    snprintf(out, 7, "%06X", (unsigned)(code24 & 0xFFFFFF));
}

void ev_decoder_init(struct ev_decoder *d, enum ev_format format)
{
    memset(d, 0, sizeof(*d));
    d->format = format;
}

static void drop(struct ev_decoder *d, size_t n)
{
    memmove(d->buf, d->buf + n, d->len - n);
    d->len -= n;
    d->consumed += n;
}

size_t ev_decoder_feed(struct ev_decoder *d, const uint8_t *in, size_t len)
{
    size_t room = sizeof(d->buf) - d->len;
    size_t take = len < room ? len : room;
    memcpy(d->buf + d->len, in, take);
    d->len += take;
    return take;
}

static enum ev_next fail(struct ev_error *err, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum ev_next fail(struct ev_error *err, uint64_t offset, const char *fmt, ...)
{
    err->offset = (size_t)offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return EV_ERROR;
}

/* Index of the first byte that may start a frame (a partial start at the end counts). */
static size_t find_start(const struct ev_decoder *d)
{
    for (size_t i = 0; i < d->len; i++) {
        if (d->format == EV_FORMAT_FDDF && d->buf[i] == FDDF_START)
            return i;
        if (d->format == EV_FORMAT_RFBRIDGE && d->buf[i] == 0xAA &&
            (i + 1 == d->len || d->buf[i + 1] == 0xA4))
            return i;
    }
    return d->len;
}

static uint32_t be24(const uint8_t *p) { return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2]; }

/* FD c2 c1 c0 DF, or FD c2 c1 c0 osc DF (the oscillator byte is ignored). */
static enum ev_next next_fddf(struct ev_decoder *d, struct ev_code *code, struct ev_error *err)
{
    if (d->len < 5)
        return EV_NEED_MORE;
    if (d->buf[4] == FDDF_END) {
        *code = ev_code_from(be24(d->buf + 1));
        drop(d, 5);
        return EV_CODE;
    }
    if (d->len < 6)
        return EV_NEED_MORE;
    if (d->buf[5] == FDDF_END) {
        *code = ev_code_from(be24(d->buf + 1));
        drop(d, 6);
        return EV_CODE;
    }
    uint64_t at = d->consumed;
    drop(d, 1);
    return fail(err, at, "FD group without DF after 3 or 4 code bytes");
}

static enum ev_next next_rfbridge(struct ev_decoder *d, struct ev_code *code, struct ev_error *err)
{
    if (d->len < RF_LEN)
        return EV_NEED_MORE;
    if (d->buf[RF_LEN - 1] != 0x55) {
        uint64_t at = d->consumed + RF_LEN - 1;
        unsigned got = d->buf[RF_LEN - 1];
        drop(d, 1);
        return fail(err, at, "RF frame ends with 0x%02x, not 0x55", got);
    }
    *code = ev_code_from(be24(d->buf + 8));
    drop(d, RF_LEN);
    return EV_CODE;
}

enum ev_next ev_decoder_next(struct ev_decoder *d, struct ev_code *code, struct ev_error *err)
{
    if (d->format == EV_FORMAT_KEYBOARD)
        return EV_NEED_MORE;
    size_t start = find_start(d);
    if (start > 0) {
        if (!d->garbage)
            d->garbage_at = d->consumed;
        d->garbage += start;
        drop(d, start);
    }
    if (d->len < 2)
        return EV_NEED_MORE;
    if (d->garbage) { /* reported once a frame start ends it: the same for any chunking */
        size_t n = d->garbage;
        d->garbage = 0;
        return fail(err, d->garbage_at, "skipped %zu byte(s) before a frame", n);
    }
    return d->format == EV_FORMAT_FDDF ? next_fddf(d, code, err) : next_rfbridge(d, code, err);
}

/* HID keyboard usage -> the hex digit it types, or -1 */
static int hex_digit_of(uint8_t usage)
{
    if (usage >= 0x04 && usage <= 0x09)
        return 'A' + (usage - 0x04); /* a-f */
    if (usage >= 0x1E && usage <= 0x26)
        return '1' + (usage - 0x1E); /* 1-9 */
    if (usage == 0x27)
        return '0';
    return -1;
}

static int newly_pressed(const struct ev_decoder *d, uint8_t usage)
{
    for (int i = 0; i < 6; i++)
        if (d->keys_down[i] == usage)
            return 0;
    return 1;
}

enum ev_next ev_keyboard_report(struct ev_decoder *d, const uint8_t *report, size_t len,
                                struct ev_code *code, struct ev_error *err)
{
    uint64_t n = d->reports++;
    if (len == 9)
        report++, len--; /* a report id in front */
    if (len != 8)
        return fail(err, n, "keyboard report of %zu bytes, expected 8", len);
    enum ev_next result = EV_NEED_MORE;
    for (int i = 2; i < 8; i++) {
        uint8_t u = report[i];
        if (u == 0 || !newly_pressed(d, u))
            continue; /* held keys repeat in every report: only the press counts */
        if (u == 0x28 || u == 0x58) { /* Enter, keypad Enter */
            char text[16];
            memcpy(text, d->typed, d->typed_len);
            text[d->typed_len] = '\0';
            size_t typed = d->typed_len;
            d->typed_len = 0;
            if (typed != 6) {
                result = fail(err, n, "%zu hex digit(s) typed before Enter, expected 6", typed);
                continue;
            }
            unsigned v;
            sscanf(text, "%6x", &v);
            *code = ev_code_from(v);
            result = EV_CODE;
        } else {
            int c = hex_digit_of(u);
            if (c < 0) {
                d->typed_len = 0;
                result = fail(err, n, "key usage 0x%02x is not a hex digit", u);
            } else if (d->typed_len < 6) {
                d->typed[d->typed_len++] = (char)c;
            } else {
                d->typed_len = 0;
                result = fail(err, n, "more than 6 digits without Enter");
            }
        }
    }
    memcpy(d->keys_down, report + 2, 6);
    return result;
}
