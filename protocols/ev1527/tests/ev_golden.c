/* Golden-test driver: a receiver's byte stream (or keyboard reports, one a
 * line) in, JSON lines of codes and errors out.  "#format NAME" picks the format. */
#include <stdio.h>
#include "hexio.h"
#include <stdlib.h>
#include <string.h>

#include "ev1527.h"

static void print_code(const struct ev_code *c)
{
    char hex[7];
    ev_code_hex(c->code, hex);
    printf("{\"code\":\"%s\",\"address\":\"%05X\",\"key\":%u}\n", hex, (unsigned)c->address, c->key);
}

static void print_error(const struct ev_error *e)
{
    printf("{\"error\":\"%s\",\"offset\":%zu}\n", e->message, e->offset);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: ev_golden CHUNK FILE.hex\n");
        return 2;
    }
    size_t chunk = strtoul(argv[1], NULL, 10);
    FILE *f = fopen(argv[2], "r");
    if (!f)
        return 2;
    static uint8_t stream[1 << 16];
    size_t n = 0;
    enum ev_format format = EV_FORMAT_FDDF;
    static struct ev_decoder d;
    char line[4096];
    int keyboard_started = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "#format ", 8) == 0) {
            line[strcspn(line, "\r\n")] = '\0';
            if (ev_format_parse(line + 8, &format) < 0)
                return 2;
            continue;
        }
        if (line[0] == '#')
            continue;
        if (format == EV_FORMAT_KEYBOARD) {
            if (!keyboard_started++)
                ev_decoder_init(&d, format);
            uint8_t report[64];
            size_t len = hex_parse(line, report, sizeof(report));
            struct ev_code c;
            struct ev_error e;
            enum ev_next r = ev_keyboard_report(&d, report, len, &c, &e);
            if (r == EV_CODE)
                print_code(&c);
            else if (r == EV_ERROR)
                print_error(&e);
            continue;
        }
        n += hex_parse(line, stream + n, sizeof(stream) - n);
    }
    fclose(f);
    if (format == EV_FORMAT_KEYBOARD)
        return 0;
    ev_decoder_init(&d, format);
    for (size_t pos = 0; pos < n;) {
        size_t len = chunk ? (n - pos < chunk ? n - pos : chunk) : n - pos;
        pos += ev_decoder_feed(&d, stream + pos, len);
        struct ev_code c;
        struct ev_error e;
        enum ev_next r;
        while ((r = ev_decoder_next(&d, &c, &e)) != EV_NEED_MORE)
            r == EV_CODE ? print_code(&c) : print_error(&e);
    }
    if (d.len || d.garbage)
        printf("{\"incomplete_bytes\":%zu,\"unreported_garbage\":%zu}\n", d.len, d.garbage);
    return 0;
}
