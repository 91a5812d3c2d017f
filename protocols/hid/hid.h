/*
 * HID report descriptors (HID 1.11 §6.2.2) parsed by the Linux kernel's
 * rules (drivers/hid/hid-core.c: hid_parser_global, hid_parser_local,
 * hid_add_field, hid_concatenate_last_usage_page, hid_input_fetch_field):
 * the same limits, the same usage order, the same refusals.  A device the
 * kernel accepts is accepted here, and its keys get the names the kernel
 * gives them.  Pure: no I/O, no allocation; malformed descriptors and
 * reports give an error with the byte offset, never an out-of-bounds read.
 */
#ifndef AGW_PROTOCOL_HID_H
#define AGW_PROTOCOL_HID_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel's limits (include/linux/hid.h) */
#define HID_MAX_DESCRIPTOR_SIZE 4096 /* what usbhid, hidp, uhid and hidraw hand over */
#define HID_MAX_USAGES 12288         /* usages of one main item */
#define HID_MAX_FIELDS 256           /* fields of one report; more are dropped, as the kernel does */
#define HID_MAX_IDS 256
#define HID_MAX_BUFFER_SIZE 16384    /* a report, its id byte included */
#define HID_MAX_REPORT_BYTES (HID_MAX_BUFFER_SIZE - 1)
#define HID_MAX_VALUE_BITS 256       /* Report Size */
#define HID_GLOBAL_STACK_SIZE 4

/* Bounds of the map that follow from HID_MAX_DESCRIPTOR_SIZE: a field needs
 * at least a one-byte Usage and a one-byte main item; a usage run at least
 * one local item. */
#define HID_MAP_FIELDS (HID_MAX_DESCRIPTOR_SIZE / 2)
#define HID_MAP_RUNS HID_MAX_DESCRIPTOR_SIZE

enum hid_kind { HID_INPUT = 0, HID_OUTPUT, HID_FEATURE };

/* Consecutive usages of one local item (a Usage, or a Usage Minimum/Maximum
 * range), kept in declaration order as the kernel's usage list is. */
struct hid_usage_run {
    uint32_t first;  /* page << 16 | id */
    uint16_t count;
    bool extended;   /* a 4-byte usage: carries its own page, never re-paged */
};

struct hid_field {
    enum hid_kind kind;
    uint8_t report_id;       /* 0 when that kind of report is not numbered */
    bool is_array, is_relative;
    bool is_constant;        /* kept for building reports; hid-input gives it no events */
    int32_t logical_min, logical_max;
    uint32_t bit_offset;     /* from the first byte after the report id */
    uint16_t bit_size;       /* 0-256; values wider than 32 bits are read as their low 32 */
    uint16_t count;          /* Report Count */
    uint16_t first_run, n_runs;
    uint16_t n_usages;       /* declared usages; slots past them repeat the last */
};

struct hid_map {
    struct hid_field fields[HID_MAP_FIELDS];
    size_t n_fields;
    struct hid_usage_run runs[HID_MAP_RUNS];
    size_t n_runs;
    bool numbered[3];                        /* by kind: reports start with their id */
    bool has_report[3][HID_MAX_IDS];
    uint32_t report_bits[3][HID_MAX_IDS];    /* size of each report by kind and id */
    uint16_t report_fields[3][HID_MAX_IDS];
    size_t dropped_fields;                   /* past HID_MAX_FIELDS in a report */
};

struct hid_error {
    size_t offset; /* the descriptor (or report) byte where it went wrong */
    char message[120];
};

int hid_parse(const uint8_t *desc, size_t len, struct hid_map *map, struct hid_error *err);

/* The i-th usage of a field (page << 16 | id), as the kernel's
 * field->usage[i]: slots past the declared usages repeat the last one. */
uint32_t hid_field_usage(const struct hid_map *map, const struct hid_field *f, size_t i);

/* One active control of an input report: a variable whose value is not 0,
 * or a usage an array slot names. */
struct hid_value {
    uint16_t usage_page;
    uint32_t usage;
    int32_t value;
    bool is_array;
};

/* The input report's active controls (report id first when input reports
 * are numbered).  A report shorter than its fields is read as zero-padded,
 * as the kernel does.  Returns how many were written to out (at most max);
 * -1 (err set) for an empty report or an id with no input report;
 * HID_ROLLOVER when an array reports ErrorRollOver (keys are in a phantom
 * state: the caller keeps what it had, as the kernel ignores the field). */
#define HID_ROLLOVER (-2)
int hid_extract(const struct hid_map *map, const uint8_t *report, size_t len,
                struct hid_value *out, size_t max, struct hid_error *err);

/* Builds an output or feature report: each (page, usage) variable gets its
 * value, the rest zero.  Returns the length (id byte included when the
 * report has one), -1 when a usage is not a variable of that report. */
int hid_build(const struct hid_map *map, enum hid_kind kind, uint8_t report_id,
              const struct hid_value *values, size_t n, uint8_t *out, size_t outlen,
              struct hid_error *err);

/* The page of the first Usage Page item (the top-level collection's page:
 * 0x01 for keyboards, 0x0C for consumer controls), 0 when none. */
uint16_t hid_first_usage_page(const uint8_t *desc, size_t len);

const char *hid_page_name(uint16_t page); /* "consumer", "keyboard", ... or NULL */
int hid_page_parse(const char *name, uint16_t *page);
#endif
