/* Golden-test driver: "TICKET|WINDOW" a line (WINDOW may be empty; "say TEXT" counts a
 * text's characters), a JSON line out.  The chunk argument does not apply. */
#include <stdio.h>
#include <string.h>

#include "callout.h"

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    FILE *f = fopen(argv[2], "r");
    if (!f)
        return 2;
    char line[2048], out[CALLOUT_SENTENCE_MAX], err[160];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || !line[0])
            continue;
        if (strncmp(line, "say ", 4) == 0) {
            printf("{\"chars\":%ld}\n", callout_chars(line + 4));
            continue;
        }
        char *bar = strchr(line, '|');
        if (bar)
            *bar = '\0';
        if (callout_sentence(line, bar ? bar + 1 : NULL, out, sizeof(out), err, sizeof(err)) < 0)
            printf("{\"error\":\"%s\"}\n", err);
        else
            printf("{\"sentence\":\"%s\"}\n", out);
    }
    fclose(f);
    return 0;
}
