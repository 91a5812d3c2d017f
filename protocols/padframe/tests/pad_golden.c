/* Golden-test driver: a profile ([frame] and [input]), the bus's pad
 * addresses, and a byte stream in; frames, ratings and errors out.
 *   #profile PATH (relative to the .hex file)   #pads 1 2 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hexio.h"
#include "hid_profile.h"
#include "padframe.h"

static const char *const actions[] = {"rate", NULL};

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    size_t chunk = strtoul(argv[1], NULL, 10);
    FILE *f = fopen(argv[2], "r");
    if (!f)
        return 2;
    char dir[4096], line[4096], err[512];
    snprintf(dir, sizeof(dir), "%s", argv[2]);
    dirname(dir);
    static struct profile prof;
    static uint8_t stream[65536];
    size_t n = 0;
    int pads[16], n_pads = 0;
    struct pad_format fmt = {0};
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!strncmp(line, "#profile ", 9)) {
            char path[8192];
            snprintf(path, sizeof(path), "%s/%s", dir, line + 9);
            FILE *pf = fopen(path, "r");
            static char text[65536];
            size_t len = pf ? fread(text, 1, sizeof(text), pf) : 0;
            if (pf)
                fclose(pf);
            if (profile_parse(text, len, line + 9, actions, &prof, err, sizeof(err)) < 0) {
                printf("{\"profile_error\":\"%s\"}\n", err);
                return 0;
            }
            for (size_t i = 0; i < prof.n_frame; i++)
                if (pad_format_set(&fmt, prof.frame[i].key, prof.frame[i].value, err, sizeof(err)) < 0) {
                    printf("{\"frame_error\":\"%s\"}\n", err);
                    return 0;
                }
            continue;
        }
        if (!strncmp(line, "#pads", 5)) {
            for (char *p = line + 5; *p;) {
                char *end;
                long v = strtol(p, &end, 0);
                if (end == p)
                    break;
                pads[n_pads++] = (int)v;
                p = end;
            }
            continue;
        }
        if (line[0] == '#')
            continue;
        n += hex_parse(line, stream + n, sizeof(stream) - n);
    }
    fclose(f);
    static struct pad_decoder d;
    pad_decoder_init(&d, &fmt);
    for (size_t pos = 0; pos < n;) {
        size_t len = chunk ? (n - pos < chunk ? n - pos : chunk) : n - pos;
        pos += pad_decoder_feed(&d, stream + pos, len);
        struct pad_frame fr;
        struct pad_error e;
        enum pad_next r;
        while ((r = pad_decoder_next(&d, &fr, &e)) != PAD_NEED_MORE) {
            if (r == PAD_ERROR) {
                printf("{\"error\":\"%s\",\"offset\":%zu}\n", e.message, e.offset);
                continue;
            }
            int known = 0;
            for (int i = 0; i < n_pads; i++)
                known |= pads[i] == fr.address;
            const struct profile_binding *b = profile_find_usage(&prof, PROFILE_PAGE_KEY, fr.key);
            if (!known)
                printf("{\"unknown_address\":%u,\"key\":\"0x%02x\"}\n", fr.address, fr.key);
            else if (!b)
                printf("{\"address\":%u,\"unknown_key\":\"0x%02x\"}\n", fr.address, fr.key);
            else
                printf("{\"address\":%u,\"key\":\"0x%02x\",\"%s\":%s}\n", fr.address, fr.key,
                       b->action, b->arg);
        }
    }
    if (d.len || d.garbage)
        printf("{\"incomplete_bytes\":%zu,\"unreported_garbage\":%zu}\n", d.len, d.garbage);
    return 0;
}
