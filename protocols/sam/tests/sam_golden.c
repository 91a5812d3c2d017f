/* Golden-test driver: a hex byte stream in (any chunking), JSON lines out:
 * each frame's status, each decoder error, each decoded card. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hexio.h"
#include "sam.h"
#include "sam_json.h"

static const char *const error_names[] = {"ok", "garbage", "checksum", "length", "short", "format"};

static size_t read_hex(FILE *f, uint8_t *out, size_t max, int *fingerprint)
{
    char line[4096];
    size_t n = 0;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#') {
            if (strncmp(line, "#fingerprint", 12) == 0)
                *fingerprint = 1;
            continue;
        }
        n += hex_parse(line, out + n, max - n);
    }
    return n;
}

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_SORT_KEYS);
    puts(s);
    free(s);
    json_decref(o);
}

static void on_frame(const struct sam_frame *f, int fingerprint)
{
    struct sam_response r;
    struct sam_error err;
    char buf[16];
    if (sam_response_parse(f, &r, &err) < 0) {
        print_json(json_pack("{s:{s:s,s:s}}", "error", "code", error_names[err.code], "message",
                             err.message));
        return;
    }
    print_json(json_pack("{s:{s:s,s:i}}", "frame", "status", sam_status_name(r.sw3, buf),
                         "data_len", (int)r.data_len));
    if (r.sw3 != SAM_SW_SUCCESS || r.data_len < 4 || r.data_len == 8)
        return; /* select's 8 zero bytes are not a read */
    struct sam_read rd;
    struct sam_card card;
    if (sam_read_parse(r.data, r.data_len, fingerprint, &rd, &err) < 0 ||
        sam_text_parse(rd.text, rd.text_len, &card, &err) < 0) {
        print_json(json_pack("{s:{s:s,s:i,s:s}}", "read_error", "code", error_names[err.code],
                             "offset", (int)err.offset, "message", err.message));
        return;
    }
    json_t *data = sam_card_to_json(&card, &rd);
    /* the photo is long and opaque: its length stands in for it */
    const char *photo = json_string_value(json_object_get(data, "photo_wlt"));
    if (photo)
        json_object_set_new(data, "photo_wlt", json_integer((json_int_t)strlen(photo)));
    print_json(json_pack("{s:o}", "card", data));
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: sam_golden CHUNK FILE.hex   (CHUNK 0 = all at once)\n");
        return 2;
    }
    size_t chunk = strtoul(argv[1], NULL, 10);
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 2;
    }
    static uint8_t stream[1 << 20];
    int fingerprint = 0;
    size_t n = read_hex(f, stream, sizeof(stream), &fingerprint);
    fclose(f);
    static struct sam_decoder d;
    sam_decoder_init(&d);
    size_t pos = 0;
    while (pos < n) {
        size_t len = chunk ? (n - pos < chunk ? n - pos : chunk) : n - pos;
        size_t took = sam_decoder_feed(&d, stream + pos, len);
        pos += took;
        struct sam_frame fr;
        struct sam_error err;
        enum sam_next r;
        while ((r = sam_decoder_next(&d, &fr, &err)) != SAM_NEED_MORE) {
            if (r == SAM_FRAME)
                on_frame(&fr, fingerprint);
            else
                print_json(json_pack("{s:{s:s,s:i,s:s}}", "error", "code", error_names[err.code],
                                     "offset", (int)err.offset, "message", err.message));
        }
    }
    if (d.len || d.garbage)
        print_json(json_pack("{s:i, s:i}", "incomplete_bytes", (int)d.len, "unreported_garbage",
                             (int)d.garbage));
    return 0;
}
