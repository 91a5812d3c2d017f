/* Compiled against the released ABI 2.0 header (tests/abi/2.0/accessgw/plugin.h):
 * where it put each field of each table, for test_abi.c to hold the current one to. */
#include <stddef.h>

#include <accessgw/plugin.h>

#include "fields.h"

#define HOST(f) offsetof(struct agw_host, f),
#define DEVICE(f) offsetof(struct agw_host_device, f),
#define PUBLISH(f) offsetof(struct agw_host_publish, f),
#define IO(f) offsetof(struct agw_host_io, f),
#define TIMER(f) offsetof(struct agw_host_timer, f),
#define PERSIST(f) offsetof(struct agw_host_persist, f),
#define PLUGIN(f) offsetof(struct agw_plugin, f),

const size_t abi20_host_offsets[] = {AGW_HOST_FIELDS_2_0(HOST)};
const size_t abi20_device_offsets[] = {AGW_HOST_DEVICE_FIELDS_2_0(DEVICE)};
const size_t abi20_publish_offsets[] = {AGW_HOST_PUBLISH_FIELDS_2_0(PUBLISH)};
const size_t abi20_io_offsets[] = {AGW_HOST_IO_FIELDS_2_0(IO)};
const size_t abi20_timer_offsets[] = {AGW_HOST_TIMER_FIELDS_2_0(TIMER)};
const size_t abi20_persist_offsets[] = {AGW_HOST_PERSIST_FIELDS_2_0(PERSIST)};
const size_t abi20_plugin_offsets[] = {AGW_PLUGIN_FIELDS_2_0(PLUGIN)};
const size_t abi20_plugin_size = sizeof(struct agw_plugin);
const unsigned abi20_version = AGW_ABI_MAJOR * 100 + AGW_ABI_MINOR;
/* the values of its enums, which a plugin compiles in */
const int abi20_enum_values[] = {AGW_BUS_END, AGW_BUS_USB, AGW_BUS_HID, AGW_BUS_SERIAL,
                                 AGW_BUS_BLE, AGW_TRANSPORT_NONE, AGW_TRANSPORT_SERIAL,
                                 AGW_TRANSPORT_USB, AGW_TRANSPORT_HIDRAW, AGW_TRANSPORT_BLUEZ,
                                 AGW_MASK_END, AGW_MASK_DROP, AGW_MASK_NAME,
                                 AGW_MASK_ID_NUMBER, AGW_MASK_YEAR};
