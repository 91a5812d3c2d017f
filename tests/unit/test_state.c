/* The epoch counter survives restarts and only ever rises. */
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

static char dir[64], sub[96];

static void write_text(const char *name, const char *text)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", sub, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static uint64_t next(void)
{
    char note[512], err[256];
    uint64_t e = 0;
    assert_int_equal(state_next_epoch(sub, 0, &e, note, sizeof(note), err, sizeof(err)), 0);
    return e;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/agw-state-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/state", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void epoch_rises_by_one(void **state)
{
    (void)state;
    assert_int_equal(next(), 1);
    assert_int_equal(next(), 2);
    assert_int_equal(next(), 3);
}

/* Each way the epoch used to go backwards (issue: a corrupt file stopped the start and its
 * removal reset to 1; the maximum wrapped to 0; -5 was accepted; 42 truncated to 4 gave 5). */
static void epoch_never_goes_back(void **state)
{
    (void)state;
    for (int i = 0; i < 42; i++)
        next();
    write_text("epoch", "4"); /* truncated: the copy still says 42 */
    assert_int_equal(next(), 43);
    write_text("epoch", "garbage");
    assert_int_equal(next(), 44);
    write_text("epoch", "-5\n");
    assert_int_equal(next(), 45);
    write_text("epoch", "99 fnv=00000000\n"); /* a checksum that does not match */
    assert_int_equal(next(), 46);
    write_text("epoch", "18446744073709551615\n"); /* the maximum: damaged, never wrapped */
    assert_int_equal(next(), 47);
    write_text("epoch", "100\n"); /* a file of an earlier version, no checksum */
    assert_int_equal(next(), 101);
    /* no valid copy at all: the clock in seconds, above any count of restarts */
    write_text("epoch", "x");
    write_text("epoch.bak", "y");
    char note[512], err[256];
    uint64_t e = 0;
    assert_int_equal(state_next_epoch(sub, 0, &e, note, sizeof(note), err, sizeof(err)), 0);
    assert_true(e > 1700000000ULL);
    assert_non_null(strstr(note, "damaged"));
    assert_int_equal(next(), e + 1);
    /* one copy removed: the other remembers */
    char path[160];
    snprintf(path, sizeof(path), "%s/epoch", sub);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(next(), e + 2);
    /* both removed (what the old error message told installers to do) in a state_dir that
     * holds plugins' state: not a new gateway, so the clock, never 1 again */
    write_text("callbell-rf.bell-1.json", "{}");
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/epoch.bak", sub);
    assert_int_equal(unlink(path), 0);
    assert_true(next() > 1700000000ULL);
}

/* Both copies lost, but the journal remembers a later epoch: the next one is above it. */
static void journal_epoch_is_a_floor(void **state)
{
    (void)state;
    char note[512], err[256];
    uint64_t e = 0;
    assert_int_equal(next(), 1);
    assert_int_equal(state_next_epoch(sub, 77, &e, note, sizeof(note), err, sizeof(err)), 0);
    assert_int_equal(e, 78);
    assert_non_null(strstr(note, "journal"));
    assert_int_equal(next(), 79);
}

/* No state_dir to write: not a refusal to start (the call bells would be dead) but an
 * epoch from the clock, and the reason, for the gateway to say it is degraded. */
static void unwritable_dir_is_reported(void **state)
{
    (void)state;
    uint64_t e;
    char err[256];
    char note[256];
    assert_int_equal(state_next_epoch("/proc/no/such/dir", 0, &e, note, sizeof(note), err, sizeof(err)), 1);
    assert_non_null(strstr(err, "/proc/no/such/dir"));
    assert_true(e > 1700000000ULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(epoch_rises_by_one, setup, teardown),
        cmocka_unit_test_setup_teardown(epoch_never_goes_back, setup, teardown),
        cmocka_unit_test_setup_teardown(journal_epoch_is_a_floor, setup, teardown),
        cmocka_unit_test(unwritable_dir_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
