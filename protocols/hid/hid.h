/*
 * HID report descriptors (HID 1.11 §6.2.2): a parser that yields the field
 * map of every input, output and feature report, value extraction from an
 * input report, and building of output/feature reports.  Pure: no I/O, no
 * allocation; malformed descriptors give an error, never an out-of-bounds read.
 */
#ifndef AGW_PROTOCOL_HID_H
#define AGW_PROTOCOL_HID_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HID_MAX_FIELDS 256
#define HID_MAX_USAGES 64      /* local usages remembered per main item */
#define HID_MAX_REPORT_BYTES 256
#define HID_MAX_DEPTH 16

enum hid_kind { HID_INPUT = 0, HID_OUTPUT, HID_FEATURE };

struct hid_field {
    enum hid_kind kind;
    uint8_t report_id;       /* 0 when the device uses no report ids */
    bool is_array, is_relative;
    uint16_t usage_page;
    uint32_t usage;          /* variables: the usage; arrays: usage_min */
    uint32_t usage_max;      /* arrays: the last usage of the range */
    int32_t logical_min, logical_max;
    uint16_t bit_offset;     /* from the first byte after the report id */
    uint8_t bit_size;
    uint16_t count;          /* variables: 1; arrays: slots */
};

struct hid_map {
    struct hid_field fields[HID_MAX_FIELDS];
    size_t n_fields;
    bool uses_report_ids;
    uint16_t report_bits[3][256]; /* size of each report by kind and id */
};

struct hid_error {
    size_t offset; /* the descriptor byte where it went wrong */
    char message[120];
};

int hid_parse(const uint8_t *desc, size_t len, struct hid_map *map, struct hid_error *err);

/* One usage's value in an input report: variables report their value,
 * arrays report 1 for each usage present in a slot. */
struct hid_value {
    uint16_t usage_page;
    uint32_t usage;
    int32_t value;
    bool is_array;
};

/* Extracts the values of one input report (report id first when the map
 * uses ids).  Returns how many were written to out (at most max), -1 when
 * the report is shorter than its fields or its id is unknown. */
int hid_extract(const struct hid_map *map, const uint8_t *report, size_t len,
                struct hid_value *out, size_t max, struct hid_error *err);

/* Builds an output or feature report: each (page, usage) variable field
 * gets its value, the rest zero.  Returns the length (id byte included when
 * used), -1 when a usage is not in that report. */
int hid_build(const struct hid_map *map, enum hid_kind kind, uint8_t report_id,
              const struct hid_value *values, size_t n, uint8_t *out, size_t outlen,
              struct hid_error *err);

/* The page of the first Usage Page item (the top-level collection's page:
 * 0x01 for keyboards, 0x0C for consumer controls), 0 when none. */
uint16_t hid_first_usage_page(const uint8_t *desc, size_t len);

const char *hid_page_name(uint16_t page); /* "consumer", "keyboard", ... or NULL */
int hid_page_parse(const char *name, uint16_t *page);
#endif
