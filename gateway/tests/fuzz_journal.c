/* libFuzzer: arbitrary bytes as the newest journal segment (a disk that lied,
 * a power cut, a hostile local user): opening the journal cuts what is bad,
 * and replay from the beginning and from a point never reads out of bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"

static char dir[64], seg[160];

static void setup_once(void)
{
    if (dir[0])
        return;
    snprintf(dir, sizeof(dir), "/tmp/agw-fuzz-journal-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    char sub[96];
    snprintf(sub, sizeof(sub), "%s/journal", dir);
    mkdir(sub, 0700);
    snprintf(seg, sizeof(seg), "%s/0000000000000001-0000000000000001.agwj", sub);
    log_set_level(0); /* quiet: the fuzzer's output is its own */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    FILE *f = fopen(seg, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    struct journal j;
    struct journal_options o = {1 << 20, 86400, 200};
    char note[600], err[600];
    if (journal_open(&j, dir, &o, note, sizeof(note), err, sizeof(err)) == 0) {
        struct journal_key now = {1, 1000};
        const char *prefixes[1] = {"callbell/"};
        free(journal_replay_json(&j, (struct journal_key){0, 0}, NULL, 0, 0, 32768, now));
        free(journal_replay_json(&j, (struct journal_key){1, 3}, prefixes, 1, 5, 1024, now));
        journal_close(&j);
    }
    return 0;
}
