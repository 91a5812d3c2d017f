"""The SDK's typed config helpers seen from an installer: a bad value names FILE:LINE,
the key and the value, in the log and on device/<id>/state; durations take units."""
import os
import re
import shutil
import time

from agwtest import BUILD, Gateway, Subscriber


def test_bad_values_are_refused_with_file_and_line(tmp_path):
    devices = ("[device ok-1]\nplugin = skeleton\ntransport = none\ninterval_ms = 1s\n"
               "[device bad-1]\nplugin = skeleton\ntransport = none\ninterval_ms = abc\n"
               "[device bad-2]\nplugin = skeleton\ntransport = none\ninterval_ms = 2h\n")
    gw = Gateway(tmp_path, devices)
    sub = Subscriber(gw.events, ["device/", "skeleton/ok-1/"])
    gw.start()
    sub.catch_up(gw)
    states = {}
    deadline = time.time() + 10
    while time.time() < deadline and not {"bad-1", "bad-2"} <= set(states):
        got = sub.recv(0.5)
        if got and got[0].endswith("/state") and got[1]["data"]["state"] == "error":
            states[got[0].split("/")[1]] = got[1]["data"]["reason"]
    line = open(gw.config).read().split("\n").index("interval_ms = abc") + 1
    assert re.match(r"gw\.ini:%d: key 'interval_ms' must be a duration from 0 to 3600000 ms "
                    r".*not 'abc'" % line, states["bad-1"]), states
    assert "not '2h'" in states["bad-2"]
    assert "%s:%d: key 'interval_ms' in [device bad-1]" % (gw.config, line) in gw.log_text()
    # "1s" is a second: the good device counts
    sub.wait_topic("skeleton/ok-1/counter", timeout=5)
    gw.stop()


def test_a_plugin_reads_only_its_own_keys(tmp_path):
    """SDK 2: agw_config(), agw_config_nth() and the typed calls answer the keys the plugin
    declared, never the host's own (path, location, transport) of the same section."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    shutil.copy(os.path.join(BUILD, "test-plugins-hang", "hang.so"), plugins / "hang.so")
    gw = Gateway(tmp_path, "[device t-1]\nplugin = testhang\ntransport = none\n"
                 "location = window 3\nhang_ms = 0\ncrash = abort\n", plugin_dir=str(plugins))
    gw.start()
    try:
        def config(key, n=0):
            reply = gw.send("t-1", "test.config", {"key": key, "n": n})
            assert reply["ok"], reply
            return reply["result"]
        assert config("hang_ms") == {"value": "0", "nth": "hang_ms", "uint": 0, "uint_rc": 0}
        assert config("crash", 1)["nth"] == "crash"
        # a host key: not there for the plugin, typed or not (a typed read of "window 3"
        # would have been refused as not a number, and put the device in error)
        assert config("location", 2) == {"value": None, "nth": None, "uint": 4242, "uint_rc": 0}
        assert config("transport")["value"] is None
        assert "key 'location'" not in gw.log_text()
    finally:
        gw.stop()
