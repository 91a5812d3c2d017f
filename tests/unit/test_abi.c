/* The SDK's promise: the host and plugin tables only grow at the end.  Every
 * ABI 1.2 field is where the 1.2 header put it, the 1.3 and 1.4 additions come
 * after them, and a plugin built with the 1.2 header loads and runs on this host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "accessgw/plugin.h"
#include "loader.h"
#include "../abi/fields_1_2.h"

extern const size_t abi12_host_offsets[], abi12_plugin_offsets[];
extern const size_t abi12_host_size, abi12_plugin_size;
extern const unsigned abi12_minor;

#define HOST_OFFSET(f) offsetof(struct agw_host, f),
#define PLUGIN_OFFSET(f) offsetof(struct agw_plugin, f),
#define NAME(f) #f,

static void released_fields_never_move(void **state)
{
    (void)state;
    static const size_t host_now[] = {AGW_HOST_FIELDS_1_2(HOST_OFFSET)};
    static const size_t plugin_now[] = {AGW_PLUGIN_FIELDS_1_2(PLUGIN_OFFSET)};
    static const char *const host_names[] = {AGW_HOST_FIELDS_1_2(NAME)};
    static const char *const plugin_names[] = {AGW_PLUGIN_FIELDS_1_2(NAME)};
    assert_int_equal(abi12_minor, 2);
    for (size_t i = 0; i < sizeof(host_now) / sizeof(host_now[0]); i++)
        if (host_now[i] != abi12_host_offsets[i])
            fail_msg("agw_host.%s moved from %zu to %zu", host_names[i], abi12_host_offsets[i],
                     host_now[i]);
    for (size_t i = 0; i < sizeof(plugin_now) / sizeof(plugin_now[0]); i++)
        if (plugin_now[i] != abi12_plugin_offsets[i])
            fail_msg("agw_plugin.%s moved from %zu to %zu", plugin_names[i],
                     abi12_plugin_offsets[i], plugin_now[i]);
}

static void additions_come_after(void **state)
{
    (void)state;
    assert_int_equal(AGW_ABI_MAJOR, 1);
    assert_true(AGW_ABI_MINOR >= 3);
    /* 1.3: the typed config helpers, after everything 1.2 had */
    assert_true(offsetof(struct agw_host, config_uint) >= abi12_host_size);
    assert_true(offsetof(struct agw_host, config_bool) > offsetof(struct agw_host, config_uint));
    assert_true(offsetof(struct agw_host, config_enum) > offsetof(struct agw_host, config_bool));
    assert_true(offsetof(struct agw_host, config_ms) > offsetof(struct agw_host, config_enum));
    assert_true(sizeof(struct agw_plugin) >= abi12_plugin_size);
    /* a plugin asks before it uses a later entry: a 1.2 host's table is shorter */
    struct agw_host old = {.struct_size = (uint32_t)abi12_host_size};
    struct agw_host now = {.struct_size = sizeof(struct agw_host), .config_uint = NULL};
    assert_false(AGW_HOST_HAS(&old, config_uint));
    assert_false(AGW_HOST_HAS(&now, config_uint));
    /* 1.4: the extension lookup after 1.3's helpers; the handle's host at its start */
    assert_true(AGW_ABI_MINOR >= 4);
    assert_true(offsetof(struct agw_host, extension) > offsetof(struct agw_host, config_ms));
    assert_int_equal(offsetof(struct agw_device, host), 0);
    struct agw_host v13 = {.struct_size = (uint32_t)offsetof(struct agw_host, extension)};
    assert_false(AGW_HOST_HAS(&v13, extension));
}

static void extension_tables_grow_at_the_end_too(void **state)
{
    (void)state;
    assert_int_equal(offsetof(struct agw_hid_ext, struct_size), 0);
    assert_true(offsetof(struct agw_hid_ext, ids) < offsetof(struct agw_hid_ext, descriptor));
    assert_true(offsetof(struct agw_hid_ext, descriptor) < offsetof(struct agw_hid_ext, names));
    assert_int_equal(offsetof(struct agw_bluez_ext, struct_size), 0);
    assert_true(offsetof(struct agw_bluez_ext, gatt_read) < offsetof(struct agw_bluez_ext, gatt_write));
    assert_true(offsetof(struct agw_bluez_ext, gatt_write) < offsetof(struct agw_bluez_ext, gatt_notify));
    assert_true(offsetof(struct agw_bluez_ext, gatt_notify) < offsetof(struct agw_bluez_ext, name));
    static struct agw_hid_ext shorter_table = {.struct_size = (uint32_t)offsetof(struct agw_hid_ext, names)};
    const struct agw_hid_ext *shorter = &shorter_table;
    const struct agw_hid_ext *none = NULL;
    assert_false(AGW_EXT_HAS(shorter, struct agw_hid_ext, names));
    assert_false(AGW_EXT_HAS(none, struct agw_hid_ext, ids));
}

static void a_plugin_built_with_the_1_2_header_loads(void **state)
{
    (void)state;
    struct plugin_set set = {0};
    assert_int_equal(plugin_set_load_file(&set, ABI12_PLUGIN), 0);
    const struct agw_plugin *p = plugin_set_find(&set, "testabi12");
    assert_non_null(p);
    assert_int_equal(p->abi_major, 1);
    assert_int_equal(p->abi_minor, 2);
    plugin_set_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(released_fields_never_move),
        cmocka_unit_test(additions_come_after),
        cmocka_unit_test(extension_tables_grow_at_the_end_too),
        cmocka_unit_test(a_plugin_built_with_the_1_2_header_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
