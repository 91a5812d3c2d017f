/* libFuzzer: audit files as they may be found on disk (a hall's, tampered with, torn,
 * or not audit files at all): the reader and the verifier must only say so. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/fuzz-audit-XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    /* the input, split at its first NUL, is two days' files */
    const uint8_t *cut = memchr(data, 0, size);
    size_t first = cut ? (size_t)(cut - data) : size;
    char path[128];
    snprintf(path, sizeof(path), "%s/2026-12-06.jsonl", dir);
    FILE *f = fopen(path, "w");
    fwrite(data, 1, first, f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/2026-12-07.jsonl", dir);
    f = fopen(path, "w");
    if (cut)
        fwrite(cut + 1, 1, size - first - 1, f);
    fclose(f);
    char head[AUDIT_HASH_HEX + 1], why[600], note[600], err[600];
    audit_verify(dir, NULL, head, why, sizeof(why), note, sizeof(note));
    FILE *out = fopen("/dev/null", "w");
    struct audit_filter filter = {"2026-12-07", "window-3", "reader-1"};
    audit_list(dir, &filter, out, err, sizeof(err));
    fclose(out);
    return 0;
}
