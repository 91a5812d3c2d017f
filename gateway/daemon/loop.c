#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "monotonic.h"

int loop_add(struct loop *l, const struct loop_source *s)
{
    if (l->n == LOOP_SOURCES_MAX)
        return -1;
    zmq_pollitem_t *grown = realloc(l->items, (l->cap + s->max_items + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    l->items = grown;
    l->cap += s->max_items;
    l->sources[l->n++] = *s;
    return 0;
}

void loop_turn(struct loop *l, long max_ms)
{
    size_t first[LOOP_SOURCES_MAX], count[LOOP_SOURCES_MAX], n = 0;
    long timeout = max_ms;
    for (size_t i = 0; i < l->n; i++) {
        const struct loop_source *s = &l->sources[i];
        first[i] = n;
        count[i] = s->fill ? s->fill(s->ctx, l->items + n, s->max_items) : 0;
        n += count[i];
        if (s->due)
            timeout = sooner(timeout, s->due(s->ctx));
    }
    if (zmq_poll(l->items, (int)n, timeout) < 0 && zmq_errno() != EINTR) {
        log_err("zmq_poll: %s", zmq_strerror(zmq_errno()));
        usleep(10000);
        return;
    }
    for (size_t i = 0; i < l->n; i++)
        l->sources[i].run(l->sources[i].ctx, l->items + first[i], count[i]);
}

void loop_free(struct loop *l)
{
    free(l->items);
    *l = (struct loop){0};
}
