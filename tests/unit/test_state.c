/* The epoch counter survives restarts and refuses a corrupt file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "state.h"

static void epoch_rises_by_one(void **state)
{
    (void)state;
    char dir[] = "/tmp/agw-state-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[64], err[256];
    snprintf(sub, sizeof(sub), "%s/state", dir);
    uint64_t e1, e2, e3;
    assert_int_equal(state_next_epoch(sub, &e1, err, sizeof(err)), 0);
    assert_int_equal(state_next_epoch(sub, &e2, err, sizeof(err)), 0);
    assert_int_equal(state_next_epoch(sub, &e3, err, sizeof(err)), 0);
    assert_int_equal(e1, 1);
    assert_int_equal(e2, 2);
    assert_int_equal(e3, 3);
    char path[128];
    snprintf(path, sizeof(path), "%s/epoch", sub);
    FILE *f = fopen(path, "w");
    fputs("garbage", f);
    fclose(f);
    assert_int_equal(state_next_epoch(sub, &e1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "epoch:1: not a number"));
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

static void unwritable_dir_is_reported(void **state)
{
    (void)state;
    uint64_t e;
    char err[256];
    assert_int_equal(state_next_epoch("/proc/no/such/dir", &e, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/proc/no/such/dir"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(epoch_rises_by_one),
        cmocka_unit_test(unwritable_dir_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
