/* The event journal: what it keeps, what a replay page holds, and what it
 * says after a torn tail, a gap, pruning by size and by age. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <dirent.h>
#include <cmocka.h>
#include <jansson.h>

#include "journal.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/agw-journal-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void open_journal(struct journal *j, uint64_t max_bytes, char *note, size_t notelen)
{
    struct journal_options o = {max_bytes, 7 * 86400, 200};
    char err[256];
    assert_int_equal(journal_open(j, dir, &o, note, notelen, err, sizeof(err)), 0);
}

static void append(struct journal *j, uint64_t epoch, uint64_t seq, const char *topic)
{
    char env[160];
    int n = snprintf(env, sizeof(env), "{\"id\":\"hall-1:%llu:%llu\",\"seq\":%llu}",
                     (unsigned long long)epoch, (unsigned long long)seq, (unsigned long long)seq);
    assert_int_equal(journal_append(j, epoch, seq, 1700000000000, topic, strlen(topic), env,
                                    (size_t)n), 0);
    assert_int_equal(journal_flush(j), 0); /* as the bus does before it sends */
}

static json_t *replay(struct journal *j, uint64_t epoch, uint64_t seq, size_t limit,
                      const char *prefix)
{
    const char *prefixes[1] = {prefix};
    struct journal_key now = {j->last.epoch, j->last.seq};
    char *text = journal_replay_json(j, (struct journal_key){epoch, seq}, prefixes,
                                     prefix ? 1 : 0, limit, 32 * 1024, now);
    assert_non_null(text);
    json_error_t e;
    json_t *reply = json_loads(text, 0, &e);
    if (!reply)
        fail_msg("not JSON (%s): %s", e.text, text);
    free(text);
    return reply;
}

static uint64_t seq_of(json_t *reply, size_t i)
{
    return (uint64_t)json_integer_value(
        json_object_get(json_object_get(json_array_get(json_object_get(reply, "events"), i),
                                        "event"), "seq"));
}

static bool truncated(json_t *reply) { return json_is_true(json_object_get(reply, "truncated")); }

static void replays_across_epochs_and_reopen(void **state)
{
    (void)state;
    struct journal j;
    char note[512];
    open_journal(&j, 64 << 20, note, sizeof(note));
    for (uint64_t s = 1; s <= 5; s++)
        append(&j, 1, s, "callbell/bell-1/pressed");
    journal_close(&j);
    open_journal(&j, 64 << 20, note, sizeof(note));
    assert_string_equal(note, "");
    assert_int_equal(j.last.epoch, 1);
    assert_int_equal(j.last.seq, 5);
    for (uint64_t s = 1; s <= 3; s++)
        append(&j, 2, s, s == 2 ? "evaluation/pad-1/rated" : "gateway/hall-1/heartbeat");

    json_t *r = replay(&j, 1, 3, 0, NULL);
    json_t *events = json_object_get(r, "events");
    assert_int_equal(json_array_size(events), 5); /* 1:4 1:5 2:1 2:2 2:3 */
    assert_int_equal(seq_of(r, 0), 4);
    assert_int_equal(seq_of(r, 2), 1);
    assert_false(truncated(r));
    assert_false(json_is_true(json_object_get(r, "more")));
    json_t *next = json_object_get(r, "next_since");
    assert_int_equal(json_integer_value(json_object_get(next, "epoch")), 2);
    assert_int_equal(json_integer_value(json_object_get(next, "seq")), 3);
    json_decref(r);

    r = replay(&j, 0, 0, 0, "evaluation/"); /* from the beginning, one prefix */
    assert_int_equal(json_array_size(json_object_get(r, "events")), 1);
    assert_false(truncated(r));
    json_decref(r);

    r = replay(&j, 2, 3, 0, NULL); /* up to date: nothing, not truncated */
    assert_int_equal(json_array_size(json_object_get(r, "events")), 0);
    assert_false(truncated(r));
    json_decref(r);
    journal_close(&j);
}

static void limit_pages_and_continues(void **state)
{
    (void)state;
    struct journal j;
    char note[512];
    open_journal(&j, 64 << 20, note, sizeof(note));
    for (uint64_t s = 1; s <= 10; s++)
        append(&j, 7, s, "device/x/attached");
    uint64_t seen = 0, since = 0;
    for (int page = 0; page < 10; page++) {
        json_t *r = replay(&j, 7, since, 3, NULL);
        size_t n = json_array_size(json_object_get(r, "events"));
        for (size_t i = 0; i < n; i++)
            assert_int_equal(seq_of(r, i), ++seen);
        since = (uint64_t)json_integer_value(
            json_object_get(json_object_get(r, "next_since"), "seq"));
        bool more = json_is_true(json_object_get(r, "more"));
        json_decref(r);
        if (!more)
            break;
    }
    assert_int_equal(seen, 10);
    journal_close(&j);
}

