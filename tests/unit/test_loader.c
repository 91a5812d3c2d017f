/* The loader refuses each flawed descriptor, and loads the rest. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "abi1.h"
#include "device.h" /* abi1_device_calls */
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

static const char *refusal(const void *descriptor, char *buf, size_t len)
{
    const struct agw_plugin *p = plugin_descriptor(descriptor, 0, buf, len);
    if (p) {
        plugin_descriptor_free(p);
        return "(accepted)";
    }
    return buf;
}

static void reasons_are_specific(void **state)
{
    (void)state;
    struct agw_plugin p = {.magic = AGW_PLUGIN_MAGIC, .abi_major = AGW_ABI_MAJOR,
                           .struct_size = sizeof(p), .id = "x", .device_class = "test"};
    char buf[256];
    assert_string_equal(refusal(&p, buf, sizeof(buf)), "mandatory callback 'open' is NULL");
    p.abi_major = 7;
    assert_non_null(strstr(refusal(&p, buf, sizeof(buf)), "built for plugin ABI 7.0"));
    assert_non_null(strstr(buf, "ABI 1.x and 2.0"));
    p.abi_major = AGW_ABI_MAJOR;
    p.struct_size = 16;
    assert_non_null(strstr(refusal(&p, buf, sizeof(buf)), "descriptor is 16 bytes"));
    p.magic = 1;
    assert_non_null(strstr(refusal(&p, buf, sizeof(buf)), "wrong magic"));
}

static int v1_open(struct agw_device *dev, const struct agw1_host *host)
{
    (void)dev, (void)host;
    return 0;
}
static void v1_close(struct agw_device *dev) { (void)dev; }
static int v1_command(struct agw_device *dev, const char *verb, json_t *args, json_t **result)
{
    (void)dev, (void)verb, (void)args, (void)result;
    return AGW_CMD_OK;
}

/* A 1.x descriptor is checked by 1.x's rules and read into the 2.0 form. */
static void a_1x_descriptor_is_imported(void **state)
{
    (void)state;
    static const struct agw_verb verbs[] = {{"echo", NULL, "answers"}, {NULL, NULL, NULL}};
    struct agw1_plugin v1 = {.magic = AGW_PLUGIN_MAGIC, .abi_major = 1, .abi_minor = 4,
                             .struct_size = sizeof(v1), .id = "old", .device_class = "test",
                             .open = v1_open, .close = v1_close, .command = v1_command,
                             .verbs = verbs};
    char buf[256];
    const struct agw_plugin *p = plugin_descriptor(&v1, sizeof(v1), buf, sizeof(buf));
    assert_non_null(p); /* read by a program that runs no device (accessgwctl) */
    assert_non_null(p->open);
    assert_int_equal(p->open(NULL), -ENOTSUP);
    assert_int_equal(p->command(NULL, "old", "echo", NULL, NULL), AGW_CMD_UNSUPPORTED);
    plugin_descriptor_free(p);

    abi1_use_calls(&abi1_device_calls); /* as accessgwd and the plugin host do */
    p = plugin_descriptor(&v1, sizeof(v1), buf, sizeof(buf));
    assert_non_null(p);
    assert_true(abi1_is_imported(p));
    assert_ptr_equal((void *)p->open, (void *)abi1_device_calls.open);
    assert_ptr_equal((void *)p->command, (void *)abi1_device_calls.command);
    assert_int_equal(p->abi_minor, 4);
    assert_string_equal(p->id, "old");
    assert_ptr_equal(p->verbs, verbs);
    assert_ptr_equal(p->close, v1_close);       /* same signature: called directly */
    assert_ptr_not_equal((void *)p->open, (void *)v1_open); /* through the trampoline */
    assert_non_null(p->command);
    plugin_descriptor_free(p);

    v1.struct_size = (uint32_t)offsetof(struct agw1_plugin, verbs); /* a 1.1 plugin */
    p = plugin_descriptor(&v1, 0, buf, sizeof(buf));
    assert_non_null(p);
    assert_null(p->verbs); /* past its end: never read */
    plugin_descriptor_free(p);

    v1.reserved[3] = (void *)1;
    assert_string_equal(refusal(&v1, buf, sizeof(buf)),
                        "reserved fields are not NULL (built against a newer SDK?)");
    v1.reserved[3] = NULL;
    v1.struct_size = 40;
    assert_non_null(strstr(refusal(&v1, buf, sizeof(buf)), "ABI 1.0 needs at least"));
    v1.struct_size = sizeof(v1);
    v1.open = NULL;
    assert_string_equal(refusal(&v1, buf, sizeof(buf)), "mandatory callback 'open' is NULL");
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
        cmocka_unit_test(a_1x_descriptor_is_imported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
