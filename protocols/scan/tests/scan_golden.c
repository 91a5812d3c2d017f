/* Golden-test driver for the scanner codecs.  Directives: "#kind keys|lines|pos",
 * "#desc HEX" (pos: the report descriptor), "#gbk", "#alt" (keys: Alt codes on),
 * "#strip PREFIX SUFFIX" ("-" for none), "idle" (end_ms passed); other lines are
 * hex: a byte stream (keys, lines: fed CHUNK bytes at a time) or one report (pos).
 * Out: one JSON line per scan or failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hexio.h"
#include "scan.h"

static struct scan_options options;
static char prefix[64], suffix[64];

static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void on_scan(void *ctx, const uint8_t *bytes, size_t len, enum scan_status status,
                    const char symbology[4])
{
    (void)ctx;
    static const char *const names[] = {"ok", "too_long", "incomplete", "lost"};
    if (status != SCAN_OK) {
        printf("{\"error\":\"%s\"}\n", names[status]);
        return;
    }
    static struct scan_text t;
    char err[160];
    if (scan_finish(bytes, len, symbology, &options, &t, err, sizeof(err)) < 0) {
        printf("{\"error\":\"encoding\",\"message\":");
        print_json_string(err);
        printf("}\n");
        return;
    }
    printf("{\"text\":");
    print_json_string(t.text);
    printf(",\"length\":%zu,\"symbology\":\"%s\"}\n", t.length, t.symbology);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: scan_golden CHUNK FILE.hex\n");
        return 2;
    }
    size_t chunk = strtoul(argv[1], NULL, 10);
    FILE *f = fopen(argv[2], "r");
    if (!f)
        return 2;
    static struct scan_keys keys;
    static struct scan_lines lines;
    static struct scan_pos pos;
    static uint8_t data[1 << 16];
    static char line[1 << 17];
    char kind[16] = "keys";
    bool alt = false;
    scan_keys_init(&keys, false);
    scan_lines_init(&lines);
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (sscanf(line, "#kind %15s", kind) == 1)
            continue;
        if (strcmp(line, "#alt") == 0 || strcmp(line, "#gbk") == 0) {
            alt = alt || line[1] == 'a';
            options.gbk = options.gbk || line[1] == 'g';
            scan_keys_init(&keys, alt);
            continue;
        }
        if (sscanf(line, "#strip %63s %63s", prefix, suffix) == 2) {
            options.strip_prefix = strcmp(prefix, "-") ? prefix : NULL;
            options.strip_suffix = strcmp(suffix, "-") ? suffix : NULL;
            continue;
        }
        if (strncmp(line, "#desc ", 6) == 0) {
            size_t n = hex_parse(line + 6, data, sizeof(data));
            char err[200];
            if (scan_pos_init(&pos, data, n, err, sizeof(err)) < 0)
                printf("{\"descriptor\":\"%s\"}\n", err);
            continue;
        }
        if (line[0] == '#' || !line[0])
            continue;
        bool idle = strcmp(line, "idle") == 0;
        if (kind[0] == 'p') {
            if (idle)
                scan_pos_idle(&pos, on_scan, NULL);
            else
                scan_pos_report(&pos, data, hex_parse(line, data, sizeof(data)), on_scan, NULL);
            continue;
        }
        if (idle) {
            if (kind[0] == 'k')
                scan_keys_idle(&keys, on_scan, NULL);
            else
                scan_lines_idle(&lines, on_scan, NULL);
            continue;
        }
        size_t n = hex_parse(line, data, sizeof(data));
        for (size_t at = 0; at < n;) {
            size_t take = chunk && n - at > chunk ? chunk : n - at;
            if (kind[0] == 'k')
                scan_keys_feed(&keys, data + at, take, on_scan, NULL);
            else
                scan_lines_feed(&lines, data + at, take, on_scan, NULL);
            at += take;
        }
    }
    fclose(f);
    return 0;
}
