/* Compiled against the released ABI 1.4 header (tests/abi/1.4/accessgw/plugin.h),
 * the last of major 1: what gateway/common/abi1.h must lay out the same. */
#include <stddef.h>

#include <accessgw/plugin.h>

#include "fields.h"

#define HOST_OFFSET(f) offsetof(struct agw_host, f),
#define PLUGIN_OFFSET(f) offsetof(struct agw_plugin, f),
#define HID_OFFSET(f) offsetof(struct agw_hid_ext, f),
#define BLUEZ_OFFSET(f) offsetof(struct agw_bluez_ext, f),

const size_t abi14_host_offsets[] = {AGW_HOST_FIELDS_1_4(HOST_OFFSET)};
const size_t abi14_plugin_offsets[] = {AGW_PLUGIN_FIELDS_1_4(PLUGIN_OFFSET)};
const size_t abi14_hid_offsets[] = {AGW_HID_EXT_FIELDS_1_4(HID_OFFSET)};
const size_t abi14_bluez_offsets[] = {AGW_BLUEZ_EXT_FIELDS_1_4(BLUEZ_OFFSET)};
const size_t abi14_host_size = sizeof(struct agw_host);
const size_t abi14_plugin_size = sizeof(struct agw_plugin);
const size_t abi14_device_host = offsetof(struct agw_device, host);
const unsigned abi14_version = AGW_ABI_MAJOR * 100 + AGW_ABI_MINOR;
