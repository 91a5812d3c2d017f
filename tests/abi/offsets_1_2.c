/* Compiled against the released ABI 1.2 header (tests/abi/1.2/accessgw/plugin.h):
 * where that header put each field, for test_abi.c to hold the host's copy to. */
#include <stddef.h>

#include <accessgw/plugin.h>

#include "fields.h"

#define HOST_OFFSET(f) offsetof(struct agw_host, f),
#define PLUGIN_OFFSET(f) offsetof(struct agw_plugin, f),

const size_t abi12_host_offsets[] = {AGW_HOST_FIELDS_1_2(HOST_OFFSET)};
const size_t abi12_plugin_offsets[] = {AGW_PLUGIN_FIELDS_1_2(PLUGIN_OFFSET)};
const size_t abi12_host_size = sizeof(struct agw_host);
const size_t abi12_plugin_size = sizeof(struct agw_plugin);
const unsigned abi12_minor = AGW_ABI_MINOR;
