/* libFuzzer: arbitrary ticket and window (split at the first 0x7C), and a said text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "callout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char *bar = strchr(s, '|');
    if (bar)
        *bar = '\0';
    char out[CALLOUT_SENTENCE_MAX], err[160];
    (void)callout_sentence(s, bar ? bar + 1 : NULL, out, sizeof(out), err, sizeof(err));
    (void)callout_chars(s);
    free(s);
    return 0;
}
