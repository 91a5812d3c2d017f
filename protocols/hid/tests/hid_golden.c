/* Golden-test driver: a report descriptor, a profile and input reports in;
 * JSON lines of pressed/released actions and errors out.
 *   #descriptor HEX       #profile PATH (relative to the .hex file)
 * then one input report per line. */
#include <libgen.h>
#include <stdio.h>
#include "hexio.h"
#include <stdlib.h>
#include <string.h>

#include "hid.h"
#include "hid_profile.h"
#include "keypad.h"

static const char *const actions[] = {"zoom_in", "zoom_out", "zoom_set", "mode_next", "mode_set",
                                      "freeze", "unfreeze", "freeze_toggle", "brightness_up",
                                      "brightness_down", "rate", NULL};

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[65536];
    *len = fread(buf, 1, sizeof(buf) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    FILE *f = fopen(argv[2], "r");
    if (!f)
        return 2;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", argv[2]);
    dirname(dir);
    static struct hid_map map;
    static struct profile profile;
    static struct keypad k;
    struct hid_error err;
    char line[4096], perr[512];
    bool have_map = false;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "#descriptor ", 12) == 0) {
            uint8_t desc[4096];
            size_t n = hex_parse(line + 12, desc, sizeof(desc));
            if (hid_parse(desc, n, &map, &err) < 0)
                printf("{\"descriptor_error\":\"%s\",\"offset\":%zu}\n", err.message, err.offset);
            else
                have_map = true;
            continue;
        }
        if (strncmp(line, "#profile ", 9) == 0) {
            char path[8192];
            size_t len;
            snprintf(path, sizeof(path), "%s/%s", dir, line + 9);
            char *text = slurp(path, &len);
            if (!text || profile_parse(text, len, line + 9, actions, &profile, perr, sizeof(perr)) < 0) {
                printf("{\"profile_error\":\"%s\"}\n", text ? perr : "unreadable");
                return 0;
            }
            keypad_init(&k, have_map ? &map : NULL, &profile);
            continue;
        }
        if (line[0] == '#' || !line[0])
            continue;
        uint8_t report[256];
        size_t n = hex_parse(line, report, sizeof(report));
        struct keypad_event ev[16];
        int got = keypad_report(&k, report, n, ev, 16, &err);
        if (got < 0) {
            printf("{\"report_error\":\"%s\"}\n", err.message);
            continue;
        }
        for (int i = 0; i < got; i++)
            printf("{\"%s\":\"%s\",\"arg\":\"%s\",\"line\":%d}\n",
                   ev[i].pressed ? "pressed" : "released", ev[i].binding->action,
                   ev[i].binding->arg, ev[i].binding->line);
    }
    fclose(f);
    return 0;
}
