/* The fields of the ABI 1.2 tables, in their order: X(name) per field.  Kept as
 * they were released; tests/unit/test_abi.c checks that every later header puts
 * them at the same offsets (a table only grows at the end). */
#define AGW_HOST_FIELDS_1_2(X)                                                               \
    X(struct_size) X(device_id) X(config) X(log) X(emit) X(set_state) X(write) X(read)        \
    X(flush_input) X(set_timer) X(set_userdata) X(userdata) X(state_dir) X(transport)         \
    X(save_state) X(load_state) X(config_nth) X(hid_ids) X(hid_descriptor) X(hid_names)       \
    X(set_info) X(add_child) X(emit_for) X(command_target) X(gatt_read) X(gatt_write)         \
    X(gatt_notify) X(ble_name)

#define AGW_PLUGIN_FIELDS_1_2(X)                                                             \
    X(magic) X(abi_major) X(abi_minor) X(struct_size) X(id) X(device_class) X(version)        \
    X(description) X(ids) X(config_keys) X(personal) X(transports) X(open) X(close)           \
    X(on_input) X(on_timer) X(removed) X(command) X(reserved) X(on_notify) X(on_link) X(verbs)
