/*
 * EV1527 call-button receivers: 24-bit codes (20-bit transmitter address +
 * 4-bit key) as three receiver families report them.  Pure: bytes in,
 * codes out, no I/O.
 *   - decoder modules (9600 baud): FD c2 c1 c0 [osc] DF
 *   - RF bridges (19200 baud): AA A4 SYNC(2) LOW(2) HIGH(2) c2 c1 c0 55; the host acks AA A0 55
 *   - keyboard receivers: HID boot keyboard reports "typing" 6 hex digits and Enter
 * A transmitter repeats its code several times per press: the decoders
 * report every frame; de-duplicating presses is the caller's job.
 */
#ifndef AGW_PROTOCOL_EV1527_H
#define AGW_PROTOCOL_EV1527_H
#include <stddef.h>
#include <stdint.h>

enum ev_format { EV_FORMAT_FDDF, EV_FORMAT_RFBRIDGE, EV_FORMAT_KEYBOARD };

struct ev_code {
    uint32_t code;    /* 24 bits */
    uint32_t address; /* code >> 4 */
    uint8_t key;      /* code & 0xF */
};

enum ev_next { EV_NEED_MORE = 0, EV_CODE, EV_ERROR };

struct ev_error {
    size_t offset; /* stream byte offset (or report number for keyboards) */
    char message[120];
};

#define EV_BUF 64

struct ev_decoder {
    enum ev_format format;
    uint8_t buf[EV_BUF];
    size_t len;
    size_t garbage;
    uint64_t consumed, garbage_at;
    /* keyboard */
    uint8_t keys_down[6];
    char typed[16];
    size_t typed_len;
    uint64_t reports;
};

int ev_format_parse(const char *name, enum ev_format *out);
const char *ev_format_name(enum ev_format f);
void ev_decoder_init(struct ev_decoder *d, enum ev_format format);
/* Serial formats: buffers bytes; returns how many were taken. */
size_t ev_decoder_feed(struct ev_decoder *d, const uint8_t *in, size_t len);
/* Serial formats: the next code or error from what was fed. */
enum ev_next ev_decoder_next(struct ev_decoder *d, struct ev_code *code, struct ev_error *err);
/* Keyboard receivers: one input report (8 bytes, boot protocol; a leading
 * report id is tolerated with 9).  EV_CODE when Enter completes a code. */
enum ev_next ev_keyboard_report(struct ev_decoder *d, const uint8_t *report, size_t len,
                                struct ev_code *code, struct ev_error *err);
struct ev_code ev_code_from(uint32_t code24);
/* "A1B2C5" */
void ev_code_hex(uint32_t code24, char out[7]);
/* The RF bridge's acknowledgement of a received code. */
extern const uint8_t ev_rfbridge_ack[3];
#endif
