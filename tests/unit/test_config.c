/* Every config error the gateway reports, each with file, line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "loader.h"

#define HEAD "[gateway]\nid = hall-1\nplugin_dir = " PLUGIN_BUILD_DIR "\n"

struct config_case {
    const char *name;
    const char *text;
    const char *expect; /* substring of the error after "FILE:" ; NULL = valid */
    bool with_plugins;  /* also run config_check_plugins */
};

static const struct config_case cases[] = {
    {"valid_minimal", HEAD, NULL, true},
    {"valid_device", HEAD "[device pad-1]\nplugin = skeleton\ntransport = serial\npath = /dev/ttyS9\n"
                          "baud = 9600\ninterval_ms = 5 ; a comment\nlocation = Window 3\n", NULL, true},
    {"unknown_key_gateway", HEAD "colour = blue\n", "4: unknown key 'colour' in [gateway]", false},
    {"unknown_key_device", HEAD "[device reader-1]\nplugin = skeleton\ntransport = serial\n"
                           "path = /dev/ttyUSB0\nbaud_rate = 115200\n",
     "8: unknown key 'baud_rate' in [device reader-1]", true},
    {"duplicate_key", HEAD "id = again\n", "4: duplicate key 'id' in [gateway] (first at line 2)", false},
    {"missing_gateway", "[bus]\nevents = tcp://127.0.0.1:1\n", "1: missing section [gateway]", false},
    {"missing_id", "[gateway]\nstate_dir = /tmp\n", "1: missing key 'id' in [gateway]", false},
    {"bad_id", "[gateway]\nid = hall 1\n", "2: key 'id' in [gateway] must be", false},
    {"unknown_section", HEAD "[printer]\n", "4: unknown section [printer]", false},
    {"key_outside_section", "id = x\n", "1: key 'id' outside any section", false},
    {"not_key_value", HEAD "just words\n", "4: expected 'key = value'", false},
    {"bad_header", HEAD "[device x\n", "4: malformed section header", false},
    {"bad_number", HEAD "heartbeat_ms = soon\n", "4: key 'heartbeat_ms' in [gateway] must be a whole number", false},
    {"number_out_of_range", HEAD "heartbeat_ms = 5\n", "from 100 to 3600000", false},
    {"bad_bool", HEAD "hotplug = perhaps\n", "4: key 'hotplug' in [gateway] must be yes or no", false},
    {"bad_log_level", HEAD "log_level = loud\n", "4: key 'log_level' in [gateway] must be one of", false},
    {"bad_endpoint", HEAD "[bus]\nevents = 5560\n", "5: key 'events' in [bus] must be a ZeroMQ endpoint", false},
    {"private_without_keys", HEAD "[bus]\nprivate_events = tcp://127.0.0.1:5562\n",
     "4: [bus] private_events carries personal data and needs both", false},
    {"device_missing_plugin", HEAD "[device a]\ntransport = none\n", "4: missing key 'plugin' in [device a]", false},
    {"device_missing_transport", HEAD "[device a]\nplugin = skeleton\n", "4: missing key 'transport' in [device a]", false},
    {"device_bad_transport", HEAD "[device a]\nplugin = skeleton\ntransport = carrier-pigeon\n",
     "6: key 'transport' in [device a] must be serial, usb, hidraw, evdev, bluez, pcsc or none", false},
    {"device_missing_path", HEAD "[device a]\nplugin = skeleton\ntransport = serial\n",
     "4: missing key 'path' in [device a] (transport serial)", false},
    {"device_bluez_needs_address", HEAD "[device a]\nplugin = skeleton\ntransport = bluez\n",
     "4: missing key 'address' in [device a] (transport bluez)", false},
    {"device_pcsc_needs_reader", HEAD "[device a]\nplugin = skeleton\ntransport = pcsc\n",
     "4: missing key 'reader' in [device a] (transport pcsc", false},
    {"device_bad_baud", HEAD "[device a]\nplugin = skeleton\ntransport = serial\npath = /dev/x\nbaud = fast\n",
     "8: key 'baud' in [device a] must be a whole number", false},
    {"device_bad_name", HEAD "[device a/b]\nplugin = skeleton\ntransport = none\n", "4: device name 'a/b' must be", false},
    {"device_duplicate", HEAD "[device a]\nplugin = skeleton\ntransport = none\n[device a]\nplugin = skeleton\ntransport = none\n",
     "7: duplicate section [device a] (first at line 4)", false},
    {"device_unknown_plugin", HEAD "[device a]\nplugin = toaster\ntransport = none\n", "5: no plugin 'toaster' in", true},
    {"app_valid", HEAD "[app window-3]\ntoken_file = /etc/accessgw/apps/w3.token\n"
                       "devices = reader-1 scan-3\norigins = https://ywxt.example.gov.cn http://10.0.0.5:8080\n",
     NULL, false},
    {"app_without_token", HEAD "[app window-3]\ndevices = reader-1\n",
     "4: missing key 'token_file' in [app window-3]", false},
    {"app_without_devices", HEAD "[app window-3]\ntoken_file = /t\n",
     "4: missing key 'devices' in [app window-3]", false},
    {"app_unknown_key", HEAD "[app window-3]\ntoken_file = /t\ndevices = r\ntoken = abc\n",
     "7: unknown key 'token' in [app]", false},
    {"app_origin_with_path", HEAD "[app w]\ntoken_file = /t\ndevices = r\norigins = https://a.example/app\n",
     "7: origin 'https://a.example/app' is not scheme://host[:port]", false},
    {"app_origin_wildcard", HEAD "[app w]\ntoken_file = /t\ndevices = r\norigins = *\n",
     "7: origin '*' is not scheme://host[:port]", false},
    {"app_duplicate", HEAD "[app w]\ntoken_file = /t\ndevices = r\n[app w]\ntoken_file = /u\ndevices = r\n",
     "7: duplicate section [app w] (first at line 4)", false},
    {"app_bad_name", HEAD "[app w/3]\ntoken_file = /t\ndevices = r\n", "4: app name 'w/3' must be", false},
    {"device_transport_unsupported", HEAD "[device a]\nplugin = skeleton\ntransport = usb\npath = /dev/bus/usb/001/002\n",
     "6: plugin 'skeleton' cannot use transport 'usb' (in [device a])", true},
};

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/agw-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void run_case(void **state)
{
    const struct config_case *c = *state;
    char *path = write_temp(c->text);
    struct gateway_conf conf;
    struct plugin_set plugins = {0};
    char err[1024] = "";
    int rc = config_load(path, &conf, err, sizeof(err));
    if (rc == 0 && c->with_plugins) {
        assert_true(plugin_set_load_dir(&plugins, PLUGIN_BUILD_DIR) >= 1);
        rc = config_check_plugins(&conf, &plugins, err, sizeof(err));
    }
    if (!c->expect) {
        if (rc != 0)
            fail_msg("%s: expected valid, got: %s", c->name, err);
    } else {
        if (rc == 0)
            fail_msg("%s: expected an error containing '%s'", c->name, c->expect);
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "%s:", path);
        if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, c->expect))
            fail_msg("%s: error '%s' does not name the file and contain '%s'", c->name, err,
                     c->expect);
    }
    if (rc == 0 || conf.path)
        config_free(&conf);
    plugin_set_free(&plugins);
    unlink(path);
    free(path);
}