static char *newest_segment(char *path, size_t len)
{
    char sub[96];
    snprintf(sub, sizeof(sub), "%s/journal", dir);
    DIR *d = opendir(sub);
    assert_non_null(d);
    struct dirent *e;
    char best[300] = "";
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".agwj") && strcmp(e->d_name, best) > 0)
            snprintf(best, sizeof(best), "%.255s", e->d_name);
    closedir(d);
    snprintf(path, len, "%s/%s", sub, best);
    return path;
}

/* A power cut in the middle of a write: the torn record is cut at the next
 * open, what came before is kept, and the note says where. */
static void torn_tail_is_cut_and_reported(void **state)
{
    (void)state;
    struct journal j;
    char note[512], path[512];
    open_journal(&j, 64 << 20, note, sizeof(note));
    for (uint64_t s = 1; s <= 4; s++)
        append(&j, 3, s, "callbell/bell-1/pressed");
    journal_close(&j);
    struct stat st;
    assert_int_equal(stat(newest_segment(path, sizeof(path)), &st), 0);
    assert_int_equal(truncate(path, st.st_size - 7), 0); /* the 4th record loses its end */

    open_journal(&j, 64 << 20, note, sizeof(note));
    assert_non_null(strstr(note, "torn"));
    assert_non_null(strstr(note, path));
    assert_int_equal(j.last.seq, 3);
    append(&j, 4, 1, "gateway/hall-1/started");
    json_t *r = replay(&j, 3, 0, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(r, "events")), 4); /* 3:1-3, 4:1 */
    json_decref(r);
    journal_close(&j);

    /* a flipped byte inside a record: the CRC finds it */
    assert_int_equal(stat(newest_segment(path, sizeof(path)), &st), 0);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "X", 1, st.st_size - 3), 1);
    close(fd);
    open_journal(&j, 64 << 20, note, sizeof(note));
    assert_non_null(strstr(note, "at byte 0"));
    journal_close(&j);
}

/* Appends are batched: nothing reaches the file before journal_flush(), and one
 * flush writes the whole batch. */
