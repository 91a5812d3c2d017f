/* The loader refuses each flawed descriptor, and loads the rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "loader.h"
#include "log.h"

static int load(struct plugin_set *set, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.so", TEST_PLUGIN_DIR, name);
    return plugin_set_load_file(set, path);
}

static void good_plugin_loads(void **state)
{
    (void)state;
    struct plugin_set set = {0};
    assert_int_equal(load(&set, "good"), 0);
    assert_non_null(plugin_set_find(&set, "testgood"));
    plugin_set_free(&set);
}

static void refuses(const char *name)
{
    struct plugin_set set = {0};
    if (load(&set, name) != -1)
        fail_msg("plugin %s was accepted", name);
    assert_int_equal(set.n, 0);
    plugin_set_free(&set);
}

static void wrong_magic_refused(void **s) { (void)s; refuses("bad_magic"); }
static void other_abi_major_refused(void **s) { (void)s; refuses("bad_major"); }
static void short_struct_refused(void **s) { (void)s; refuses("short_struct"); }
static void missing_open_refused(void **s) { (void)s; refuses("no_open"); }
static void missing_close_refused(void **s) { (void)s; refuses("no_close"); }
static void missing_symbol_refused(void **s) { (void)s; refuses("no_symbol"); }

static void duplicate_id_refused(void **state)
{
    (void)state;
    struct plugin_set set = {0};
    assert_int_equal(load(&set, "good"), 0);
    assert_int_equal(load(&set, "dup"), -1);
    assert_int_equal(set.n, 1);
    plugin_set_free(&set);
}

static void writable_file_refused(void **state)
{
    (void)state;
    char src[4096], dir[] = "/tmp/agw-loader-XXXXXX", dst[4096], cmd[9000];
    snprintf(src, sizeof(src), "%s/good.so", TEST_PLUGIN_DIR);
    assert_non_null(mkdtemp(dir));
    snprintf(dst, sizeof(dst), "%s/good.so", dir);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(chmod(dst, 0666), 0);
    struct plugin_set set = {0};
    assert_int_equal(plugin_set_load_file(&set, dst), -1);
    assert_int_equal(chmod(dst, 0644), 0);
    assert_int_equal(plugin_set_load_file(&set, dst), 0);
    plugin_set_free(&set);
    unlink(dst);
    rmdir(dir);
}

static void directory_load_keeps_the_good_ones(void **state)
{
    (void)state;
    struct plugin_set set = {0};
    /* good + dup share an id: exactly one of them loads; every flawed one is refused. */
    assert_int_equal(plugin_set_load_dir(&set, TEST_PLUGIN_DIR), 1);
    assert_non_null(plugin_set_find(&set, "testgood"));
    plugin_set_free(&set);
}

static void reasons_are_specific(void **state)
{
    (void)state;
    struct agw_plugin p = {.magic = AGW_PLUGIN_MAGIC, .abi_major = AGW_ABI_MAJOR,
                           .struct_size = sizeof(p), .id = "x", .device_class = "test"};
    char buf[256];
    assert_string_equal(plugin_check_descriptor(&p, 0, buf, sizeof(buf)),
                        "mandatory callback 'open' is NULL");
    p.abi_major = 7;
    assert_non_null(strstr(plugin_check_descriptor(&p, 0, buf, sizeof(buf)), "built for plugin ABI 7.0"));
    p.abi_major = AGW_ABI_MAJOR;
    p.struct_size = 16;
    assert_non_null(strstr(plugin_check_descriptor(&p, 0, buf, sizeof(buf)), "descriptor is 16 bytes"));
    p.magic = 1;
    assert_non_null(strstr(plugin_check_descriptor(&p, 0, buf, sizeof(buf)), "wrong magic"));
}

static void wildcard_config_keys(void **state)
{
    (void)state;
    static const char *const keys[] = {"format", "button.*", NULL};
    struct agw_plugin p = {.config_keys = keys};
    assert_true(plugin_accepts_key(&p, "format"));
    assert_true(plugin_accepts_key(&p, "button.A1B2C5"));
    assert_false(plugin_accepts_key(&p, "button."));
    assert_false(plugin_accepts_key(&p, "buttons"));
    assert_false(plugin_accepts_key(&p, "formats"));
}

int main(void)
{
    log_set_level(2); /* the refusals log by design; keep the test output readable */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_plugin_loads),      cmocka_unit_test(wrong_magic_refused),
        cmocka_unit_test(other_abi_major_refused), cmocka_unit_test(short_struct_refused),
        cmocka_unit_test(missing_open_refused),   cmocka_unit_test(missing_close_refused),
        cmocka_unit_test(missing_symbol_refused), cmocka_unit_test(duplicate_id_refused),
        cmocka_unit_test(writable_file_refused),  cmocka_unit_test(directory_load_keeps_the_good_ones),
        cmocka_unit_test(reasons_are_specific),   cmocka_unit_test(wildcard_config_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
