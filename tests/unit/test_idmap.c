/* The id index (gateway/common/idmap.c): puts, replacements, removals that
 * leave probing intact, and a long run of hotplug-like churn held against a
 * plain list that answers every lookup by comparing every id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "idmap.h"

static void an_empty_map_finds_nothing(void **state)
{
    (void)state;
    struct idmap m = {0};
    assert_null(idmap_get(&m, "reader-1"));
    idmap_remove(&m, "reader-1", NULL); /* nothing to remove: no harm */
    idmap_free(&m);
}

static void put_get_replace_remove(void **state)
{
    (void)state;
    struct idmap m = {0};
    int a, b;
    assert_true(idmap_put(&m, "bell-1", &a));
    assert_ptr_equal(idmap_get(&m, "bell-1"), &a);
    assert_null(idmap_get(&m, "bell-2"));
    assert_true(idmap_put(&m, "bell-1", &b)); /* replaced, not added twice */
    assert_ptr_equal(idmap_get(&m, "bell-1"), &b);
    idmap_remove(&m, "bell-1", &a); /* not what it maps to now: stays */
    assert_ptr_equal(idmap_get(&m, "bell-1"), &b);
    idmap_remove(&m, "bell-1", &b);
    assert_null(idmap_get(&m, "bell-1"));
    idmap_free(&m);
}

/* A removed slot must not end the probe of a key put after it in the same run. */
static void removal_keeps_later_keys_reachable(void **state)
{
    (void)state;
    struct idmap m = {0};
    static char ids[64][16];
    for (int i = 0; i < 64; i++) {
        snprintf(ids[i], sizeof(ids[i]), "dev-%d", i);
        assert_true(idmap_put(&m, ids[i], ids[i]));
    }
    for (int i = 0; i < 64; i += 2)
        idmap_remove(&m, ids[i], ids[i]);
    for (int i = 0; i < 64; i++)
        assert_ptr_equal(idmap_get(&m, ids[i]), i % 2 ? ids[i] : NULL);
    idmap_free(&m);
}

#define CHURN_IDS 1500
static char churn_ids[CHURN_IDS][16];
static void *model[CHURN_IDS];

static void churn_agrees_with_a_list(void **state)
{
    (void)state;
    struct idmap m = {0};
    for (int i = 0; i < CHURN_IDS; i++)
        snprintf(churn_ids[i], sizeof(churn_ids[i]), "hid-%04x", i * 7919 % 65536);
    srand(14);
    size_t biggest = 0;
    for (int step = 0; step < 200000; step++) {
        int i = rand() % CHURN_IDS;
        if (rand() % 2) {
            assert_true(idmap_put(&m, churn_ids[i], churn_ids[i]));
            model[i] = churn_ids[i];
        } else {
            idmap_remove(&m, churn_ids[i], churn_ids[i]);
            model[i] = NULL;
        }
        int probe = rand() % CHURN_IDS;
        assert_ptr_equal(idmap_get(&m, churn_ids[probe]), model[probe]);
        biggest = m.cap > biggest ? m.cap : biggest;
    }
    for (int i = 0; i < CHURN_IDS; i++)
        assert_ptr_equal(idmap_get(&m, churn_ids[i]), model[i]);
    /* removed slots are reclaimed: churn over 1,500 ids never needs more than 4,096 slots */
    assert_true(biggest <= 4096);
    idmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_empty_map_finds_nothing),
        cmocka_unit_test(put_get_replace_remove),
        cmocka_unit_test(removal_keeps_later_keys_reachable),
        cmocka_unit_test(churn_agrees_with_a_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
