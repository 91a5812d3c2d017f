/* The SDK's promise: a released table never changes, it only grows at its end.
 * Every field of ABI 1.2 and 1.4 is where those headers put it in the copy the
 * host keeps to run 1.x plugins (gateway/common/abi1.h); every field of 2.0 is
 * where the released 2.0 header put it; the host fills every 2.0 entry; and
 * plugins built with the 1.2 and 1.4 headers load (tests/integration/
 * test_abi1_plugin.py runs one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "abi1.h"
#include "accessgw/plugin.h"
#include "device_internal.h"
#include "loader.h"
#include "../abi/fields.h"

extern const size_t abi12_host_offsets[], abi12_plugin_offsets[], abi12_host_size,
    abi12_plugin_size;
extern const unsigned abi12_minor;
extern const size_t abi14_host_offsets[], abi14_plugin_offsets[], abi14_hid_offsets[],
    abi14_bluez_offsets[], abi14_host_size, abi14_plugin_size, abi14_device_host;
extern const unsigned abi14_version;
extern const size_t abi20_host_offsets[], abi20_device_offsets[], abi20_publish_offsets[],
    abi20_io_offsets[], abi20_timer_offsets[], abi20_persist_offsets[], abi20_plugin_offsets[],
    abi20_plugin_size;
extern const unsigned abi20_version;
extern const int abi20_enum_values[];

#define NAME(f) #f,
#define COUNT(f) +1

static void same_places(const char *table, const char *const *names, const size_t *released,
                        const size_t *now, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (now[i] != released[i])
            fail_msg("%s.%s moved from %zu to %zu", table, names[i], released[i], now[i]);
}

/* HOLD(table, released offsets, FIELDS macro, C type now) */
#define HOLD(table, released, FIELDS, type)                                              \
    do {                                                                                 \
        static const char *const names[] = {FIELDS(NAME)};                               \
        static const size_t now[] = {FIELDS(OFFSET_OF_##type)};                          \
        same_places(table, names, released, now, 0 FIELDS(COUNT));                       \
    } while (0)
#define OFFSET_OF_agw1_host(f) offsetof(struct agw1_host, f),
#define OFFSET_OF_agw1_plugin(f) offsetof(struct agw1_plugin, f),
#define OFFSET_OF_agw_hid_ext(f) offsetof(struct agw_hid_ext, f),
#define OFFSET_OF_agw_bluez_ext(f) offsetof(struct agw_bluez_ext, f),
#define OFFSET_OF_agw_host(f) offsetof(struct agw_host, f),
#define OFFSET_OF_agw_host_device(f) offsetof(struct agw_host_device, f),
#define OFFSET_OF_agw_host_publish(f) offsetof(struct agw_host_publish, f),
#define OFFSET_OF_agw_host_io(f) offsetof(struct agw_host_io, f),
#define OFFSET_OF_agw_host_timer(f) offsetof(struct agw_host_timer, f),
#define OFFSET_OF_agw_host_persist(f) offsetof(struct agw_host_persist, f),
#define OFFSET_OF_agw_plugin(f) offsetof(struct agw_plugin, f),

static void the_1x_tables_are_kept_as_released(void **state)
{
    (void)state;
    assert_int_equal(abi12_minor, 2);
    assert_int_equal(abi14_version, 104);
    HOLD("agw_host 1.2", abi12_host_offsets, AGW_HOST_FIELDS_1_2, agw1_host);
    HOLD("agw_plugin 1.2", abi12_plugin_offsets, AGW_PLUGIN_FIELDS_1_2, agw1_plugin);
    HOLD("agw_host 1.4", abi14_host_offsets, AGW_HOST_FIELDS_1_4, agw1_host);
    HOLD("agw_plugin 1.4", abi14_plugin_offsets, AGW_PLUGIN_FIELDS_1_4, agw1_plugin);
    assert_int_equal(sizeof(struct agw1_host), abi14_host_size);
    assert_int_equal(sizeof(struct agw1_plugin), abi14_plugin_size);
    assert_true(abi12_host_size < abi14_host_size);
    assert_int_equal(abi12_plugin_size, abi14_plugin_size);
    /* what 1.4 and 2.0 share */
    HOLD("agw_hid_ext", abi14_hid_offsets, AGW_HID_EXT_FIELDS_1_4, agw_hid_ext);
    HOLD("agw_bluez_ext", abi14_bluez_offsets, AGW_BLUEZ_EXT_FIELDS_1_4, agw_bluez_ext);
    assert_int_equal(offsetof(struct agw_device, host), abi14_device_host);
    assert_int_equal(sizeof(struct agw_device), sizeof(void *));
}

static void the_2x_tables_only_grow_at_their_end(void **state)
{
    (void)state;
    assert_int_equal(abi20_version, 200);
    assert_int_equal(AGW_ABI_MAJOR, 2);
    HOLD("agw_host", abi20_host_offsets, AGW_HOST_FIELDS_2_0, agw_host);
    HOLD("agw_host_device", abi20_device_offsets, AGW_HOST_DEVICE_FIELDS_2_0, agw_host_device);
    HOLD("agw_host_publish", abi20_publish_offsets, AGW_HOST_PUBLISH_FIELDS_2_0,
         agw_host_publish);
    HOLD("agw_host_io", abi20_io_offsets, AGW_HOST_IO_FIELDS_2_0, agw_host_io);
    HOLD("agw_host_timer", abi20_timer_offsets, AGW_HOST_TIMER_FIELDS_2_0, agw_host_timer);
    HOLD("agw_host_persist", abi20_persist_offsets, AGW_HOST_PERSIST_FIELDS_2_0,
         agw_host_persist);
    HOLD("agw_plugin", abi20_plugin_offsets, AGW_PLUGIN_FIELDS_2_0, agw_plugin);
    assert_true(sizeof(struct agw_plugin) >= abi20_plugin_size);
    assert_int_equal(AGW_PLUGIN_MIN_SIZE, abi20_plugin_size);
}

/* 2.2 appended `timers` after 2.1's `resources`; a descriptor that ends at
 * `resources` (a 2.1 plugin) is never read past it: its timers stay its own. */
static void the_2_2_timers_field_comes_last(void **state)
{
    (void)state;
    assert_true(AGW_ABI_MINOR >= 2);
    assert_int_equal(offsetof(struct agw_plugin, resources),
                     offsetof(struct agw_plugin, on_link) + sizeof(void (*)(void)));
    assert_int_equal(offsetof(struct agw_plugin, timers),
                     offsetof(struct agw_plugin, resources) + sizeof(uint32_t));
    assert_int_equal(AGW_TIMERS_SHARED, 1);
    struct agw_plugin p = {.struct_size = sizeof(struct agw_plugin), .timers = AGW_TIMERS_SHARED};
    assert_true(AGW_PLUGIN_HAS(&p, timers));
    p.struct_size = (uint32_t)(offsetof(struct agw_plugin, resources) + sizeof(uint32_t));
    assert_false(AGW_PLUGIN_HAS(&p, timers));
}

/* A 2.x host has every 2.0 entry, each group's size covering it. */
#define FILLED(group, f) assert_true(!!(host_api.group->f));
#define FILLED_DEVICE(f) FILLED(device, f)
#define FILLED_PUBLISH(f) FILLED(publish, f)
#define FILLED_IO(f) FILLED(io, f)
#define FILLED_TIMER(f) FILLED(timer, f)
#define FILLED_PERSIST(f) FILLED(persist, f)
/* 2.1 appended buses, transports and masks after 2.0's, and the pcsc
 * extension (a new table: its first layout is the one to keep). */
static void the_2_1_additions_come_after_2_0(void **state)
{
    (void)state;
    const int now[] = {AGW_BUS_END, AGW_BUS_USB, AGW_BUS_HID, AGW_BUS_SERIAL, AGW_BUS_BLE,
                       AGW_TRANSPORT_NONE, AGW_TRANSPORT_SERIAL, AGW_TRANSPORT_USB,
                       AGW_TRANSPORT_HIDRAW, AGW_TRANSPORT_BLUEZ, AGW_MASK_END, AGW_MASK_DROP,
                       AGW_MASK_NAME, AGW_MASK_ID_NUMBER, AGW_MASK_YEAR};
    for (size_t i = 0; i < sizeof(now) / sizeof(now[0]); i++)
        assert_int_equal(now[i], abi20_enum_values[i]);
    assert_true(AGW_ABI_MINOR >= 1);
    assert_int_equal(AGW_BUS_PCSC, AGW_BUS_BLE + 1);
    assert_int_equal(AGW_TRANSPORT_PCSC, AGW_TRANSPORT_BLUEZ + 1);
    assert_int_equal(AGW_MASK_CARD_NUMBER, AGW_MASK_YEAR + 1);
    assert_int_equal(AGW_BUS_INPUT, AGW_BUS_PCSC + 1);
    assert_int_equal(AGW_TRANSPORT_EVDEV, AGW_TRANSPORT_PCSC + 1);
    assert_int_equal(AGW_MASK_HEAD, AGW_MASK_CARD_NUMBER + 1);
    assert_int_equal(offsetof(struct agw_pcsc_ext, transmit), sizeof(void *));
    assert_int_equal(offsetof(struct agw_pcsc_ext, atr), 2 * sizeof(void *));
    assert_int_equal(offsetof(struct agw_pcsc_ext, reader), 3 * sizeof(void *));
}

static void the_host_fills_every_entry(void **state)
{
    (void)state;
    assert_int_equal(host_api.struct_size, sizeof(struct agw_host));
    assert_non_null(host_api.extension);
    AGW_HOST_DEVICE_FIELDS_2_0(FILLED_DEVICE)
    AGW_HOST_PUBLISH_FIELDS_2_0(FILLED_PUBLISH)
    AGW_HOST_IO_FIELDS_2_0(FILLED_IO)
    AGW_HOST_TIMER_FIELDS_2_0(FILLED_TIMER)
    AGW_HOST_PERSIST_FIELDS_2_0(FILLED_PERSIST)
    assert_int_equal(host_api.device->struct_size, sizeof(struct agw_host_device));
    assert_int_equal(host_api_v1.struct_size, sizeof(struct agw1_host));
    assert_non_null(host_api_v1.command_target);
    assert_non_null(host_api_v1.extension);
}

/* What a plugin built for a later minor sees on this host: an entry past a
 * table's end is absent, never read. */
static void later_entries_are_asked_for(void **state)
{
    (void)state;
    static const struct agw_hid_ext shorter_table = {
        .struct_size = (uint32_t)offsetof(struct agw_hid_ext, names)};
    const struct agw_hid_ext *shorter = &shorter_table, *none = NULL;
    assert_false(AGW_HAS(shorter, struct agw_hid_ext, names));
    assert_false(AGW_HAS(none, struct agw_hid_ext, ids));
    const struct agw_host_publish *publish = host_api.publish;
    assert_true(AGW_HAS(publish, struct agw_host_publish, emit_for));
    struct agw_host_publish short_publish = *publish;
    short_publish.struct_size = (uint32_t)offsetof(struct agw_host_publish, emit_for);
    publish = &short_publish;
    assert_false(AGW_HAS(publish, struct agw_host_publish, emit_for));
}

static void loads(const char *path, const char *id, unsigned minor)
{
    struct plugin_set set = {0};
    assert_int_equal(plugin_set_load_file(&set, path), 0);
    const struct agw_plugin *p = plugin_set_find(&set, id);
    assert_non_null(p);
    assert_int_equal(p->abi_major, 1);
    assert_int_equal(p->abi_minor, minor);
    assert_true(abi1_is_imported(p));
    plugin_set_free(&set);
}

static void plugins_built_with_1x_headers_load(void **state)
{
    (void)state;
    loads(ABI12_PLUGIN, "testabi12", 2);
    loads(ABI14_PLUGIN, "skeleton14", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_1x_tables_are_kept_as_released),
        cmocka_unit_test(the_2x_tables_only_grow_at_their_end),
        cmocka_unit_test(the_2_1_additions_come_after_2_0),
        cmocka_unit_test(the_2_2_timers_field_comes_last),
        cmocka_unit_test(the_host_fills_every_entry),
        cmocka_unit_test(later_entries_are_asked_for),
        cmocka_unit_test(plugins_built_with_1x_headers_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