static void appends_are_written_by_flush(void **state)
{
    (void)state;
    struct journal j;
    char note[512], path[512];
    open_journal(&j, 64 << 20, note, sizeof(note));
    for (uint64_t s = 1; s <= 3; s++)
        assert_int_equal(journal_append(&j, 2, s, 0, "a/b/c", 5, "{}", 2), 0);
    struct stat st;
    assert_int_equal(stat(newest_segment(path, sizeof(path)), &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(journal_flush(&j), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 3 * (40 + 5 + 1 + 2));
    assert_int_equal(j.last.seq, 3);
    journal_close(&j);
}

/* Pruning keeps the bound and replay from before it says truncated. */
static void size_bound_prunes_oldest(void **state)
{
    (void)state;
    struct journal j;
    char note[512];
    open_journal(&j, 1 << 20, note, sizeof(note)); /* 64 KiB segments */
    for (uint64_t s = 1; s <= 20000; s++)
        append(&j, 9, s, "gateway/hall-1/heartbeat");
    assert_true(j.total_bytes <= (1 << 20));
    assert_true(j.n_segs > 1);
    json_t *r = replay(&j, 9, 0, 0, NULL);
    assert_true(truncated(r));
    assert_true(seq_of(r, 0) > 1);
    json_decref(r);
    r = replay(&j, 0, 0, 0, NULL); /* "from the beginning" after pruning: truncated */
    assert_true(truncated(r));
    json_decref(r);
    r = replay(&j, 9, 19990, 0, NULL);
    assert_false(truncated(r));
    assert_int_equal(json_array_size(json_object_get(r, "events")), 10);
    json_decref(r);
    journal_close(&j);
    open_journal(&j, 1 << 20, note, sizeof(note)); /* remembered across a restart */
    assert_true(j.ever_pruned);
    journal_close(&j);
}

static void age_bound_prunes_old_segments(void **state)
{
    (void)state;
    struct journal j;
    char note[512], path[512];
    open_journal(&j, 64 << 20, note, sizeof(note));
    append(&j, 1, 1, "gateway/hall-1/started");
    journal_close(&j);
    struct timeval old[2] = {{1000000000, 0}, {1000000000, 0}}; /* 2001 */
    assert_int_equal(utimes(newest_segment(path, sizeof(path)), old), 0);
    open_journal(&j, 64 << 20, note, sizeof(note));
    append(&j, 2, 1, "gateway/hall-1/started");
    journal_close(&j);
    open_journal(&j, 64 << 20, note, sizeof(note)); /* the 2001 segment is no longer the newest */
    assert_int_equal(j.n_segs, 1);
    assert_int_equal(j.segs[0].first.epoch, 2);
    journal_close(&j);
}

/* Events that could not be written (a full disk) make a replay across them truncated. */
static void write_failure_marks_a_gap(void **state)
{
    (void)state;
    struct journal j;
    char note[512];
    open_journal(&j, 64 << 20, note, sizeof(note));
    append(&j, 5, 1, "callbell/bell-1/pressed");
    int saved = j.fd;
    j.fd = open("/dev/full", O_WRONLY);
    assert_true(j.fd >= 0);
    assert_int_equal(journal_append(&j, 5, 2, 0, "a/b/c", 5, "{}", 2), 0);
    assert_int_equal(journal_flush(&j), -1);
    assert_non_null(strstr(j.failure, "No space"));
    close(j.fd);
    j.fd = saved;
    append(&j, 5, 3, "callbell/bell-1/pressed");
    json_t *r = replay(&j, 5, 1, 0, NULL);
    assert_true(truncated(r));
    assert_int_equal(seq_of(r, 0), 3);
    json_decref(r);
    r = replay(&j, 5, 3, 0, NULL); /* after the gap: complete */
    assert_false(truncated(r));
    json_decref(r);
    journal_close(&j);
}

static void unwritable_dir_is_an_error(void **state)
{
    (void)state;
    struct journal j;
    struct journal_options o = {1 << 20, 86400, 200};
    char note[64], err[256];
    assert_int_equal(journal_open(&j, "/proc/no/such", &o, note, sizeof(note), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/proc/no/such/journal"));
    assert_false(journal_is_open(&j));
    assert_int_equal(journal_append(&j, 1, 1, 0, "a/b/c", 5, "{}", 2), -1);
}

/* ---- a journal damaged between runs (issue 25, items 14-16) ---- */

/* Every event from the beginning, page after page: their keys in order, and whether
 * any page said truncated. */
static size_t replay_everything(struct journal *j, struct journal_key *keys, size_t max,
                                bool *any_truncated)
{
    struct journal_key since = {0, 0};
    size_t n = 0;
    *any_truncated = false;
    for (;;) {
        json_t *r = replay(j, since.epoch, since.seq, 0, NULL);
        *any_truncated |= truncated(r);
        json_t *events = json_object_get(r, "events");
        for (size_t i = 0; i < json_array_size(events) && n < max; i++) {
            const char *id = json_string_value(json_object_get(
                json_object_get(json_array_get(events, i), "event"), "id"));
            unsigned long long e, sq;
            assert_int_equal(sscanf(id, "hall-1:%llu:%llu", &e, &sq), 2);
            keys[n++] = (struct journal_key){e, sq};
        }
        bool more = json_is_true(json_object_get(r, "more"));
        json_t *next = json_object_get(r, "next_since");
        since = (struct journal_key){(uint64_t)json_integer_value(json_object_get(next, "epoch")),
                                     (uint64_t)json_integer_value(json_object_get(next, "seq"))};
        json_decref(r);
        if (!more)
            return n;
    }
}

static void assert_strictly_increasing(const struct journal_key *keys, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (journal_key_cmp(keys[i - 1], keys[i]) >= 0)
            fail_msg("event %llu:%llu given back after %llu:%llu", (unsigned long long)keys[i].epoch,
                     (unsigned long long)keys[i].seq, (unsigned long long)keys[i - 1].epoch,
                     (unsigned long long)keys[i - 1].seq);
}

/* Segment file names, oldest first. */
static size_t segment_paths(char paths[][300], size_t max)
{
    char sub[96];
    snprintf(sub, sizeof(sub), "%s/journal", dir);
    struct dirent **names;
    int n = scandir(sub, &names, NULL, alphasort);
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (strstr(names[i]->d_name, ".agwj") && k < max)
            snprintf(paths[k++], 300, "%s/%.200s", sub, names[i]->d_name);
        free(names[i]);
    }
    free(names);
    return k;
}

static void fill_segments(struct journal *j)
{
    char note[512];
    open_journal(j, 1 << 20, note, sizeof(note)); /* 64 KiB segments */
    for (uint64_t s = 1; s <= 3000; s++)
        append(j, 5, s, "gateway/hall-1/heartbeat");
    journal_close(j);
}

enum damage { DELETE_MIDDLE, EMPTY_MIDDLE, SWAP_TWO, RENAME_ONE };

static void damage_segments(enum damage how)
{
    char paths[64][300];
    size_t n = segment_paths(paths, 64);
    assert_true(n >= 4);
    char tmp[320];
    switch (how) {
    case DELETE_MIDDLE: assert_int_equal(unlink(paths[1]), 0); break;
    case EMPTY_MIDDLE: assert_int_equal(truncate(paths[1], 0), 0); break;
    case SWAP_TWO:
        snprintf(tmp, sizeof(tmp), "%s.tmp", paths[1]);
        assert_int_equal(rename(paths[1], tmp), 0);
        assert_int_equal(rename(paths[2], paths[1]), 0);
        assert_int_equal(rename(tmp, paths[2]), 0);
        break;
    case RENAME_ONE: { /* the second segment's name moved past the third's */
        char later[300];
        snprintf(later, sizeof(later), "%s", paths[2]);
        char *dot = strrchr(later, '.');
        assert_non_null(dot);
        dot[-1] = dot[-1] == '9' ? '8' : (char)(dot[-1] + 1);
        assert_int_equal(rename(paths[1], later), 0);
        break;
    }
    }
}

static void damaged_segments_are_flagged_never_out_of_order(void **state)
{
    (void)state;
    static const enum damage all[] = {DELETE_MIDDLE, EMPTY_MIDDLE, SWAP_TWO, RENAME_ONE};
    for (size_t d = 0; d < sizeof(all) / sizeof(all[0]); d++) {
        teardown(state);
        setup(state);
        struct journal j;
        char note[512];
        fill_segments(&j);
        damage_segments(all[d]);
        open_journal(&j, 1 << 20, note, sizeof(note));
        static struct journal_key keys[4000];
        bool any_truncated;
        size_t n = replay_everything(&j, keys, 4000, &any_truncated);
        assert_true(n > 0 && n < 3000); /* something was lost in each case */
        assert_true(any_truncated);     /* and the reader is told */
        assert_strictly_increasing(keys, n);
        journal_close(&j);
    }
}

/* The CRC holds, the JSON does not: skipped and flagged, every page stays JSON. */
static void a_record_of_broken_json_is_skipped_and_flagged(void **state)
{
    (void)state;
    struct journal j;
    char note[512];
    open_journal(&j, 64 << 20, note, sizeof(note));
    append(&j, 2, 1, "callbell/bell-1/pressed");
    static const char broken[] = "{\"id\":\"hall-1:2:2\",,\"seq\":2}";
    assert_int_equal(journal_append(&j, 2, 2, 1700000000000, "callbell/bell-1/pressed", 23,
                                    broken, sizeof(broken) - 1), 0);
    append(&j, 2, 3, "callbell/bell-1/pressed");
    json_t *r = replay(&j, 2, 0, 0, NULL); /* replay() fails on a page that is not JSON */
    assert_int_equal(json_array_size(json_object_get(r, "events")), 2);
    assert_int_equal(seq_of(r, 0), 1);
    assert_int_equal(seq_of(r, 1), 3);
    assert_true(truncated(r));
    json_decref(r);
    journal_close(&j);
}

/* A cursor past the newest event would wait for ever: truncated, and the real end. */
static void a_since_in_the_future_is_said(void **state)
{
    (void)state;
    struct journal j;
    char note[512];
    open_journal(&j, 64 << 20, note, sizeof(note));
    for (uint64_t s = 1; s <= 5; s++)
        append(&j, 4, s, "gateway/hall-1/heartbeat");
    json_t *r = replay(&j, 4, 1000000, 0, NULL);
    assert_true(truncated(r));
    json_t *next = json_object_get(r, "next_since");
    assert_int_equal(json_integer_value(json_object_get(next, "epoch")), 4);
    assert_int_equal(json_integer_value(json_object_get(next, "seq")), 5);
    json_decref(r);
    r = replay(&j, 99, 1, 0, NULL); /* a later epoch than any */
    assert_true(truncated(r));
    json_decref(r);
    r = replay(&j, 4, 5, 0, NULL); /* the end itself is no error */
    assert_false(truncated(r));
    json_decref(r);
    journal_close(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(replays_across_epochs_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(limit_pages_and_continues, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_tail_is_cut_and_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(appends_are_written_by_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(size_bound_prunes_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(age_bound_prunes_old_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(write_failure_marks_a_gap, setup, teardown),
        cmocka_unit_test(unwritable_dir_is_an_error),
        cmocka_unit_test_setup_teardown(damaged_segments_are_flagged_never_out_of_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_record_of_broken_json_is_skipped_and_flagged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_since_in_the_future_is_said, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
