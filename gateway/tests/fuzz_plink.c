/* libFuzzer: arbitrary bytes as a record on the plugin link, read the way
 * accessgwd reads what a plugin host sends (no ATTACH storage) and the way a
 * plugin host reads accessgwd: never out of bounds, every string terminated. */
#include <stdint.h>
#include <string.h>

#include "plink.h"

static void read_all(const uint8_t *data, size_t size, struct plink_attach *storage)
{
    struct plink_msg m;
    char err[160];
    size_t off = 0;
    while (plink_next(data, size, &off, &m, storage, err, sizeof(err)) > 0) {
        /* every string a message points to is inside the record and terminated */
        const char *strings[] = {m.device, m.s1, m.s2, m.json, m.json2};
        for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
            if (strlen(strings[i]) > size)
                __builtin_trap();
        if (m.attach)
            for (unsigned i = 0; i < m.attach->n_settings; i++)
                (void)strlen(m.attach->settings[i].where);
        if (m.attach && strlen(m.attach->state) > size)
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct plink_attach storage;
    read_all(data, size, NULL);
    read_all(data, size, &storage);
    return 0;
}