static void device_values_are_read(void **state)
{
    (void)state;
    char *path = write_temp(HEAD "[device reader-1]\nplugin = skeleton\ntransport = serial\n"
                                 "path = /dev/ttyUSB0\nbaud = 115200\nlocation = Window 3\n");
    struct gateway_conf conf;
    char err[512];
    assert_int_equal(config_load(path, &conf, err, sizeof(err)), 0);
    assert_int_equal(conf.n_devices, 1);
    assert_string_equal(conf.devices[0].name, "reader-1");
    assert_int_equal(conf.devices[0].transport, AGW_TRANSPORT_SERIAL);
    assert_int_equal(conf.devices[0].baud, 115200);
    assert_string_equal(conf.devices[0].location, "Window 3");
    assert_string_equal(conf.events, "tcp://127.0.0.1:5560");
    assert_int_equal(conf.history, 10000);
    config_free(&conf);
    unlink(path);
    free(path);
}

static void missing_file_is_named(void **state)
{
    (void)state;
    struct gateway_conf conf;
    char err[512];
    assert_int_equal(config_load("/nonexistent/gw.ini", &conf, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/gw.ini: No such file"));
}

/* What accessgwd sends accessgw-web for the window apps reads back as it was written. */
static void an_app_record_reads_back(void **state)
{
    (void)state;
    char *rec;
    const char *topic, *env;
    size_t env_len;
    bool full;
    size_t len = app_record_put(&rec, "idcard/reader-1/read", 20, "{\"a\":1}", 7, true);
    assert_true(len > 0);
    assert_true(app_record_take(rec, len, &topic, &env, &env_len, &full));
    assert_string_equal(topic, "idcard/reader-1/read");
    assert_int_equal(env_len, 7);
    assert_memory_equal(env, "{\"a\":1}", 7);
    assert_true(full);
    assert_false(app_record_take(rec, 2, &topic, &env, &env_len, &full)); /* cut short */
    free(rec);
    char *big = calloc(1, APP_RECORD_MAX);
    assert_int_equal(app_record_put(&rec, "t/d/e", 5, big, APP_RECORD_MAX, false), 0);
    free(big);
}

int main(void)
{
    size_t n = sizeof(cases) / sizeof(cases[0]);
    struct CMUnitTest *tests = calloc(n + 3, sizeof(*tests));
    for (size_t i = 0; i < n; i++)
        tests[i] = (struct CMUnitTest){cases[i].name, run_case, NULL, NULL, (void *)&cases[i]};
    tests[n] = (struct CMUnitTest)cmocka_unit_test(device_values_are_read);
    tests[n + 1] = (struct CMUnitTest)cmocka_unit_test(missing_file_is_named);
    tests[n + 2] = (struct CMUnitTest)cmocka_unit_test(an_app_record_reads_back);
    int rc = _cmocka_run_group_tests("config", tests, n + 3, NULL, NULL);
    free(tests);
    return rc;
}
