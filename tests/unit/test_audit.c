/* The audit of disclosures: a hash chain that says where it was changed, survives a torn
 * write and another writer, is pruned by age and read back by recipient, device and day. */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "audit.h"
#include "log.h"

static const struct audit_record rec[] = {
    {"window-3", "web", "reader-1", "accessgw.idcard.read", "hall-1:7:1042"},
    {"window-4", "web", "reader-2", "accessgw.idcard.read", "hall-1:7:1043"},
    {"platform", "curve", "reader-1", "accessgw.idcard.read", "hall-1:7:1044"},
};

struct rig {
    char state[64], dir[80], file[128];
    struct audit a;
};

static int setup(void **state)
{
    struct rig *r = calloc(1, sizeof(*r));
    snprintf(r->state, sizeof(r->state), "/tmp/test-audit-XXXXXX");
    assert_non_null(mkdtemp(r->state));
    snprintf(r->dir, sizeof(r->dir), "%s/audit", r->state);
    char note[600], err[600], today[11];
    assert_int_equal(audit_open(&r->a, r->state, 180, note, sizeof(note), err, sizeof(err)), 0);
    time_t now = time(NULL);
    strftime(today, sizeof(today), "%Y-%m-%d", localtime(&now));
    snprintf(r->file, sizeof(r->file), "%s/%s.jsonl", r->dir, today);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(audit_append(&r->a, &rec[i], err, sizeof(err)), 0);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct rig *r = *state;
    audit_close(&r->a);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", r->state);
    assert_int_equal(system(cmd), 0);
    free(r);
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *text = calloc(1, 65536);
    size_t n = fread(text, 1, 65535, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int verify(struct rig *r, const char *expect, char *why, char *note)
{
    char head[AUDIT_HASH_HEX + 1];
    return audit_verify(r->dir, expect, head, why, 600, note, 600);
}

static void the_chain_holds_and_its_head_is_the_newest_line(void **state)
{
    struct rig *r = *state;
    char why[600], note[600], head[AUDIT_HASH_HEX + 1];
    assert_int_equal(audit_verify(r->dir, NULL, head, why, 600, note, 600), 0);
    assert_string_equal(head, audit_head(&r->a));
    assert_string_equal(note, "");
    char *text = slurp(r->file);
    /* the contract's fields, in its order, and never more */
    assert_non_null(strstr(text, "\",\"recipient\":\"window-3\",\"channel\":\"web\",\"device\":"
                                 "\"reader-1\",\"type\":\"accessgw.idcard.read\",\"event\":"
                                 "\"hall-1:7:1042\",\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\"}\n"));
    assert_int_equal(strncmp(text, "{\"time\":\"", 9), 0);
    free(text);
    assert_int_equal(verify(r, head, why, note), 0);
}

static void a_changed_line_is_named_by_the_line_after_it(void **state)
{
    struct rig *r = *state;
    char why[600], note[600];
    char *text = slurp(r->file);
    char *p = strstr(text, "window-4");
    p[7] = '5'; /* window-5 */
    spit(r->file, text);
    free(text);
    assert_int_equal(verify(r, NULL, why, note), 1);
    assert_non_null(strstr(why, ".jsonl:3: its prev is not the hash of the line before it"));
}

static void a_removed_line_breaks_the_chain(void **state)
{
    struct rig *r = *state;
    char why[600], note[600];
    char *text = slurp(r->file);
    char *second = strchr(text, '\n') + 1, *third = strchr(second, '\n') + 1;
    memmove(second, third, strlen(third) + 1);
    spit(r->file, text);
    free(text);
    assert_int_equal(verify(r, NULL, why, note), 1);
    assert_non_null(strstr(why, ".jsonl:2:"));
}

static void a_removed_last_line_is_seen_only_against_the_head_kept_elsewhere(void **state)
{
    struct rig *r = *state;
    char why[600], note[600], head[AUDIT_HASH_HEX + 1];
    snprintf(head, sizeof(head), "%s", audit_head(&r->a)); /* as a heartbeat carried it */
    char *text = slurp(r->file);
    char *last = strrchr(text, '{');
    *last = '\0';
    spit(r->file, text);
    free(text);
    assert_int_equal(verify(r, NULL, why, note), 0); /* the rest still holds... */
    assert_int_equal(verify(r, head, why, note), 1); /* ...but does not end where it did */
    assert_non_null(strstr(why, "not at"));
}

static void a_torn_last_line_is_said_then_cut_and_the_chain_goes_on(void **state)
{
    struct rig *r = *state;
    char why[600], note[600], err[600];
    FILE *f = fopen(r->file, "a");
    fputs("{\"time\":\"2026-12-07T09:00:00.1", f); /* power lost mid-write */
    fclose(f);
    assert_int_equal(verify(r, NULL, why, note), 0);
    assert_non_null(strstr(note, "cut short"));
    struct audit again;
    assert_int_equal(audit_open(&again, r->state, 180, note, sizeof(note), err, sizeof(err)), 0);
    assert_non_null(strstr(note, "bytes removed"));
    assert_int_equal(audit_append(&again, &rec[0], err, sizeof(err)), 0);
    audit_close(&again);
    assert_int_equal(verify(r, NULL, why, note), 0);
    assert_string_equal(note, "");
}

static void two_writers_keep_one_chain(void **state)
{
    struct rig *r = *state;
    char why[600], note[600], err[600];
    struct audit web;
    assert_int_equal(audit_open(&web, r->state, 180, note, sizeof(note), err, sizeof(err)), 0);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(audit_append(i % 2 ? &web : &r->a, &rec[i % 3], err, sizeof(err)), 0);
    }
    assert_string_equal(audit_head(&web), audit_head(&r->a));
    audit_close(&web);
    assert_int_equal(verify(r, NULL, why, note), 0);
}

/* The other writer begins a file of its own (a new day): the first still finds the head,
 * as its heartbeat must carry it. */
static void another_writers_new_file_moves_the_head_too(void **state)
{
    struct rig *r = *state;
    char note[600], err[600], later[128];
    snprintf(later, sizeof(later), "%s/2099-01-01.jsonl", r->dir);
    spit(later, ""); /* the newest file: the next line goes there */
    struct audit web;
    assert_int_equal(audit_open(&web, r->state, 180, note, sizeof(note), err, sizeof(err)), 0);
    assert_int_equal(audit_append(&web, &rec[0], err, sizeof(err)), 0);
    assert_string_equal(audit_head(&r->a), audit_head(&web));
    audit_close(&web);
}

static void lines_are_listed_by_recipient_device_and_day(void **state)
{
    struct rig *r = *state;
    char err[600], today[11], tomorrow[11];
    time_t now = time(NULL), next = now + 86400;
    strftime(today, sizeof(today), "%Y-%m-%d", localtime(&now));
    strftime(tomorrow, sizeof(tomorrow), "%Y-%m-%d", localtime(&next));
    FILE *out = tmpfile();
    assert_int_equal(audit_list(r->dir, &(struct audit_filter){NULL, NULL, NULL}, out, err, 600), 3);
    assert_int_equal(audit_list(r->dir, &(struct audit_filter){NULL, "window-3", NULL}, out, err, 600), 1);
    assert_int_equal(audit_list(r->dir, &(struct audit_filter){NULL, NULL, "reader-1"}, out, err, 600), 2);
    assert_int_equal(audit_list(r->dir, &(struct audit_filter){today, NULL, NULL}, out, err, 600), 3);
    assert_int_equal(audit_list(r->dir, &(struct audit_filter){tomorrow, NULL, NULL}, out, err, 600), 0);
    assert_int_equal(audit_list(r->dir, &(struct audit_filter){"yesterday", NULL, NULL}, out, err, 600), -1);
    assert_non_null(strstr(err, "not a date"));
    fclose(out);
}

static void old_files_go_and_the_chain_says_where_it_starts(void **state)
{
    struct rig *r = *state;
    char why[600], note[600], err[600], old[128];
    audit_close(&r->a);
    /* a day long past, its line chained from an even older one */
    snprintf(old, sizeof(old), "%s/2001-01-01.jsonl", r->dir);
    char *today = slurp(r->file);
    unlink(r->file);
    spit(old, today);
    free(today);
    struct audit a;
    assert_int_equal(audit_open(&a, r->state, 180, note, sizeof(note), err, sizeof(err)), 0);
    assert_int_equal(audit_append(&a, &rec[1], err, sizeof(err)), 0); /* today's file, chained on */
    assert_int_equal(verify(r, NULL, why, note), 0);
    audit_close(&a);
    /* the next day's opening prunes 2001: the chain now starts after it */
    memset(&a, 0, sizeof(a));
    assert_int_equal(audit_open(&a, r->state, 180, note, sizeof(note), err, sizeof(err)), 0);
    audit_close(&a);
    assert_int_equal(access(old, F_OK), -1);
    assert_int_equal(verify(r, NULL, why, note), 0);
    assert_non_null(strstr(note, "the chain starts at"));
    memset(&r->a, 0, sizeof(r->a));
    r->a.lock_fd = -1;
}

int main(void)
{
    log_init("test_audit");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_chain_holds_and_its_head_is_the_newest_line, setup, teardown),
        cmocka_unit_test_setup_teardown(a_changed_line_is_named_by_the_line_after_it, setup, teardown),
        cmocka_unit_test_setup_teardown(a_removed_line_breaks_the_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(a_removed_last_line_is_seen_only_against_the_head_kept_elsewhere,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_torn_last_line_is_said_then_cut_and_the_chain_goes_on,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(two_writers_keep_one_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(another_writers_new_file_moves_the_head_too, setup, teardown),
        cmocka_unit_test_setup_teardown(lines_are_listed_by_recipient_device_and_day, setup, teardown),
        cmocka_unit_test_setup_teardown(old_files_go_and_the_chain_says_where_it_starts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
