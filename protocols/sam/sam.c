#include "sam.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const uint8_t sam_preamble[SAM_PREAMBLE_LEN] = {0xAA, 0xAA, 0xAA, 0x96, 0x69};

static const struct {
    uint8_t cmd, para;
} request_codes[] = {
    [SAM_REQ_RESET] = {0x10, 0xFF},  [SAM_REQ_STATUS] = {0x11, 0xFF},
    [SAM_REQ_SAM_ID] = {0x12, 0xFF}, [SAM_REQ_FIND] = {0x20, 0x01},
    [SAM_REQ_SELECT] = {0x20, 0x02}, [SAM_REQ_READ] = {0x30, 0x01},
    [SAM_REQ_READ_FP] = {0x30, 0x10}, [SAM_REQ_READ_ADDRESS] = {0x30, 0x03},
    [SAM_REQ_SET_RF_BYTES] = {0x61, 0xFF},
};

size_t sam_encode_request(enum sam_request req, uint8_t arg, uint8_t *out, size_t outlen)
{
    if ((unsigned)req >= sizeof(request_codes) / sizeof(request_codes[0]))
        return 0;
    size_t extra = req == SAM_REQ_SET_RF_BYTES ? 1 : 0;
    size_t len = 3 + extra; /* CMD PARA [arg] CHK */
    size_t total = SAM_HEADER_LEN + len;
    if (outlen < total)
        return 0;
    memcpy(out, sam_preamble, SAM_PREAMBLE_LEN);
    out[5] = (uint8_t)(len >> 8);
    out[6] = (uint8_t)len;
    out[7] = request_codes[req].cmd;
    out[8] = request_codes[req].para;
    if (extra)
        out[9] = arg;
    uint8_t chk = 0;
    for (size_t i = 5; i < total - 1; i++)
        chk ^= out[i];
    out[total - 1] = chk;
    return total;
}

void sam_decoder_init(struct sam_decoder *d)
{
    d->len = 0;
    d->pending = 0;
    d->consumed = 0;
    d->garbage = 0;
    d->garbage_at = 0;
}

static void drop(struct sam_decoder *d, size_t n)
{
    memmove(d->buf, d->buf + n, d->len - n);
    d->len -= n;
    d->consumed += n;
}

size_t sam_decoder_feed(struct sam_decoder *d, const uint8_t *in, size_t len)
{
    if (d->pending) { /* the caller is done with the last frame */
        drop(d, d->pending);
        d->pending = 0;
    }
    size_t room = sizeof(d->buf) - d->len;
    size_t take = len < room ? len : room;
    memcpy(d->buf + d->len, in, take);
    d->len += take;
    return take;
}

/* Where a preamble (or the start of one cut by the buffer end) begins. */
static size_t find_preamble(const struct sam_decoder *d)
{
    for (size_t i = 0; i < d->len; i++) {
        size_t n = d->len - i < SAM_PREAMBLE_LEN ? d->len - i : SAM_PREAMBLE_LEN;
        if (memcmp(d->buf + i, sam_preamble, n) == 0)
            return i;
    }
    return d->len;
}

