"""A plugin that hangs takes only its own device down: the main loop reports it
(device/<id>/state error, "plugin hung in open()") while the devices beside it
keep publishing and the gateway keeps answering; when the callback returns, the
device's own state comes back."""
import os
import shutil

import pytest

from agwtest import BUILD, PLUGIN_DIR, Gateway, Subscriber


@pytest.mark.parametrize("where,callback,before,isolation", [
    ("open", "open()", None, "process"),
    ("timer", "on_timer()", "up", "process"),
    ("timer", "on_timer()", "up", "none"),  # the hang watch on accessgwd's own loop
])
def test_a_hung_plugin_is_reported_and_the_others_keep_working(tmp_path, where, callback, before,
                                                               isolation):
    plugins = tmp_path / "plugins"
    plugins.mkdir(mode=0o755)
    shutil.copy(os.path.join(PLUGIN_DIR, "skeleton.so"), plugins / "skeleton.so")
    shutil.copy(os.path.join(BUILD, "test-plugins-hang", "hang.so"), plugins / "hang.so")
    gw = Gateway(tmp_path, "[device stuck-1]\nplugin = testhang\ntransport = none\nhang_ms = 5000\n"
                 "hang_in = %s\n" % where +
                 "[device counter-1]\nplugin = skeleton\ntransport = none\ninterval_ms = 100\n",
                 gateway_extra="command_timeout_ms = 1000\nisolation = %s\n" % isolation,
                 plugin_dir=str(plugins))
    sub = Subscriber(gw.events, ["device/stuck-1/", "skeleton/"])
    gw.start()
    try:
        sub.catch_up(gw)
        if before:
            assert sub.wait_topic("device/stuck-1/state")["data"]["state"] == before
        hung = sub.wait_for(lambda t, e: t == "device/stuck-1/state", timeout=5)[1]
        assert hung["data"] == {"state": "error",
                                "reason": "plugin hung in %s for more than 1000 ms" % callback}
        counts = [e["data"]["count"] for t, e in sub.collect(1.0) if t == "skeleton/counter-1/counter"]
        assert len(counts) >= 5, counts  # the device beside it keeps publishing
        devs = {d["id"]: d for d in gw.request({"verb": "devices"})["result"]["devices"]}
        assert devs["stuck-1"]["state"] == "error" and callback in devs["stuck-1"]["reason"]
        assert devs["counter-1"]["state"] == "up"
        back = sub.wait_for(lambda t, e: t == "device/stuck-1/state", timeout=8)[1]
        assert back["data"]["state"] == "up", back  # straight back, no stale state between
        assert "hung" not in back["data"]["reason"]
        assert "plugin testhang returned from %s after" % callback in gw.log_text()
    finally:
        sub.close()
        assert gw.stop() == 0, gw.log_text()[-2000:]
