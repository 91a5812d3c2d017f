/* The fields of every released table, in their order: X(name) per field.  Kept
 * as they were released; tests/unit/test_abi.c checks that the host still puts
 * each at the offset the released header gave it (a table only grows at its end). */

/* ABI 1.x: what gateway/common/abi1.h must keep laying out as released */
#define AGW_HOST_FIELDS_1_2(X)                                                               \
    X(struct_size) X(device_id) X(config) X(log) X(emit) X(set_state) X(write) X(read)        \
    X(flush_input) X(set_timer) X(set_userdata) X(userdata) X(state_dir) X(transport)         \
    X(save_state) X(load_state) X(config_nth) X(hid_ids) X(hid_descriptor) X(hid_names)       \
    X(set_info) X(add_child) X(emit_for) X(command_target) X(gatt_read) X(gatt_write)         \
    X(gatt_notify) X(ble_name)
#define AGW_HOST_FIELDS_1_4(X)                                                               \
    AGW_HOST_FIELDS_1_2(X) X(config_uint) X(config_bool) X(config_enum) X(config_ms) X(extension)

#define AGW_PLUGIN_FIELDS_1_2(X)                                                             \
    X(magic) X(abi_major) X(abi_minor) X(struct_size) X(id) X(device_class) X(version)        \
    X(description) X(ids) X(config_keys) X(personal) X(transports) X(open) X(close)           \
    X(on_input) X(on_timer) X(removed) X(command) X(reserved) X(on_notify) X(on_link) X(verbs)
#define AGW_PLUGIN_FIELDS_1_4(X) AGW_PLUGIN_FIELDS_1_2(X)

/* ABI 1.4 onwards: the extension tables (the same in 2.0) */
#define AGW_HID_EXT_FIELDS_1_4(X) X(struct_size) X(ids) X(descriptor) X(names)
#define AGW_BLUEZ_EXT_FIELDS_1_4(X) X(struct_size) X(gatt_read) X(gatt_write) X(gatt_notify) X(name)

/* ABI 2.0 */
#define AGW_HOST_FIELDS_2_0(X)                                                               \
    X(struct_size) X(device) X(publish) X(io) X(timer) X(persist) X(extension)
#define AGW_HOST_DEVICE_FIELDS_2_0(X)                                                        \
    X(struct_size) X(id) X(transport) X(config) X(config_nth) X(config_uint) X(config_bool)   \
    X(config_enum) X(config_ms) X(set_userdata) X(userdata)
#define AGW_HOST_PUBLISH_FIELDS_2_0(X)                                                       \
    X(struct_size) X(vlog) X(emit) X(set_state) X(set_info) X(add_child) X(emit_for)
#define AGW_HOST_IO_FIELDS_2_0(X) X(struct_size) X(write) X(read) X(flush_input)
#define AGW_HOST_TIMER_FIELDS_2_0(X) X(struct_size) X(set)
#define AGW_HOST_PERSIST_FIELDS_2_0(X) X(struct_size) X(save) X(load)
#define AGW_PLUGIN_FIELDS_2_0(X)                                                             \
    X(magic) X(abi_major) X(abi_minor) X(struct_size) X(id) X(device_class) X(version)        \
    X(description) X(ids) X(config_keys) X(personal) X(transports) X(verbs) X(open) X(close)  \
    X(on_input) X(on_timer) X(removed) X(command) X(on_notify) X(on_link)
