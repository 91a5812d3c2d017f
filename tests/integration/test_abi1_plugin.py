"""A plugin built for ABI 1.4 runs unchanged on this 2.x host (docs/PLUGINS.md, "ABI 1.x"):
the skeleton as it was at 1.4, built with the 1.4 header (tests/abi/1.4/), in a plugin
host and in accessgwd itself.  Every kind of call crosses the 1.x table: typed config and
its refusal, timers, input, write and read with a deadline, commands, saved state."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "emulators"))
from agwtest import BUILD, Gateway, Subscriber, validate_event  # noqa: E402
from ptydev import PtyDevice  # noqa: E402

OLD_PLUGINS = os.path.join(BUILD, "test-plugins-abi")


@pytest.mark.parametrize("isolation", ["process", "none"])
def test_a_1_4_plugin_runs_on_a_2_x_host(tmp_path, isolation):
    dev = PtyDevice(str(tmp_path / "ttyOLD")).start_collecting()
    devices = ("[device old-1]\nplugin = skeleton14\ntransport = serial\npath = %s\n"
               "baud = 115200\ninterval_ms = 200\n"
               "[device old-2]\nplugin = skeleton14\ntransport = none\ninterval_ms = soon\n"
               % dev.link)
    gw = Gateway(tmp_path, devices, gateway_extra="isolation = %s\n" % isolation,
                 plugin_dir=OLD_PLUGINS)
    sub = Subscriber(gw.events, ["skeleton/", "device/old-2/"])
    gw.start()
    try:
        sub.catch_up(gw)
        state = sub.wait_for(lambda t, e: t == "device/old-2/state"
                             and e["data"]["state"] == "error")[1]
        assert "'interval_ms'" in state["data"]["reason"] and "'soon'" in state["data"]["reason"]
        validate_event("skeleton/old-1/counter", sub.wait_topic("skeleton/old-1/counter"))
        dev.write(b"from an old plugin\n")
        line = sub.wait_topic("skeleton/old-1/line")
        assert line["data"]["text"] == "from an old plugin", line
        reply = gw.send("old-1", "skeleton.ask", {"text": "status?"})
        assert reply["error"]["code"] == "timeout", reply  # written, then read with its deadline
        assert b"status?\n" in dev.received
        assert gw.send("old-1", "skeleton.reset", {"value": 500})["result"] == {"count": 500}
        devices_reply = gw.request({"verb": "devices"})
        assert devices_reply["ok"], devices_reply
    finally:
        gw.stop()
    assert "ABI 1.4" in gw.log_text()
    sub2 = Subscriber(gw.events, ["skeleton/old-1/counter"])
    gw.start()
    try:
        sub2.catch_up(gw)
        assert sub2.wait_topic("skeleton/old-1/counter")["data"]["count"] > 500
    finally:
        gw.stop()
        dev.stop()
