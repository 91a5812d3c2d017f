/*
 * Evaluation pads (好差评评价器) on serial / RS-485 buses: no public protocol
 * exists, so the framing is data from a profile's [frame] section —
 * start/end bytes, fixed length, where the address and key are, and the
 * checksum (none, xor, sum8, crc16-modbus).  Pure: bytes in, frames out.
 */
#ifndef AGW_PROTOCOL_PADFRAME_H
#define AGW_PROTOCOL_PADFRAME_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pad_checksum { PAD_SUM_NONE, PAD_SUM_XOR, PAD_SUM_SUM8, PAD_SUM_CRC16_MODBUS };

struct pad_format {
    bool has_start, has_end;
    uint8_t start, end;
    size_t length;               /* whole frame, start to end */
    size_t address_at, key_at;   /* byte offsets in the frame */
    bool has_address;
    enum pad_checksum checksum;
    size_t checksum_from, checksum_at; /* covered bytes: [from, at) */
};

/* Applies one [frame] key (start, end, length, address, key, checksum,
 * checksum_from, checksum_at); -1 with a reason in err. */
int pad_format_set(struct pad_format *f, const char *key, const char *value, char *err, size_t errlen);
/* Checks the whole format is consistent. */
int pad_format_check(const struct pad_format *f, char *err, size_t errlen);

struct pad_frame {
    uint8_t address, key;
};

#define PAD_BUF 128

struct pad_decoder {
    struct pad_format f;
    uint8_t buf[PAD_BUF];
    size_t len, garbage;
    uint64_t consumed, garbage_at;
};

enum pad_next { PAD_NEED_MORE = 0, PAD_FRAME, PAD_ERROR };

struct pad_error {
    size_t offset;
    char message[120];
};

void pad_decoder_init(struct pad_decoder *d, const struct pad_format *f);
size_t pad_decoder_feed(struct pad_decoder *d, const uint8_t *in, size_t len);
enum pad_next pad_decoder_next(struct pad_decoder *d, struct pad_frame *out, struct pad_error *err);

/* The checksum of data by kind (crc16-modbus: poly 0xA001, init 0xFFFF). */
uint16_t pad_checksum(enum pad_checksum kind, const uint8_t *data, size_t len);
size_t pad_checksum_size(enum pad_checksum kind);
/* Writes the checksum of frame[from, at) at `at` (crc16: low byte first). */
void pad_put_checksum(const struct pad_format *f, uint8_t *frame, size_t len, size_t at);
#endif
