/*
 * Code scanners (QR codes and barcodes): what three kinds of scanner send,
 * turned into scans.  No I/O; the scanner plugin feeds bytes and the idle
 * clock.  Facts and their sources: docs/reference/scanner.md.
 *
 * - keyboard wedges: struct input_events from a grabbed evdev node, decoded
 *   with a US layout and both Shift keys, whatever the desktop's layout; a
 *   scan ends at Enter, keypad Enter or Tab, or at the idle call;
 * - serial scanners: one code a line (CR, LF or CR LF), or the idle call;
 * - HID POS scanners (usage page 0x8C): the fields found by usage in the
 *   report descriptor, a code continued over several reports.
 * Then scan_finish() turns a scan's bytes into its text and symbology.
 */
#ifndef AGW_SCAN_H
#define AGW_SCAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCAN_MAX 4096 /* bytes of one code; a QR code holds at most 2953 */

enum scan_status {
    SCAN_OK = 0,
    SCAN_TOO_LONG,   /* more than SCAN_MAX bytes before the end: dropped */
    SCAN_INCOMPLETE, /* HID POS: the continuation never came */
    SCAN_LOST,       /* the kernel dropped input events during the scan (SYN_DROPPED) */
};

/* Called for every scan: its bytes (not NUL-terminated), or a failure. */
typedef void (*scan_fn)(void *ctx, const uint8_t *bytes, size_t len, enum scan_status status,
                        const char symbology[4]);

/* ---- keyboard wedges (evdev) ---- */
struct scan_keys {
    uint8_t partial[32]; /* a struct input_event split across reads */
    size_t partial_len;
    bool shift_left, shift_right, alt, dropping, lost;
    bool alt_codes;      /* Alt + keypad digits compose a character (decimal code point) */
    unsigned alt_value, alt_digits;
    uint8_t buf[SCAN_MAX];
    size_t len;
    bool overflow;
};
void scan_keys_init(struct scan_keys *k, bool alt_codes);
void scan_keys_feed(struct scan_keys *k, const uint8_t *data, size_t len, scan_fn fn, void *ctx);
/* end_ms passed without a key: what was typed is a scan */
void scan_keys_idle(struct scan_keys *k, scan_fn fn, void *ctx);
/* the character a key gives on a US keyboard (0: none) */
char scan_us_key(unsigned code, bool shift);

/* ---- serial scanners ---- */
struct scan_lines {
    uint8_t buf[SCAN_MAX];
    size_t len;
    bool after_cr, overflow;
};
void scan_lines_init(struct scan_lines *l);
void scan_lines_feed(struct scan_lines *l, const uint8_t *data, size_t len, scan_fn fn, void *ctx);
void scan_lines_idle(struct scan_lines *l, scan_fn fn, void *ctx);

/* ---- HID POS scanners ---- */
struct scan_pos {
    uint8_t report_id;
    bool numbered;      /* input reports start with their id */
    uint32_t data_bit;  /* Decoded Data (0x8C:0xFE), 8-bit slots */
    uint16_t data_count;
    int32_t count_bit;  /* Byte Count (0x01:0x3B); -1 when the descriptor has none */
    uint16_t count_size;
    int32_t aim_bit[3]; /* Symbology Identifier 1-3 (0x8C:0xFB-0xFD); -1 when absent */
    int32_t more_bit;   /* Decode Data Continued (0x8C:0xFF); -1 when absent */
    uint8_t buf[SCAN_MAX];
    size_t len;
    bool pending, overflow;
    char aim[4];
};
/* 0, or -1 with why in err (not a bar-code scanner's descriptor, or malformed) */
int scan_pos_init(struct scan_pos *p, const uint8_t *desc, size_t len, char *err, size_t errlen);
void scan_pos_report(struct scan_pos *p, const uint8_t *report, size_t len, scan_fn fn, void *ctx);
/* end_ms passed: a code still waiting for its continuation is incomplete */
void scan_pos_idle(struct scan_pos *p, scan_fn fn, void *ctx);

/* ---- a scan's text ---- */
struct scan_options {
    bool gbk;                 /* bytes are GBK (GB 18030), else UTF-8 */
    const char *strip_prefix; /* removed when the code starts with it (NULL: none) */
    const char *strip_suffix;
};
struct scan_text {
    char text[SCAN_MAX * 2 + 1]; /* UTF-8 */
    size_t length;               /* characters */
    char symbology[4];           /* "]Q1", or "" */
};
/* symbology: the scanner's AIM identifier, "" or NULL when it gave none.
 * 0, or -1 when the bytes are not text in that encoding (why in err) */
int scan_finish(const uint8_t *bytes, size_t len, const char *symbology,
                const struct scan_options *o, struct scan_text *out, char *err, size_t errlen);
#endif
