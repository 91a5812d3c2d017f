/*
 * The resident ID-card SAM protocol (GA/T 467): frames, status codes and
 * the card text block.  Pure: bytes in, structs out, no I/O, no allocation.
 *
 * Frame: AA AA AA 96 69 | LEN_H LEN_L | payload... | CHK
 * LEN counts every byte after itself (CHK included); CHK is the XOR of
 * LEN_H through the last payload byte.  A response payload starts with
 * SW1 SW2 SW3 (00 00 status).
 */
#ifndef AGW_PROTOCOL_SAM_H
#define AGW_PROTOCOL_SAM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SAM_PREAMBLE_LEN 5
#define SAM_HEADER_LEN 7          /* preamble + LEN */
#define SAM_MAX_LEN 8192          /* largest LEN accepted (a fingerprint read is 0x090A) */
#define SAM_MAX_FRAME (SAM_HEADER_LEN + SAM_MAX_LEN)

extern const uint8_t sam_preamble[SAM_PREAMBLE_LEN];

enum sam_request {
    SAM_REQ_RESET,        /* 10 FF */
    SAM_REQ_STATUS,       /* 11 FF */
    SAM_REQ_SAM_ID,       /* 12 FF */
    SAM_REQ_FIND,         /* 20 01 */
    SAM_REQ_SELECT,       /* 20 02 */
    SAM_REQ_READ,         /* 30 01: text + photo */
    SAM_REQ_READ_FP,      /* 30 10: text + photo + fingerprint */
    SAM_REQ_READ_ADDRESS, /* 30 03: appended address */
    SAM_REQ_SET_RF_BYTES, /* 61 FF + 1 byte */
};

/* Status byte SW3 */
enum {
    SAM_SW_SUCCESS = 0x90, SAM_SW_NO_CONTENT = 0x91, SAM_SW_FIND_OK = 0x9F,
    SAM_SW_BAD_CHECKSUM = 0x10, SAM_SW_BAD_LENGTH = 0x11, SAM_SW_BAD_COMMAND = 0x21,
    SAM_SW_UNAUTHORISED = 0x23, SAM_SW_UNKNOWN = 0x24, SAM_SW_CARD_AUTH_SAM = 0x31,
    SAM_SW_SAM_AUTH_CARD = 0x32, SAM_SW_VERIFY = 0x33, SAM_SW_FINGERPRINT = 0x37,
    SAM_SW_INFO_LENGTH = 0x3F, SAM_SW_CARD_TYPE = 0x40, SAM_SW_READ_FAILED = 0x41,
    SAM_SW_RANDOM = 0x47, SAM_SW_SELF_TEST = 0x60, SAM_SW_NOT_AUTHORISED = 0x66,
    SAM_SW_FIND_FAILED = 0x80, SAM_SW_SELECT_FAILED = 0x81,
};

enum sam_error_code {
    SAM_OK = 0,
    SAM_ERR_GARBAGE,      /* bytes before a preamble were skipped */
    SAM_ERR_CHECKSUM,
    SAM_ERR_LENGTH,       /* LEN too small or above SAM_MAX_LEN */
    SAM_ERR_SHORT,        /* a payload or field shorter than its header says */
    SAM_ERR_FORMAT,       /* a field that is not what the standard says */
};

struct sam_error {
    enum sam_error_code code;
    size_t offset;        /* byte offset (in the stream, or in the parsed block) */
    char message[160];
};

/* Encodes a request; returns its length, 0 if out is too small. */
size_t sam_encode_request(enum sam_request req, uint8_t arg, uint8_t *out, size_t outlen);

/* ---- streaming frame decoder: any chunking, resynchronises on the preamble ---- */
struct sam_decoder {
    uint8_t buf[SAM_MAX_FRAME];
    size_t len;
    size_t pending;    /* size of the frame last returned, dropped at the next call */
    uint64_t consumed; /* stream offset of buf[0], for error messages */
    size_t garbage;    /* bytes skipped since the last frame, not yet reported */
    uint64_t garbage_at;
};

struct sam_frame {
    const uint8_t *payload; /* points into the decoder; valid until the next call */
    size_t payload_len;
};

enum sam_next { SAM_NEED_MORE = 0, SAM_FRAME, SAM_ERROR };

void sam_decoder_init(struct sam_decoder *d);
/* Buffers input; returns how many bytes were taken (call next() until
 * NEED_MORE, then feed the rest).  Invalidates the last frame's payload. */
size_t sam_decoder_feed(struct sam_decoder *d, const uint8_t *in, size_t len);
/* The next frame or error from what has been fed. */
enum sam_next sam_decoder_next(struct sam_decoder *d, struct sam_frame *f, struct sam_error *err);

/* A response's status and data (payload after SW1 SW2 SW3). */
struct sam_response {
    uint8_t sw1, sw2, sw3;
    const uint8_t *data;
    size_t data_len;
};
int sam_response_parse(const struct sam_frame *f, struct sam_response *r, struct sam_error *err);
/* "success", "find_failed", ... ; "status_0xNN" for unknown codes (buf). */
const char *sam_status_name(uint8_t sw3, char buf[16]);

/* ---- the read payload: [textLen][photoLen]([fpLen])[text][photo]([fp]) ---- */
struct sam_read {
    const uint8_t *text, *photo, *fingerprint;
    size_t text_len, photo_len, fingerprint_len;
};
int sam_read_parse(const uint8_t *data, size_t len, bool with_fingerprint, struct sam_read *out,
                   struct sam_error *err);

/* ---- the card text block ---- */
enum sam_card_type { SAM_CARD_RESIDENT, SAM_CARD_HKMOTW, SAM_CARD_FOREIGN, SAM_CARD_FOREIGN_2023 };

#define SAM_FIELD 192 /* UTF-8 bytes: 60 UCS-2 characters at most 3 bytes each, plus NUL */

struct sam_card {
    enum sam_card_type type;
    char name[SAM_FIELD];
    char english_name[SAM_FIELD * 2];
    char gender[16];        /* male | female | unknown | unspecified */
    char nation_code[8];
    const char *nation;     /* Chinese name from the code table, NULL when unknown */
    char birth_date[SAM_FIELD];
    char address[SAM_FIELD];
    char id_number[SAM_FIELD];
    char issuer[SAM_FIELD];
    char issuer_code[SAM_FIELD];
    char valid_from[SAM_FIELD];
    char valid_until[SAM_FIELD]; /* YYYY-MM-DD or "long-term" */
    char pass_number[SAM_FIELD];
    char issue_count[16];
    char nationality[16];
    char card_version[16];
    char renewal_count[16];
    char previous_card_link[16];
};

int sam_text_parse(const uint8_t *text, size_t len, struct sam_card *card, struct sam_error *err);
const char *sam_card_type_name(enum sam_card_type t);
const char *sam_nation_name(const char *code);
/* UCS-2LE -> UTF-8, trailing spaces and NULs trimmed; 0 or -1 if out is too small. */
int sam_ucs2_to_utf8(const uint8_t *in, size_t len, char *out, size_t outlen);
#endif
