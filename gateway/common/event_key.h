/* Where an event stands in the gateway's history: (epoch, seq), as in every
 * envelope's accessgwepoch and accessgwseq; the journal, replay and every
 * client's gap-free feed order events by it. */
#ifndef AGW_EVENT_KEY_H
#define AGW_EVENT_KEY_H
#include <stdint.h>

struct journal_key {
    uint64_t epoch, seq;
};

/* Events are ordered by epoch, then seq: -1, 0 or 1. */
static inline int journal_key_cmp(struct journal_key a, struct journal_key b)
{
    if (a.epoch != b.epoch)
        return a.epoch < b.epoch ? -1 : 1;
    return a.seq < b.seq ? -1 : a.seq > b.seq;
}
#endif