static enum sam_next fail(struct sam_error *err, enum sam_error_code code, uint64_t offset,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum sam_next fail(struct sam_error *err, enum sam_error_code code, uint64_t offset,
                          const char *fmt, ...)
{
    err->code = code;
    err->offset = (size_t)offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return SAM_ERROR;
}

enum sam_next sam_decoder_next(struct sam_decoder *d, struct sam_frame *f, struct sam_error *err)
{
    if (d->pending) {
        drop(d, d->pending);
        d->pending = 0;
    }
    size_t start = find_preamble(d);
    if (start > 0) {
        if (!d->garbage)
            d->garbage_at = d->consumed;
        d->garbage += start;
        drop(d, start);
    }
    if (d->len < SAM_PREAMBLE_LEN)
        return SAM_NEED_MORE; /* maybe the start of a preamble: wait for more */
    /* Garbage is reported once a real preamble ends it, so the report is
     * the same however the stream was chunked. */
    if (d->garbage) {
        size_t n = d->garbage;
        d->garbage = 0;
        return fail(err, SAM_ERR_GARBAGE, d->garbage_at, "skipped %zu byte(s) before a frame preamble",
                    n);
    }
    if (d->len < SAM_HEADER_LEN)
        return SAM_NEED_MORE;
    unsigned len = ((unsigned)d->buf[5] << 8) | d->buf[6];
    if (len < 2 || len > SAM_MAX_LEN) {
        uint64_t at = d->consumed + 5;
        drop(d, 1); /* not a frame after all: look for the next preamble */
        return fail(err, SAM_ERR_LENGTH, at, "frame length %u is outside 2..%u", len, SAM_MAX_LEN);
    }
    size_t total = SAM_HEADER_LEN + len;
    if (d->len < total)
        return SAM_NEED_MORE;
    uint8_t chk = 0;
    for (size_t i = 5; i < total; i++)
        chk ^= d->buf[i];
    if (chk != 0) {
        uint64_t at = d->consumed + total - 1;
        unsigned got = d->buf[total - 1];
        drop(d, 1);
        return fail(err, SAM_ERR_CHECKSUM, at, "bad checksum byte 0x%02x (XOR off by 0x%02x)", got,
                    chk);
    }
    /* The payload stays in place until the next call drops the frame. */
    f->payload = d->buf + SAM_HEADER_LEN;
    f->payload_len = len - 1;
    d->pending = total;
    return SAM_FRAME;
}

int sam_response_parse(const struct sam_frame *f, struct sam_response *r, struct sam_error *err)
{
    if (f->payload_len < 3) {
        fail(err, SAM_ERR_SHORT, 0, "response payload of %u byte(s) has no SW1 SW2 SW3",
             (unsigned)f->payload_len);
        return -1;
    }
    r->sw1 = f->payload[0];
    r->sw2 = f->payload[1];
    r->sw3 = f->payload[2];
    r->data = f->payload + 3;
    r->data_len = f->payload_len - 3;
    return 0;
}

const char *sam_status_name(uint8_t sw3, char buf[16])
{
    switch (sw3) {
    case SAM_SW_SUCCESS: return "success";
    case SAM_SW_NO_CONTENT: return "no_content";
    case SAM_SW_FIND_OK: return "find_ok";
    case SAM_SW_BAD_CHECKSUM: return "bad_checksum";
    case SAM_SW_BAD_LENGTH: return "bad_length";
    case SAM_SW_BAD_COMMAND: return "bad_command";
    case SAM_SW_UNAUTHORISED: return "unauthorised";
    case SAM_SW_UNKNOWN: return "unknown_error";
    case SAM_SW_CARD_AUTH_SAM: return "card_auth_sam_failed";
    case SAM_SW_SAM_AUTH_CARD: return "sam_auth_card_failed";
    case SAM_SW_VERIFY: return "verification_failed";
    case SAM_SW_FINGERPRINT: return "fingerprint_error";
    case SAM_SW_INFO_LENGTH: return "info_length_error";
    case SAM_SW_CARD_TYPE: return "unknown_card_type";
    case SAM_SW_READ_FAILED: return "read_failed";
    case SAM_SW_RANDOM: return "random_number_failed";
    case SAM_SW_SELF_TEST: return "sam_self_test_failed";
    case SAM_SW_NOT_AUTHORISED: return "sam_not_authorised";
    case SAM_SW_FIND_FAILED: return "find_failed";
    case SAM_SW_SELECT_FAILED: return "select_failed";
    default: snprintf(buf, 16, "status_0x%02x", sw3); return buf;
    }
}

static unsigned be16(const uint8_t *p) { return ((unsigned)p[0] << 8) | p[1]; }

int sam_read_parse(const uint8_t *data, size_t len, bool with_fingerprint, struct sam_read *out,
                   struct sam_error *err)
{
    size_t head = with_fingerprint ? 6 : 4;
    memset(out, 0, sizeof(*out));
    if (len < head) {
        fail(err, SAM_ERR_SHORT, len, "read data of %u byte(s) is shorter than its %u-byte header",
             (unsigned)len, (unsigned)head);
        return -1;
    }
    out->text_len = be16(data);
    out->photo_len = be16(data + 2);
    out->fingerprint_len = with_fingerprint ? be16(data + 4) : 0;
    size_t need = head + out->text_len + out->photo_len + out->fingerprint_len;
    if (need > len) {
        fail(err, SAM_ERR_SHORT, len, "length fields announce %u byte(s), the frame holds %u",
             (unsigned)need, (unsigned)len);
        return -1;
    }
    out->text = data + head;
    out->photo = out->text + out->text_len;
    out->fingerprint = out->fingerprint_len ? out->photo + out->photo_len : NULL;
    return 0;
}
